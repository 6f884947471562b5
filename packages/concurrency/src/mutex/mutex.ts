// A distributed mutex with etcd's Go key layout (`prefix/<lease id in hex>`, queue by create
// revision), so TypeScript and Go services (clientv3/concurrency.Mutex, etcdctl lock) exclude each
// other on the same prefix. See queue-key.ts for the protocol.
//
// Safety: holding a lock says nothing to the resource it protects — a holder can be paused past its
// lease and wake up believing it still holds. Guard writes with `isOwner()` in a transaction, or pass
// `fencingToken` (the key's create revision: strictly increasing across holders) to the resource.

import type { CallOptions, Compare } from '@conclave/client';
import { cmp } from '@conclave/client';
import { abortedError } from '../util/async.js';
import { NotHeldError } from '../util/errors.js';
import { FIRST_CREATE, acquireLocal, leaseHex, tryAcquireLocal } from '../util/keys.js';
import type { Session } from '../session/session.js';
import { Hold, enqueue, release, releaseQuietly, releasedReason, waitTurn } from './queue-key.js';

export interface LockOptions {
  /** Gives up waiting (the queue entry is removed); `lock` rejects with AbortedError. */
  signal?: AbortSignal;
  /** Gives up waiting after this many ms (AbortedError whose cause is a TimeoutError). */
  timeoutMs?: number;
}

export class Mutex {
  /** The lock's key prefix, with the trailing "/" (as in Go). */
  readonly prefix: string;
  /** This contender's key: `prefix/<lease id in hex>`. */
  readonly key: string;
  private hold: Hold | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.prefix = `${prefix}/`;
    this.key = `${this.prefix}${leaseHex(session.lease)}`;
  }

  /**
   * Waits for the lock; resolves with the fencing token. Rejects with SessionExpiredError if the
   * session is lost while waiting (its queue entry went with the lease), AbortedError on
   * `signal`/`timeoutMs`. Transient cluster failures (leader change, endpoint down) are retried.
   */
  async lock(opts: LockOptions = {}): Promise<bigint> {
    this.enter();
    try {
      const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
      const local = await acquireLocal(this.session, this.key, signal);
      let rev: bigint | undefined;
      try {
        const q = await enqueue(this.session, this.key, '', { key: this.prefix, query: FIRST_CREATE }, signal);
        rev = q.rev;
        const owner = q.probe[0];
        let at = q.revision;
        if (owner && owner.createRevision !== rev)
          at = await waitTurn(this.session, this.key, rev, this.prefix, signal);
        if (signal.aborted) throw abortedError(signal);
        this.hold = new Hold(this.session, this.key, rev, at, local);
        return rev;
      } catch (e) {
        // withdraw first, then let another object of this session use the key
        await releaseQuietly(this.session, this.key, rev);
        local();
        throw this.session.mapError(e);
      }
    } finally {
      this.busy = false;
    }
  }

  /** Takes the lock if nobody holds it, without waiting; resolves with whether it did. */
  async tryLock(opts: CallOptions = {}): Promise<boolean> {
    this.enter();
    try {
      const local = tryAcquireLocal(this.session, this.key);
      if (!local) return false;
      const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
      let rev: bigint | undefined;
      try {
        const q = await enqueue(this.session, this.key, '', { key: this.prefix, query: FIRST_CREATE }, signal);
        rev = q.rev;
        const owner = q.probe[0];
        if (owner && owner.createRevision !== rev) {
          await release(this.session, this.key, rev);
          local();
          return false;
        }
        this.hold = new Hold(this.session, this.key, rev, q.revision, local);
        return true;
      } catch (e) {
        // withdraw first, then let another object of this session use the key
        await releaseQuietly(this.session, this.key, rev);
        local();
        throw this.session.mapError(e);
      }
    } finally {
      this.busy = false;
    }
  }

  /**
   * Releases the lock: `signal` aborts first, then the key is deleted if it is still this holder's
   * (a delete guarded by its create revision). A no-op if not locked. After a session loss it only
   * clears the local state.
   */
  async unlock(opts: CallOptions = {}): Promise<void> {
    const h = this.hold;
    if (!h) return;
    this.hold = undefined;
    await h.finish(releasedReason('mutex'), () => release(this.session, h.key, h.rev, opts.signal));
  }

  /** Whether this Mutex holds the lock as far as it knows (locked, and its session not ended). */
  get isHeld(): boolean {
    return this.hold !== undefined && !this.hold.signal.aborted;
  }

  /**
   * The fencing token of the current (or last lost) hold: the lock key's create revision. Strictly
   * increasing across successive holders of the lock, Go holders included. Throws NotHeldError if
   * not locked.
   */
  get fencingToken(): bigint {
    return this.held().rev;
  }

  /** Revision at which the hold was confirmed (the state of the store then showed this holder first). */
  get acquiredRevision(): bigint {
    return this.held().revision;
  }

  /**
   * A transaction condition that holds only while this holder's key exists (Go's `IsOwner`):
   * `client.txn().if(mutex.isOwner()).then(op.put(...))` writes only if the lock is still held —
   * also when the holder was paused past its lease. Throws NotHeldError if not locked.
   */
  isOwner(): Compare {
    const h = this.held();
    return cmp.createRevision(h.key, '=', h.rev);
  }

  /**
   * Aborts when the hold ends: with SessionExpiredError / SessionClosedError if the session ends
   * (stop using the resource), or a `Released` error on unlock. Throws NotHeldError if not locked.
   */
  get signal(): AbortSignal {
    return this.held().signal;
  }

  private held(): Hold {
    if (!this.hold) throw new NotHeldError('mutex');
    return this.hold;
  }

  private enter(): void {
    if (this.busy) throw new TypeError('Mutex: lock() or tryLock() already in progress on this object');
    if (this.hold) throw new TypeError('Mutex: already locked by this object (unlock first)');
    this.busy = true;
  }
}
