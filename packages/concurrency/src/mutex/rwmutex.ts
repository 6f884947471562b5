// A readers-writer lock with the key layout of etcd's Go recipe (contrib/recipes RWMutex):
// readers queue as `prefix/read/<unique>`, writers as `prefix/write/<unique>`, each key created with
// the session's lease. A reader waits for the newest *writer* created before it; a writer waits for
// the newest key of either kind created before it. Same confirmation rule as Mutex: the turn is
// granted only by a read that shows the contender's own key still there.

import type { CallOptions } from '@conclave/client';
import { callOptions, checkString } from '@conclave/client/internal';
import { Hold, Holder } from '../holder/holder.js';
import { enqueue, release, releaseQuietly, waitTurn } from '../holder/waiting-line.js';
import { checkSession, type Session } from '../session/session.js';
import { abortedError } from '../util/async.js';
import { uniqueSuffix } from '../util/keys.js';
import type { LockOptions } from './mutex.js';

/**
 * A readers-writer lock (etcd contrib/recipes layout): many readers or one writer at a time.
 *
 * ```ts
 * const rw = new RWMutex(session, 'locks/catalog');
 * const rows = await rw.withRead(() => readCatalog());
 * await rw.withWrite((signal, token) => rewriteCatalog(token, signal));
 * ```
 */
export class RWMutex extends Holder {
  /** The lock's key prefix, with the trailing "/". */
  readonly prefix: string;
  private holdMode: 'read' | 'write' | undefined;

  /** A readers-writer lock on the keys under `prefix` (no trailing "/"), held through `session`'s lease. */
  constructor(session: Session, prefix: string) {
    checkSession(session, 'RWMutex: session');
    checkString(prefix, 'RWMutex: prefix', true);
    super(session, 'rwmutex');
    this.prefix = `${prefix}/`;
  }

  /** Waits for a shared (read) hold; resolves with its token (the key's create revision). */
  rLock(opts?: LockOptions): Promise<bigint> {
    return this.acquire('read', `${this.prefix}write/`, callOptions(opts, 'RWMutex.rLock'));
  }

  /** Waits for the exclusive (write) hold; resolves with its fencing token, strictly increasing across writers. */
  lock(opts?: LockOptions): Promise<bigint> {
    return this.acquire('write', this.prefix, callOptions(opts, 'RWMutex.lock'));
  }

  /** Releases a read hold (NotHeldError if none was taken; TypeError if the hold is a write hold). */
  rUnlock(opts?: CallOptions): Promise<void> {
    return this.releaseMode('read', callOptions(opts, 'RWMutex.rUnlock'));
  }

  /** Releases the write hold (NotHeldError if none was taken; TypeError if the hold is a read hold). */
  unlock(opts?: CallOptions): Promise<void> {
    return this.releaseMode('write', callOptions(opts, 'RWMutex.unlock'));
  }

  /** Takes a read hold, runs `fn(signal, token)`, and releases it however `fn` ends. */
  withRead<T>(fn: (signal: AbortSignal, token: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.rLock(opts), fn);
  }

  /** Takes the write hold, runs `fn(signal, fencingToken)`, and releases it however `fn` ends. */
  withWrite<T>(fn: (signal: AbortSignal, fencingToken: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.lock(opts), fn);
  }

  /** 'read' or 'write' while a hold is current, else undefined. */
  get mode(): 'read' | 'write' | undefined {
    return this.isHeld ? this.holdMode : undefined;
  }

  /** The key of the current or last hold (`prefix/read/<unique>` or `prefix/write/<unique>`). */
  get key(): string {
    return this.last().key;
  }

  protected releaseHold(): Promise<void> {
    return this.releaseMode(this.holdMode ?? 'write', {});
  }

  private async acquire(mode: 'read' | 'write', waitPrefix: string, o: LockOptions): Promise<bigint> {
    const h = await this.acquiring(async () => {
      const key = `${this.prefix}${mode}/${uniqueSuffix(this.session.lease)}`;
      const signal = this.session.linkedSignal(o.signal, o.timeoutMs);
      let rev: bigint | undefined;
      try {
        const q = await enqueue(this.session, key, '', undefined, signal);
        rev = q.rev;
        const at = await waitTurn(this.session, key, rev, waitPrefix, signal);
        if (signal.aborted) throw abortedError(signal);
        this.holdMode = mode;
        return new Hold(this.session, `rwmutex ${mode} hold`, key, rev, at, () => undefined);
      } catch (e) {
        await releaseQuietly(this.session, key, rev);
        throw this.session.mapError(e);
      }
    });
    return h!.rev;
  }

  private async releaseMode(mode: 'read' | 'write', o: CallOptions): Promise<void> {
    if (this.isHeld && this.holdMode !== mode) throw new TypeError(`RWMutex: the hold is a ${this.holdMode} hold`);
    await this.releasing('unlocked', (h) => release(this.session, h.key, h.rev, o.signal));
  }
}
