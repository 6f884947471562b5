// A multi-producer, multi-consumer FIFO queue (etcd contrib/recipes Queue, same keys): items are keys
// `prefix/<unique>` created with create-if-absent, consumed oldest first (by mod revision) and
// claimed by a conditional delete, so each item is delivered to one consumer exactly once. An item
// a consumer dies with is lost (at-most-once): for at-least-once processing, put the work back or
// keep it under a lease until done.

import { cmp, op, type CallOptions, type KeySpace } from '@conclave/client';
import { callOptions, checkString } from '@conclave/client/internal';
import { checkKeySpace } from '../session/session.js';
import { dequeueFrom } from './claim.js';

let counter = 0;

/** A decimal, time-ordered unique suffix like Go's `time.Now().UnixNano()`. */
export function nanoKey(): string {
  counter = (counter + 1) % 1_000_000;
  const ns = BigInt(Date.now()) * 1_000_000n + BigInt(counter) * 1000n + BigInt(Math.floor(Math.random() * 1000));
  return ns.toString();
}

/**
 * A multi-producer, multi-consumer FIFO queue (etcd contrib/recipes layout); each item goes to exactly one consumer.
 */
export class Queue {
  /** Item keys are `prefix/<unique>`. */
  readonly prefix: string;

  constructor(
    readonly client: KeySpace,
    prefix: string,
  ) {
    checkKeySpace(client, 'Queue: client');
    checkString(prefix, 'Queue: prefix', true);
    this.prefix = prefix;
  }

  /** Appends an item; resolves with its key. */
  async enqueue(value: string, opts?: CallOptions): Promise<string> {
    checkString(value, 'Queue.enqueue: value');
    opts = callOptions(opts, 'Queue.enqueue');
    for (;;) {
      const key = `${this.prefix}/${nanoKey()}`;
      const r = await this.client
        .txn()
        .if(cmp.version(key, '=', 0))
        .then(op.put(key, value))
        .commit(opts);
      if (r.succeeded) return key;
    }
  }

  /** Takes the oldest item, waiting while the queue is empty. */
  async dequeue(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string> {
    opts = callOptions(opts, 'Queue.dequeue');
    const kv = await dequeueFrom(this.client, `${this.prefix}/`, { target: 'mod', order: 'ascend' }, opts);
    return kv.valueString;
  }

  /** Number of items waiting. */
  async size(opts?: CallOptions): Promise<number> {
    opts = callOptions(opts, 'Queue.size');
    return (await this.client.range(`${this.prefix}/`, { prefix: true, countOnly: true, ...opts })).count;
  }
}
