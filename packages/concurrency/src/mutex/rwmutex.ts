// A readers-writer lock with the key layout of etcd's Go recipe (contrib/recipes RWMutex):
// readers queue as `prefix/read/<unique>`, writers as `prefix/write/<unique>`, each key created with
// the session's lease. A reader waits for the newest *writer* created before it; a writer waits for
// the newest key of either kind created before it. Same confirmation rule as Mutex: the turn is
// granted only by a read that shows the contender's own key still there.

import type { CallOptions } from '@conclave/client';
import { callOptions } from '@conclave/client/internal';
import { Holder, type LockOptions } from '../holder/holder.js';
import { enqueue, waitTurn } from '../holder/waiting-line.js';
import type { Session } from '../session/session.js';
import { uniqueSuffix } from '../util/keys.js';

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
  private holdMode: 'read' | 'write' | undefined;

  /** A readers-writer lock on the keys under `prefix` (no trailing "/"), held through `session`'s lease. */
  constructor(session: Session, prefix: string) {
    super(session, prefix, 'rwmutex');
  }

  /** Waits for a shared (read) hold; resolves with its token (the key's create revision). */
  async rLock(opts?: LockOptions): Promise<bigint> {
    return this.acquire('read', `${this.prefix}write/`, callOptions(opts, 'RWMutex.rLock'));
  }

  /** Waits for the exclusive (write) hold; resolves with its fencing token, strictly increasing across writers. */
  async lock(opts?: LockOptions): Promise<bigint> {
    return this.acquire('write', this.prefix, callOptions(opts, 'RWMutex.lock'));
  }

  /** Takes a read hold, runs `fn(signal, token)`, and releases it however `fn` ends. */
  withRead<T>(fn: (signal: AbortSignal, token: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.rLock(opts), fn);
  }

  /** Takes the write hold, runs `fn(signal, fencingToken)`, and releases it however `fn` ends. */
  withWrite<T>(fn: (signal: AbortSignal, fencingToken: bigint) => T | PromiseLike<T>, opts?: LockOptions): Promise<T> {
    return this.within(() => this.lock(opts), fn);
  }

  /** Releases a read hold (NotHeldError if none was taken; TypeError if the hold is a write hold). */
  async rUnlock(opts?: CallOptions): Promise<void> {
    await this.releaseMode('read', callOptions(opts, 'RWMutex.rUnlock'));
  }

  /** Releases the write hold (NotHeldError if none was taken; TypeError if the hold is a read hold). */
  async unlock(opts?: CallOptions): Promise<void> {
    await this.releaseMode('write', callOptions(opts, 'RWMutex.unlock'));
  }

  /** 'read' or 'write' while a hold is current, else undefined. */
  get mode(): 'read' | 'write' | undefined {
    return this.isHeld ? this.holdMode : undefined;
  }

  /** The key of the current or last hold (`prefix/read/<unique>` or `prefix/write/<unique>`). */
  get key(): string {
    return this.last().key;
  }

  private async acquire(mode: 'read' | 'write', waitPrefix: string, o: LockOptions): Promise<bigint> {
    const key = `${this.prefix}${mode}/${uniqueSuffix(this.session.lease)}`;
    const h = await this.acquiring(() =>
      this.queued(
        key,
        `rwmutex ${mode} hold`,
        o,
        async (signal, entered) => {
          const q = await enqueue(this.session, key, '', undefined, signal);
          entered(q.rev);
          return waitTurn(this.session, key, q.rev, waitPrefix, signal);
        },
        true,
      ),
    );
    this.holdMode = mode;
    return h!.rev;
  }

  private async releaseMode(mode: 'read' | 'write', o: CallOptions): Promise<void> {
    if (this.isHeld && this.holdMode !== mode) throw new TypeError(`RWMutex: the hold is a ${this.holdMode} hold`);
    await this.releaseHeld(o.signal);
  }
}
