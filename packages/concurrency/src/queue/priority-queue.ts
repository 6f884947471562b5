// A priority queue (etcd contrib/recipes PriorityQueue, same keys): an item of priority p is the
// sequential key `prefix/<p as 5 digits>/<16-digit sequence>`; consumers take the smallest key, so
// priority 0 goes first and items of one priority are FIFO. Sequence numbers come from the last key
// of the priority, with the bookkeeping key `__prefix/<p>` guarding against a concurrent allocation.

import { cmp, op, type CallOptions, type KeySpace } from '@conclave/client';
import { callOptions, checkString } from '@conclave/client/internal';
import { checkKeySpace } from '../session/session.js';
import { dequeueFrom } from './claim.js';

/** A priority queue (etcd contrib/recipes layout): lower priority numbers first, FIFO within one. */
export class PriorityQueue {
  /** Item keys are `prefix/<priority>/<sequence>`. */
  readonly prefix: string;

  constructor(
    readonly client: KeySpace,
    prefix: string,
  ) {
    checkKeySpace(client, 'PriorityQueue: client');
    checkString(prefix, 'PriorityQueue: prefix', true);
    this.prefix = `${prefix}/`;
  }

  /** Adds an item with `priority` (0..65535; lower is served first); resolves with its key. */
  async enqueue(value: string, priority: number, opts?: CallOptions): Promise<string> {
    checkString(value, 'PriorityQueue.enqueue: value');
    opts = callOptions(opts, 'PriorityQueue.enqueue');
    if (!Number.isInteger(priority) || priority < 0 || priority > 65535)
      throw new TypeError('PriorityQueue: priority must be an integer in 0..65535');
    const base = `${this.prefix}${String(priority).padStart(5, '0')}`;
    const guard = `__${base}`;
    for (;;) {
      const last = await this.client.range(base, {
        prefix: true,
        sort: { target: 'key', order: 'descend' },
        limit: 1,
        ...opts,
      });
      let seq = 0n;
      const lastKey = last.kvs[0]?.keyString;
      if (lastKey !== undefined) {
        const tail = lastKey.slice(lastKey.lastIndexOf('/') + 1);
        if (!/^\d+$/.test(tail)) throw new TypeError(`PriorityQueue: unexpected key ${lastKey}`);
        seq = BigInt(tail) + 1n;
      }
      const key = `${base}/${seq.toString().padStart(16, '0')}`;
      const r = await this.client
        .txn()
        .if(cmp.modRevision(guard, '<', last.revision + 1n))
        .then(op.put(guard, ''), op.put(key, value))
        .commit(opts);
      if (r.succeeded) return key;
    }
  }

  /** Takes the item with the lowest priority number (oldest first within it), waiting while empty. */
  async dequeue(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string> {
    opts = callOptions(opts, 'PriorityQueue.dequeue');
    const kv = await dequeueFrom(this.client, this.prefix, { target: 'key', order: 'ascend' }, opts);
    return kv.valueString;
  }

  /** Number of items waiting. */
  async size(opts?: CallOptions): Promise<number> {
    opts = callOptions(opts, 'PriorityQueue.size');
    return (await this.client.range(this.prefix, { prefix: true, countOnly: true, ...opts })).count;
  }
}
