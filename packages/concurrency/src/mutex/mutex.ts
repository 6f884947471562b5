// A distributed mutex with etcd's Go key layout (`prefix/<lease id in hex>`, queue by create
// revision), so TypeScript and Go services (clientv3/concurrency.Mutex, etcdctl lock) exclude each
// other on the same prefix. See holder/waiting-line.ts for the protocol.
//
// Safety: holding a lock says nothing to the resource it protects — a holder can be paused past its
// lease and wake up believing it still holds. Guard writes with `isOwner()` in a transaction, or pass
// `fencingToken` (the key's create revision: strictly increasing across holders) to the resource.

import type { CallOptions } from '@conclave/client';
import { callOptions } from '@conclave/client/internal';
import { Hold, Holder, type LockOptions } from '../holder/holder.js';
import { enqueue, release, releaseQuietly, waitTurn } from '../holder/waiting-line.js';
import type { Session } from '../session/session.js';
import { FIRST_CREATE, tryAcquireLocal } from '../util/keys.js';

export type { LockOptions } from '../holder/holder.js';

/**
 * A distributed lock, compatible with etcd's Go `concurrency.Mutex` and `etcdctl lock`.
 *
 * ```ts
 * const mutex = new Mutex(session, 'locks/report');
 * await mutex.withLock(async (signal, fencingToken) => {
 *   // only one holder at a time; `signal` aborts if the lock is lost
 *   await client.txn().if(mutex.isOwner()).then(op.put('report/owner', String(fencingToken))).commit();
 * });
 * ```
 */
export class Mutex extends Holder {
  /** This contender's key: `prefix/<lease id in hex>`. */
  readonly key: string;

  /** A mutex on the keys under `prefix` (no trailing "/"), held through `session`'s lease. */
  constructor(session: Session, prefix: string) {
    super(session, prefix, 'mutex');
    this.key = this.leaseKey();
  }

  /**
   * Waits for the lock; resolves with the fencing token. Rejects with SessionExpiredError if the
   * session is lost while waiting (its queue entry went with the lease), AbortedError on
   * `signal`/`timeoutMs`. Transient cluster failures (leader change, endpoint down) are retried.
   */
  async lock(opts?: LockOptions): Promise<bigint> {
    const o = callOptions(opts, 'Mutex.lock');
    const h = await this.acquiring(() =>
      this.queued(this.key, 'mutex', o, async (signal, entered) => {
        const q = await enqueue(this.session, this.key, '', { key: this.prefix, query: FIRST_CREATE }, signal);
        entered(q.rev);
        const owner = q.probe[0];
        if (!owner || owner.createRevision === q.rev) return q.revision;
        return waitTurn(this.session, this.key, q.rev, this.prefix, signal);
      }),
    );
    return h!.rev;
  }

  /**
   * Takes the lock, runs `fn(signal, fencingToken)`, and releases the lock however `fn` ends;
   * resolves with what `fn` returns. `signal` aborts if the lock is lost while `fn` runs.
   */
  withLock<T>(fn: (signal: AbortSignal, fencingToken: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.lock(opts), fn);
  }

  /** Takes the lock if nobody holds it, without waiting; resolves with whether it did. */
  async tryLock(opts?: CallOptions): Promise<boolean> {
    const o = callOptions(opts, 'Mutex.tryLock');
    const h = await this.acquiring(async () => {
      const local = tryAcquireLocal(this.session, this.key);
      if (!local) return undefined;
      const signal = this.session.linkedSignal(o.signal, o.timeoutMs);
      let rev: bigint | undefined;
      try {
        const q = await enqueue(this.session, this.key, '', { key: this.prefix, query: FIRST_CREATE }, signal);
        rev = q.rev;
        const owner = q.probe[0];
        if (owner && owner.createRevision !== rev) {
          await release(this.session, this.key, rev);
          local();
          return undefined;
        }
        return new Hold(this.session, 'mutex', this.key, rev, q.revision, local);
      } catch (e) {
        await releaseQuietly(this.session, this.key, rev);
        local();
        throw this.session.mapError(e);
      }
    });
    return h !== undefined;
  }

  /**
   * Releases the lock: `signal` aborts first (ReleasedError, reason `unlocked`), then the key is
   * deleted if it is still this holder's (a delete guarded by its create revision). After a loss it
   * only clears the local state. Rejects with NotHeldError if the lock was not taken (or was
   * already released).
   */
  async unlock(opts?: CallOptions): Promise<void> {
    await this.releaseHeld(callOptions(opts, 'Mutex.unlock').signal);
  }
}
