// Claiming queue items, shared by Queue and PriorityQueue (etcd contrib/recipes): an item is taken
// by deleting its key on the condition that it is unchanged (mod revision), so each item goes to
// exactly one consumer. A consumer that finds nothing waits for the next put under the prefix.

import { cmp, op, type KeySpace, type KeyValue, type RangeQuery } from '@conclave/client';
import { anySignal, throwIfAborted, waitForEvent } from '../util/async.js';

/** Deletes the first key of `kvs` still unchanged; returns it, or undefined if every one was taken. */
async function claimFirst(kv: KeySpace, kvs: readonly KeyValue[], signal: AbortSignal): Promise<KeyValue | undefined> {
  for (const item of kvs) {
    const r = await kv
      .txn()
      .if(cmp.modRevision(item.key, '=', item.modRevision))
      .then(op.delete(item.key))
      .commit({ signal });
    if (r.succeeded) return item;
  }
  return undefined;
}

/**
 * Takes the first item under `prefix` in `order`, waiting for one if the queue is empty. Reads up to
 * `batch` candidates per round trip (concurrent consumers then race down the same list).
 */
export async function dequeueFrom(
  kv: KeySpace,
  prefix: string,
  order: RangeQuery['sort'],
  opts: { signal?: AbortSignal; timeoutMs?: number; batch?: number },
): Promise<KeyValue> {
  const signal = anySignal([opts.signal], opts.timeoutMs);
  const batch = opts.batch ?? 8;
  for (;;) {
    throwIfAborted(signal);
    const r = await kv.range(prefix, { prefix: true, sort: order, limit: batch, signal });
    const got = await claimFirst(kv, r.kvs, signal);
    if (got) return got;
    if (r.more) continue; // all taken by others, but more remain
    const ev = await waitForEvent(kv, prefix, { fromRevision: r.revision + 1n, type: 'put', prefix: true }, signal);
    if (ev && ev.kv.version === 1n) {
      const mine = await claimFirst(kv, [ev.kv], signal);
      if (mine) return mine;
    }
  }
}
