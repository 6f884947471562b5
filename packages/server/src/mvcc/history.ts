// Reading the event history back from the `key` sub-database: every change with
// fromRev ≤ mod_revision ≤ toRev in revision order, for watchers that catch up.

import type { StoreCore } from './core.js';
import { CompactedError } from './errors.js';
import { EMPTY, decodeKeyValue } from './kv-codec.js';
import { encodeRevKey, isTombstoneKey, revKeyMain } from './revision.js';
import type { HistoryOptions, MvccEvent } from './types.js';

/** An event's size as history's `limitBytes` counts it: key and value bytes. */
export const eventSize = (ev: MvccEvent): number => ev.kv.key.length + ev.kv.value.length;

export function history(core: StoreCore, fromRev: number, toRev: number, opts?: HistoryOptions): MvccEvent[] {
  if (fromRev < core.compactRev) throw new CompactedError(core.compactRev);
  const from = Math.max(fromRev, 1);
  const to = Math.min(toRev, core.rev);
  const events: MvccEvent[] = [];
  if (from > to) return events;
  const limit = opts?.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
  const limitBytes = opts?.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const wantPrev = opts?.prevKv === true;
  let lastMain = -1;
  let bytes = 0;
  for (const { key, value } of core.kvDb.getRange({ start: encodeRevKey(from, 0), end: encodeRevKey(to + 1, 0) })) {
    const main = revKeyMain(key);
    if ((events.length >= limit || bytes >= limitBytes) && main !== lastMain) break;
    lastMain = main;
    const kv = decodeKeyValue(value);
    const prevKv = wantPrev ? core.readAt(kv.key, main - 1) : undefined;
    const ev: MvccEvent = isTombstoneKey(key)
      ? {
          type: 'delete',
          kv: { key: kv.key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0n },
        }
      : { type: 'put', kv };
    if (prevKv) {
      ev.prevKv = prevKv;
      ev.prevLease = prevKv.lease;
    } else if (wantPrev) {
      ev.prevLease = 0n;
    }
    events.push(ev);
    bytes += eventSize(ev);
  }
  return events;
}
