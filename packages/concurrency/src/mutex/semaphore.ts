// A counting semaphore: at most `permits` sessions hold it at once. Contenders queue as
// `prefix/<lease id in hex>` (one permit per session and semaphore); a contender holds when fewer
// than `permits` keys under the prefix were created before its own. Waiters watch the prefix for
// deletions of older keys (with their previous create revision) and count down locally, so a
// release costs one watch event per waiter and a read only for the waiter it admits. Every user of
// a semaphore must pass the same `permits`.

import { CompactedError, cmp, op, type CallOptions, type Compare, type TxnResult } from '@conclave/client';
import { abortedError, retrying, throwIfAborted } from '../util/async.js';
import { NotHeldError, SessionExpiredError } from '../util/errors.js';
import { acquireLocal, leaseHex } from '../util/keys.js';
import type { Session } from '../session/session.js';
import { Hold, KeyDeletedError, enqueue, release, releaseQuietly, releasedReason } from './queue-key.js';
import type { LockOptions } from './mutex.js';

export class Semaphore {
  readonly prefix: string;
  /** This contender's key: `prefix/<lease id in hex>`. */
  readonly key: string;
  private hold: Hold | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    prefix: string,
    readonly permits: number,
  ) {
    if (!Number.isInteger(permits) || permits < 1) throw new TypeError('Semaphore: permits must be a positive integer');
    this.prefix = `${prefix}/`;
    this.key = `${this.prefix}${leaseHex(session.lease)}`;
  }

  /** Waits for a permit; resolves with the key's create revision. Rejects like Mutex.lock. */
  async acquire(opts: LockOptions = {}): Promise<bigint> {
    if (this.busy || this.hold) throw new TypeError('Semaphore: already held or being acquired by this object');
    this.busy = true;
    const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
    let rev: bigint | undefined;
    let local: (() => void) | undefined;
    try {
      local = await acquireLocal(this.session, this.key, signal);
      const q = await enqueue(this.session, this.key, '', undefined, signal);
      rev = q.rev;
      const at = await this.waitPermit(rev, signal);
      if (signal.aborted) throw abortedError(signal);
      this.hold = new Hold(this.session, this.key, rev, at, local);
      return rev;
    } catch (e) {
      // withdraw (only if this object got the key), then let another object of this session use it
      if (local) await releaseQuietly(this.session, this.key, rev);
      local?.();
      throw this.session.mapError(e);
    } finally {
      this.busy = false;
    }
  }

  /** Gives the permit back (deletes the key if still this holder's). A no-op if not held. */
  async release(opts: CallOptions = {}): Promise<void> {
    const h = this.hold;
    if (!h) return;
    this.hold = undefined;
    await h.finish(releasedReason('semaphore permit'), () => release(this.session, h.key, h.rev, opts.signal));
  }

  get isHeld(): boolean {
    return this.hold !== undefined && !this.hold.signal.aborted;
  }

  /** Condition true only while this holder's key exists. */
  isOwner(): Compare {
    if (!this.hold) throw new NotHeldError('semaphore');
    return cmp.createRevision(this.hold.key, '=', this.hold.rev);
  }

  /** Aborts when the permit is lost (session ended) or released. */
  get signal(): AbortSignal {
    if (!this.hold) throw new NotHeldError('semaphore');
    return this.hold.signal;
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
    if (!kv || kv.createRevision !== rev) {
      const ttl = await this.session.client.lease.timeToLive(this.session.lease).catch(() => undefined);
      if (ttl && ttl.ttl < 0) throw this.session.mapError(new SessionExpiredError(this.session.lease, 'expired'));
      throw new KeyDeletedError(this.key);
    }
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
