// A counting semaphore: at most `permits` sessions hold it at once. Contenders queue as
// `prefix/<lease id in hex>` (one permit per session and semaphore); a contender holds when fewer
// than `permits` keys under the prefix were created before its own. Waiters watch the prefix for
// deletions of older keys (with their previous create revision) and count down locally, so a
// release costs one watch event per waiter and a read only for the waiter it admits. Every user of
// a semaphore must pass the same `permits`.

import { CompactedError, op, type CallOptions, type TxnResult } from '@conclave/client';
import { callOptions, checkCount } from '@conclave/client/internal';
import { Holder, type LockOptions } from '../holder/holder.js';
import { enqueue, keyLost } from '../holder/waiting-line.js';
import type { Session } from '../session/session.js';
import { retrying, throwIfAborted } from '../util/async.js';

/**
 * A counting semaphore: at most `permits` sessions hold it at once.
 *
 * ```ts
 * const gpus = new Semaphore(session, 'pools/gpu', 4);
 * await gpus.withPermit(async (signal) => train(signal));
 * ```
 */
export class Semaphore extends Holder {
  /** This contender's key: `prefix/<lease id in hex>`. */
  readonly key: string;
  /** How many holders at once (every user of the semaphore must pass the same number). */
  readonly permits: number;

  /** A semaphore of `permits` on the keys under `prefix` (no trailing "/"), held through `session`'s lease. */
  constructor(session: Session, prefix: string, permits: number) {
    super(session, prefix, 'semaphore permit');
    checkCount(permits, 'Semaphore: permits');
    this.permits = permits;
    this.key = this.leaseKey();
  }

  /** Waits for a permit; resolves with the key's create revision. Rejects like Mutex.lock. */
  async acquire(opts?: LockOptions): Promise<bigint> {
    const o = callOptions(opts, 'Semaphore.acquire');
    const h = await this.acquiring(() =>
      this.queued(this.key, 'semaphore permit', o, async (signal, entered) => {
        const q = await enqueue(this.session, this.key, '', undefined, signal);
        entered(q.rev);
        return this.waitPermit(q.rev, signal);
      }),
    );
    return h!.rev;
  }

  /** Takes a permit, runs `fn(signal, token)`, and gives the permit back however `fn` ends. */
  withPermit<T>(fn: (signal: AbortSignal, token: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.acquire(opts), fn);
  }

  /**
   * Gives the permit back (deletes the key if still this holder's). Rejects with NotHeldError if
   * no permit was taken (or it was already given back).
   */
  async release(opts?: CallOptions): Promise<void> {
    await this.releaseHeld(callOptions(opts, 'Semaphore.release').signal);
  }

  /** Own key present and fewer than `permits` older keys, as of one read. */
  private async count(rev: bigint, signal: AbortSignal): Promise<{ ahead: number; revision: bigint }> {
    const r: TxnResult = await retrying(
      () =>
        this.session.client
          .txn()
          // keysOnly, not countOnly: etcd counts a range before applying the create-revision filter
          .then(op.get(this.key), op.get(this.prefix, { prefix: true, keysOnly: true, maxCreateRevision: rev - 1n }))
          .commit({ signal }),
      signal,
    );
    const [mine, older] = r.responses;
    const kv = mine?.type === 'get' ? mine.kvs[0] : undefined;
    if (!kv || kv.createRevision !== rev) throw await keyLost(this.session, this.key);
    return { ahead: older?.type === 'get' ? older.kvs.length : 0, revision: r.revision };
  }

  private async waitPermit(rev: bigint, signal: AbortSignal): Promise<bigint> {
    for (;;) {
      const counted = await this.count(rev, signal);
      const revision = counted.revision;
      let ahead = counted.ahead;
      if (ahead < this.permits) return revision;
      const w = this.session.client.watch(this.prefix, {
        prefix: true,
        startRevision: revision + 1n,
        filters: ['noPut'],
        prevKv: true,
        signal,
      });
      let recount = false;
      try {
        for await (const batch of w) {
          if (batch.type === 'resync') {
            recount = true;
            break;
          }
          if (batch.type !== 'events') continue;
          for (const e of batch.events) {
            if (!e.prevKv) recount = true;
            else if (e.prevKv.createRevision < rev) ahead--;
          }
          if (recount || ahead < this.permits) break;
        }
      } catch (e) {
        if (!(e instanceof CompactedError)) throw e;
      } finally {
        w.close();
      }
      throwIfAborted(signal);
      // confirm with a read: own key still there, and the count really dropped
    }
  }
}
