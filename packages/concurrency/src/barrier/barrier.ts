// A barrier (etcd contrib/recipes Barrier): `hold()` creates the barrier key, `wait()` blocks while
// it exists, `release()` deletes it and lets every waiter through. Waiting is one watch on the key.

import { cmp, op, type CallOptions, type KeySpace } from '@conclave/client';
import { callOptions, checkInt, checkString } from '@conclave/client/internal';
import { checkKeySpace } from '../session/session.js';
import { anySignal, waitForDelete } from '../util/async.js';

/**
 * A barrier (etcd contrib/recipes): `hold()` raises it, `wait()` blocks while it is up, `release()` lets every
 * waiter through.
 */
export class Barrier {
  /** A barrier on `key`. */
  constructor(
    readonly client: KeySpace,
    readonly key: string,
  ) {
    checkKeySpace(client, 'Barrier: client');
    checkString(key, 'Barrier: key', true);
  }

  /** Creates the barrier key; resolves with whether this call created it (false: already held). */
  async hold(opts?: CallOptions & { lease?: bigint }): Promise<boolean> {
    opts = callOptions(opts, 'Barrier.hold');
    if (opts.lease !== undefined) checkInt(opts.lease, 'Barrier.hold: options.lease');
    const r = await this.client
      .txn()
      .if(cmp.version(this.key, '=', 0))
      .then(op.put(this.key, '', opts.lease !== undefined ? { lease: opts.lease } : {}))
      .commit(opts);
    return r.succeeded;
  }

  /** Deletes the barrier key, releasing every waiter. */
  async release(opts?: CallOptions): Promise<void> {
    opts = callOptions(opts, 'Barrier.release');
    await this.client.delete(this.key, opts);
  }

  /** Resolves once the barrier key does not exist (at once if it was never held or already released). */
  async wait(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void> {
    opts = callOptions(opts, 'Barrier.wait');
    const signal = anySignal([opts.signal], opts.timeoutMs);
    for (;;) {
      const r = await this.client.range(this.key, { countOnly: true, signal });
      if (r.count === 0) return;
      await waitForDelete(this.client, this.key, r.revision + 1n, signal);
    }
  }
}
