// Observing an election: the current leader, then every change, "no leader" included.
//
// etcd's Go Observe watches only the current leader's key and re-lists when it goes: a period with
// no candidate at all is never reported, and changes between two reads can be missed. Here the whole
// candidate set under the prefix is read once and then kept current from one prefix watch, revision
// by revision; after each revision the leader (the oldest candidate by create revision) is derived,
// and reported if it differs from the last report (another key, a new value, or none). Compaction
// during a disconnection re-reads the set (`onCompacted: 'resync'`), so the stream never ends on it.

import type { KeySpace, KeyValue, WatchEvent } from '@conclave/client';
import { anySignal } from '../util/async.js';
import { AsyncQueue } from '@conclave/client/internal';

/** A state of an election, as `observe()` reports it. */
export interface LeaderChange {
  /** The leader's key-value (key `prefix/<lease hex>`, value = the proclaimed value), or undefined: no leader. */
  leader: KeyValue | undefined;
  /** The revision at which this became the state of the election. */
  revision: bigint;
}

function leaderOf(candidates: Map<string, KeyValue>): KeyValue | undefined {
  let best: KeyValue | undefined;
  for (const kv of candidates.values()) if (!best || kv.createRevision < best.createRevision) best = kv;
  return best;
}

function same(a: KeyValue | undefined, b: KeyValue | undefined): boolean {
  if (!a || !b) return a === b;
  return a.keyString === b.keyString && a.modRevision === b.modRevision;
}

/**
 * Leader changes of the election under `prefix` (with its trailing "/"), starting with the current
 * state. Ends when `signal` aborts, the consumer leaves its loop, or the client closes.
 */
export function observeElection(
  kv: KeySpace,
  prefix: string,
  opts: { signal?: AbortSignal } = {},
): AsyncIterableIterator<LeaderChange> {
  const controller = new AbortController();
  const stop = anySignal([controller.signal, opts.signal]);
  const ch = new AsyncQueue<LeaderChange>(() => controller.abort());
  run(kv, prefix, ch, stop).then(
    () => ch.end(),
    (e: unknown) => (stop.aborted ? ch.end() : ch.fail(e)),
  );
  return ch;
}

async function run(kv: KeySpace, prefix: string, ch: AsyncQueue<LeaderChange>, signal: AbortSignal): Promise<void> {
  const candidates = new Map<string, KeyValue>();
  let reported: KeyValue | undefined | null = null;
  const report = (revision: bigint): void => {
    const l = leaderOf(candidates);
    if (reported !== null && same(reported, l)) return;
    reported = l;
    ch.push({ leader: l, revision });
  };
  const apply = (e: WatchEvent): void => {
    if (e.type === 'delete') candidates.delete(e.kv.keyString);
    else candidates.set(e.kv.keyString, e.kv);
  };
  const r = await kv.range(prefix, { prefix: true, signal });
  for (const c of r.kvs) candidates.set(c.keyString, c);
  report(r.revision);
  const w = kv.watch(prefix, { prefix: true, startRevision: r.revision + 1n, onCompacted: 'resync', signal });
  try {
    for await (const batch of w) {
      if (batch.type === 'resync') {
        candidates.clear();
        for (const c of batch.kvs) candidates.set(c.keyString, c);
        report(batch.revision);
      } else if (batch.type === 'events') {
        const evs = batch.events;
        for (let i = 0; i < evs.length; ) {
          const rev = evs[i]!.kv.modRevision;
          while (i < evs.length && evs[i]!.kv.modRevision === rev) apply(evs[i++]!);
          report(rev);
        }
      }
    }
  } finally {
    w.close();
  }
}
