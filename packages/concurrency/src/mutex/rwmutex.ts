// A readers-writer lock with the key layout of etcd's Go recipe (contrib/recipes RWMutex):
// readers queue as `prefix/read/<unique>`, writers as `prefix/write/<unique>`, each key created with
// the session's lease. A reader waits for the newest *writer* created before it; a writer waits for
// the newest key of either kind created before it. Same confirmation rule as Mutex: the turn is
// granted only by a read that shows the contender's own key still there.

import type { CallOptions, Compare } from '@conclave/client';
import { cmp } from '@conclave/client';
import { abortedError } from '../util/async.js';
import { NotHeldError } from '../util/errors.js';
import { uniqueSuffix } from '../util/keys.js';
import type { Session } from '../session/session.js';
import { Hold, enqueue, release, releaseQuietly, releasedReason, waitTurn } from './queue-key.js';
import type { LockOptions } from './mutex.js';

export class RWMutex {
  /** The lock's key prefix, with the trailing "/". */
  readonly prefix: string;
  private hold: (Hold & { mode?: 'read' | 'write' }) | undefined;
  private busy = false;

  constructor(
    readonly session: Session,
    prefix: string,
  ) {
    this.prefix = `${prefix}/`;
  }

  /** Waits for a shared (read) hold; resolves with its token (the key's create revision). */
  rLock(opts: LockOptions = {}): Promise<bigint> {
    return this.acquire('read', `${this.prefix}write/`, opts);
  }

  /** Waits for the exclusive (write) hold; resolves with its fencing token, strictly increasing across writers. */
  lock(opts: LockOptions = {}): Promise<bigint> {
    return this.acquire('write', this.prefix, opts);
  }

  /** Releases a read hold. */
  rUnlock(opts: CallOptions = {}): Promise<void> {
    return this.releaseMode('read', opts);
  }

  /** Releases the write hold. */
  unlock(opts: CallOptions = {}): Promise<void> {
    return this.releaseMode('write', opts);
  }

  /** 'read', 'write', or undefined when nothing is held. */
  get mode(): 'read' | 'write' | undefined {
    return this.hold?.mode;
  }

  /** Create revision of the held key (the fencing token for writers). */
  get fencingToken(): bigint {
    return this.held().rev;
  }

  /** Condition true only while this hold's key exists. */
  isOwner(): Compare {
    const h = this.held();
    return cmp.createRevision(h.key, '=', h.rev);
  }

  /** Aborts when the hold ends (session loss, or release). */
  get signal(): AbortSignal {
    return this.held().signal;
  }

  private held(): Hold {
    if (!this.hold) throw new NotHeldError('rwmutex');
    return this.hold;
  }

  private async acquire(mode: 'read' | 'write', waitPrefix: string, opts: LockOptions): Promise<bigint> {
    if (this.busy || this.hold) throw new TypeError('RWMutex: already held or being acquired by this object');
    this.busy = true;
    const key = `${this.prefix}${mode}/${uniqueSuffix(this.session.lease)}`;
    const signal = this.session.linkedSignal(opts.signal, opts.timeoutMs);
    let rev: bigint | undefined;
    try {
      const q = await enqueue(this.session, key, '', undefined, signal);
      rev = q.rev;
      const at = await waitTurn(this.session, key, rev, waitPrefix, signal);
      if (signal.aborted) throw abortedError(signal);
      const h = new Hold(this.session, key, rev, at, () => undefined) as Hold & { mode?: 'read' | 'write' };
      h.mode = mode;
      this.hold = h;
      return rev;
    } catch (e) {
      await releaseQuietly(this.session, key, rev);
      throw this.session.mapError(e);
    } finally {
      this.busy = false;
    }
  }

  private async releaseMode(mode: 'read' | 'write', opts: CallOptions): Promise<void> {
    const h = this.hold;
    if (!h) return;
    if (h.mode !== mode) throw new TypeError(`RWMutex: the hold is a ${h.mode} hold`);
    this.hold = undefined;
    await h.finish(releasedReason(`rwmutex ${mode} hold`), () => release(this.session, h.key, h.rev, opts.signal));
  }
}
