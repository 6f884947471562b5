// What Mutex, RWMutex, Semaphore and Election share once they hold something: the hold itself (a
// key of the session, its create revision = the fencing token, a signal that aborts when the hold
// ends) and the holder's life cycle around it (acquire → held → released or lost → acquire again).
//
// Getters never throw once something was held: after a release or a loss they return the values
// of the last hold (a guard built from them keeps failing in transactions), and `isHeld` says
// whether the hold is current. That matters inside the hold's own abort listener, where a throwing
// getter would be an uncaught exception. The signal aborts with a ReleasedError saying why.

import { cmp, type Compare, type Watcher } from '@conclave/client';
import { checkFunction, checkString, telemetryOf } from '@conclave/client/internal';
import { setMaxListeners } from 'node:events';
import { checkSession, type Session } from '../session/session.js';
import { abortedError } from '../util/async.js';
import { NotHeldError, ReleasedError, type ReleaseReason } from '../util/errors.js';
import { acquireLocal, leaseHex } from '../util/keys.js';
import { keyLost, release, releaseQuietly } from './waiting-line.js';

/**
 * One hold on a recipe key. `signal` aborts when the session ends, when the owner releases it, or
 * (once `signal` has been read: that starts a watch on the key) when someone else deletes the key.
 */
export class Hold {
  private readonly controller = new AbortController();
  private readonly unlinkSession: () => void;
  private watcher: Watcher | undefined;
  private localReleased = false;
  private readonly heldSince = performance.now();
  /** The holder class, for metrics: mutex, rwmutex, semaphore, election. */
  recipe = 'mutex';

  constructor(
    readonly session: Session,
    /** What is held, for messages: "mutex", "leadership", … */
    readonly what: string,
    readonly key: string,
    /** Create revision of the key: the fencing token. */
    readonly rev: bigint,
    /** Revision at which the hold was confirmed. */
    readonly revision: bigint,
    /** Frees the in-process lock on the key (another object of the session may then use it). */
    private readonly releaseLocal: () => void,
  ) {
    setMaxListeners(0, this.controller.signal);
    const s = session.signal;
    const onEnd = (): void => this.lose(new ReleasedError('session-lost', what, s.reason));
    if (s.aborted) onEnd();
    else s.addEventListener('abort', onEnd, { once: true });
    this.unlinkSession = () => s.removeEventListener('abort', onEnd);
  }

  /** Whether the hold has ended (released or lost). */
  get ended(): boolean {
    return this.controller.signal.aborted;
  }

  /** The abort signal, without starting the key watch. */
  get rawSignal(): AbortSignal {
    return this.controller.signal;
  }

  /** The abort signal; the first read starts watching the key, so its deletion by another client ends the hold. */
  get signal(): AbortSignal {
    if (!this.watcher && !this.ended) this.watchKey();
    return this.controller.signal;
  }

  /** A transaction condition true only while this hold's key exists (with this hold's create revision). */
  guard(): Compare {
    return cmp.createRevision(this.key, '=', this.rev);
  }

  /** Ends the hold from outside the owner's control: the key needs no delete, the in-process lock is freed. */
  lose(reason: ReleasedError): void {
    if (this.ended) return;
    this.end(reason);
    this.freeLocal();
  }

  /**
   * Ends the hold by its owner: aborts `signal` with `reason`, deletes the key unless the hold was
   * lost (`remove`), and only then frees the in-process lock on the key (another object of the
   * session must not reuse a key being deleted).
   */
  async finish(reason: ReleasedError, remove: () => Promise<unknown>): Promise<void> {
    const lost = this.ended;
    this.end(reason);
    try {
      if (!lost && !this.session.isDone) await remove();
    } finally {
      this.freeLocal();
    }
  }

  private end(reason: ReleasedError): void {
    const t = telemetryOf(this.session.client);
    if (t.measuring && !this.ended)
      t.record('conclave.lock.hold', performance.now() - this.heldSince, {
        recipe: this.recipe,
        reason: reason.reason,
      });
    this.unlinkSession();
    this.watcher?.close();
    this.controller.abort(reason);
  }

  private freeLocal(): void {
    if (this.localReleased) return;
    this.localReleased = true;
    this.releaseLocal();
  }

  private watchKey(): void {
    const w = this.session.client.watch(this.key, {
      startRevision: this.revision + 1n,
      filters: ['noPut'],
      signal: this.controller.signal,
    });
    this.watcher = w;
    void (async () => {
      for await (const batch of w) {
        if (batch.type !== 'events' || this.ended) continue;
        if (!batch.events.some((e) => e.type === 'delete')) continue;
        // the key goes with the lease when the session is lost; anything else is another client's delete
        const why = await keyLost(this.session, this.key);
        if (this.session.isDone) this.lose(new ReleasedError('session-lost', this.what, this.session.signal.reason));
        else this.lose(new ReleasedError('key-deleted', this.what, why));
        return;
      }
    })().catch(() => {
      // the watch ended with an error (client closed, compaction): the hold's other signals still apply
    });
  }
}

/** Options of the calls that wait for a hold (`lock`, `rLock`, `acquire`, `campaign`). */
export interface LockOptions {
  /** Gives up waiting (the queue entry is removed); the call rejects with AbortedError. */
  signal?: AbortSignal;
  /** Gives up waiting after this many ms (AbortedError whose cause is a TimeoutError). */
  timeoutMs?: number;
}

/**
 * The life cycle shared by the four holder classes: at most one acquisition at a time, the current
 * (or last) hold, release rules, `withX(fn)` helpers and `[Symbol.asyncDispose]`.
 */
export abstract class Holder {
  /** The key prefix, with the trailing "/" (as in Go). */
  readonly prefix: string;
  /** The current hold, or the last one after a release or loss (undefined before the first). */
  protected hold: Hold | undefined;
  /** Acquired and not yet released by the owner (the hold may have been lost meanwhile). */
  private active = false;
  private busy = false;

  protected constructor(
    /** The session whose lease carries the holder's keys. */
    readonly session: Session,
    prefix: string,
    /** What is held, for messages: "mutex", "leadership", … */
    private readonly what: string,
    /** How the owner's release is reported: `unlocked`, or `resigned` for a leader. */
    private readonly releaseReason: ReleaseReason = 'unlocked',
  ) {
    const name = new.target.name;
    checkSession(session, `${name}: session`);
    checkString(prefix, `${name}: prefix`, true);
    this.prefix = `${prefix}/`;
  }

  /** Whether the hold is current: acquired, not released, not lost (session ended, key deleted). */
  get isHeld(): boolean {
    return this.active && this.hold !== undefined && !this.hold.ended;
  }

  /**
   * The fencing token of the current or last hold: its key's create revision, strictly increasing
   * across successive holders. Throws NotHeldError only before the first acquisition.
   */
  get fencingToken(): bigint {
    return this.last().rev;
  }

  /** Revision at which the current or last hold was confirmed. */
  get acquiredRevision(): bigint {
    return this.last().revision;
  }

  /**
   * Aborts when the current (or last) hold ends, with a ReleasedError whose `reason` says why:
   * `unlocked`/`resigned` (released by the owner), `session-lost` (stop using the resource), or
   * `key-deleted` (another client deleted the key; reading `signal` starts watching for that).
   * Throws NotHeldError only before the first acquisition.
   */
  get signal(): AbortSignal {
    return this.last().signal;
  }

  /** A transaction condition true only while the current hold's key exists: `txn().if(holder.isOwner())`. */
  isOwner(): Compare {
    return this.last().guard();
  }

  /** Releases what is held, if anything (never throws for "not held"). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.active) await this.releaseHeld(undefined);
  }

  /** This session's key under the prefix: `prefix/<lease id in hex>` (Mutex, Semaphore, Election). */
  protected leaseKey(): string {
    return `${this.prefix}${leaseHex(this.session.lease)}`;
  }

  /** The current or last hold; NotHeldError before the first. */
  protected last(): Hold {
    if (!this.hold) throw new NotHeldError(this.what);
    return this.hold;
  }

  /**
   * Runs an acquisition: refuses (TypeError) while another runs on this object or a hold is
   * current; a hold that was lost is cleared first. `run` resolves with the new hold, or undefined
   * when nothing was acquired (tryLock).
   */
  protected async acquiring(run: () => Promise<Hold | undefined>): Promise<Hold | undefined> {
    const name = this.constructor.name;
    if (this.busy) throw new TypeError(`${name}: an acquisition is already in progress on this object`);
    if (this.isHeld) throw new TypeError(`${name}: already held by this object (release it first)`);
    this.active = false;
    this.busy = true;
    const t0 = performance.now();
    try {
      const h = await run();
      if (h) {
        this.hold = h;
        this.active = true;
        h.recipe = name.toLowerCase();
        const t = telemetryOf(this.session.client);
        if (t.measuring) t.record('conclave.lock.wait', performance.now() - t0, { recipe: h.recipe });
      }
      return h;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Takes `key` through the waiting line: this session's in-process lock on the key (unless
   * `unique`: a key no other object uses), then `steps` (enqueue and wait; they report the entry's
   * create revision through `entered` and resolve with the revision the turn was confirmed at). On
   * any failure the entry is withdrawn before the in-process lock is freed, and the error is
   * rethrown as the session maps it (a lost lease is SessionExpiredError).
   */
  protected async queued(
    key: string,
    what: string,
    o: LockOptions,
    steps: (signal: AbortSignal, entered: (rev: bigint) => void) => Promise<bigint>,
    unique = false,
  ): Promise<Hold> {
    const signal = this.session.linkedSignal(o.signal, o.timeoutMs);
    let rev: bigint | undefined;
    let local: (() => void) | undefined;
    try {
      local = unique ? () => undefined : await acquireLocal(this.session, key, signal);
      const at = await steps(signal, (r) => (rev = r));
      if (signal.aborted) throw abortedError(signal);
      return new Hold(this.session, what, key, rev!, at, local);
    } catch (e) {
      // withdraw (only if this object got the key), then let another object of this session use it
      if (local) await releaseQuietly(this.session, key, rev);
      local?.();
      throw this.session.mapError(e);
    }
  }

  /**
   * Releases the current hold: its signal aborts (ReleasedError with the owner's reason), then its
   * key is deleted if it is still this hold's. NotHeldError when nothing was acquired (or it was
   * already released); after a loss it only clears the state.
   */
  protected async releaseHeld(signal: AbortSignal | undefined): Promise<void> {
    const h = this.hold;
    if (!this.active || !h) throw new NotHeldError(this.what);
    this.active = false;
    await h.finish(new ReleasedError(this.releaseReason, h.what), () => release(this.session, h.key, h.rev, signal));
  }

  /**
   * Acquires, runs `fn` with the hold's signal and fencing token, and releases however `fn` ends
   * (unless `fn` released it itself). If `fn` throws, its error is rethrown even if the release
   * fails too (the key then goes with the session's lease).
   */
  protected async within<T>(
    acquire: () => Promise<unknown>,
    fn: (signal: AbortSignal, fencingToken: bigint) => T | PromiseLike<T>,
  ): Promise<T> {
    checkFunction(fn, `${this.constructor.name}: fn`);
    await acquire();
    const h = this.hold!;
    const releaseIfCurrent = async (): Promise<void> => {
      if (this.active && this.hold === h) await this.releaseHeld(undefined);
    };
    let result: T;
    try {
      result = await fn(h.signal, h.rev);
    } catch (e) {
      await releaseIfCurrent().catch(() => undefined);
      throw e;
    }
    await releaseIfCurrent();
    return result;
  }
}
