// A session: a lease kept alive in the background, to which the recipes attach their keys (lock
// queue entries, election candidacies, service registrations). When the lease is lost — the server
// says it expired or was revoked, or its TTL passed without a successful renewal — `done` resolves
// and `signal` aborts with a SessionExpiredError, and everything the session guarded must be
// considered lost. The loss is reported locally no later than the server can expire the lease: the
// client's deadline is "time the last successful renewal was *sent* + TTL", which the server's
// expiry (time it *received* the renewal + TTL) cannot precede.

import { setMaxListeners } from 'node:events';
import { KeySpace, LeaseNotFoundError, type Lease, type LeaseKeepAlive } from '@conclave/client';
import { callOptions, checkInt, checkTtl, invalid } from '@conclave/client/internal';
import { abortedError, anySignal, throwIfAborted } from '../util/async.js';
import { SessionClosedError, SessionExpiredError } from '../util/errors.js';

/** Options of `Session.create`. */
export interface SessionOptions {
  /** Lease TTL in seconds (default 60). Shorter: faster failover, more keepalive traffic. */
  ttl?: number;
  /**
   * Use this existing lease instead of granting one (e.g. to take back a lock or leadership after a
   * restart, like Go's `WithLease`). It must still exist.
   */
  lease?: bigint | number;
  /** Aborting it closes the session (revoking its lease) — or cancels `create` if still pending. */
  signal?: AbortSignal;
  /** Deadline of the grant call. */
  timeoutMs?: number;
}

/** Throws a TypeError unless `v` is a Client or a namespace view of one. */
export function checkKeySpace(v: unknown, where: string): asserts v is KeySpace {
  if (!(v instanceof KeySpace)) invalid(where, 'a Client (or client.namespace(...))', v);
}

/** Throws a TypeError unless `v` is a Session. */
export function checkSession(v: unknown, where: string): asserts v is Session {
  if (!(v instanceof Session)) invalid(where, 'a Session (await Session.create(client))', v);
}

/** Why a session ended: SessionExpiredError (lost) or SessionClosedError (closed by its owner). */
export type SessionEnd = SessionExpiredError | SessionClosedError;

/**
 * A lease kept alive in the background, to which the recipes attach their keys (lock queue
 * entries, candidacies, registrations). When the lease is lost, `done` resolves and `signal` aborts
 * with a SessionExpiredError: everything the session guarded is lost.
 *
 * ```ts
 * await using session = await Session.create(client, { ttl: 10 });
 * session.signal.addEventListener('abort', () => console.error('session lost:', session.signal.reason));
 * const mutex = new Mutex(session, 'locks/report');
 * ```
 */
export class Session {
  /** Resolves (never rejects) when the session ends: SessionExpiredError on loss, SessionClosedError on close(). */
  readonly done: Promise<SessionEnd>;
  private readonly controller = new AbortController();
  private resolveDone!: (e: SessionEnd) => void;
  private ended: SessionEnd | undefined;
  private orphanTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private detachSignal: (() => void) | undefined;

  private constructor(
    /** The client (or namespace view) the session's recipes use. */
    readonly client: KeySpace,
    /** The lease ID; recipe keys carry it, and name it in hex (`prefix/<lease hex>`). */
    readonly lease: bigint,
    /** TTL in seconds. */
    readonly ttl: number,
    private readonly keepAlive: LeaseKeepAlive,
    signal: AbortSignal | undefined,
  ) {
    // every hold and call of the session listens to its signal
    setMaxListeners(0, this.controller.signal);
    this.done = new Promise((r) => (this.resolveDone = r));
    void keepAlive.lost.then((err) => this.end(SessionExpiredError.from(err)));
    if (signal) {
      const onAbort = (): void => void this.close();
      signal.addEventListener('abort', onAbort, { once: true });
      this.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Grants a lease (or adopts `opts.lease`) and keeps it alive until close(), orphan() or loss. */
  static async create(client: KeySpace, opts?: SessionOptions): Promise<Session> {
    checkKeySpace(client, 'Session.create: client');
    opts = callOptions(opts, 'Session.create');
    if (opts.ttl !== undefined) checkTtl(opts.ttl, 'Session.create: options.ttl');
    if (opts.lease !== undefined) checkInt(opts.lease, 'Session.create: options.lease', 1);
    const ttl = opts.ttl ?? 60;
    throwIfAborted(opts.signal);
    const call = {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    };
    let lease: Lease;
    if (opts.lease !== undefined) {
      lease = await client.lease.keepAliveOnce(opts.lease, call);
    } else {
      lease = await client.lease.grant(ttl, call);
    }
    if (opts.signal?.aborted) {
      void client.lease.revoke(lease.id).catch(() => undefined);
      throw abortedError(opts.signal);
    }
    const s = new Session(client, lease.id, lease.ttl, client.lease.keepAlive(lease), opts.signal);
    if (opts.signal?.aborted) await s.close();
    return s;
  }

  /** Aborts when the session ends; `signal.reason` is the SessionEnd. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the session has ended (lost, closed or orphaned and expired). */
  get isDone(): boolean {
    return this.ended !== undefined;
  }

  /** Local estimate (ms since the epoch) of when the lease expires if no renewal succeeds from now. */
  get expiresAt(): number {
    return this.keepAlive.expiresAt;
  }

  /** Throws the SessionEnd if the session has ended. */
  throwIfDone(): void {
    if (this.ended) throw this.ended;
  }

  /** A signal aborting when the session ends or any of `signals` aborts (or after `timeoutMs`). */
  linkedSignal(signal?: AbortSignal, timeoutMs?: number): AbortSignal {
    return anySignal([this.signal, signal], timeoutMs);
  }

  /**
   * Maps an error of an operation that used the session's lease: "lease not found" means the lease is
   * gone, i.e. the session expired (reported as such even before the keepalive notices).
   */
  mapError(e: unknown): unknown {
    if (e instanceof LeaseNotFoundError) {
      const err = new SessionExpiredError(this.lease, 'expired', e);
      this.end(err);
      return this.ended;
    }
    if (e instanceof SessionExpiredError && e.leaseId === this.lease) {
      this.end(e);
      return this.ended;
    }
    if (this.ended && !(e instanceof SessionExpiredError || e instanceof SessionClosedError)) return this.ended;
    return e;
  }

  /**
   * Ends the session: stops the keepalive, reports SessionClosedError through `done`/`signal` (before
   * anything is deleted, so holders learn first), then revokes the lease, deleting every key attached
   * to it. Never rejects: if the revoke fails, the lease expires after its TTL.
   */
  close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.closing) {
      // a lease the server reported gone needs no revoke; in every other case it may still exist
      const gone = this.ended instanceof SessionExpiredError && this.ended.reason === 'expired';
      this.keepAlive.close();
      if (this.orphanTimer) clearTimeout(this.orphanTimer);
      this.end(new SessionClosedError(this.lease));
      this.closing = gone
        ? Promise.resolve()
        : this.client.lease.revoke(this.lease, { timeoutMs: opts.timeoutMs ?? this.ttl * 1000 }).catch(() => undefined);
    }
    return this.closing;
  }

  /**
   * Stops renewing the lease without revoking it (Go's `Orphan`): the keys stay until the lease's
   * TTL runs out — e.g. to hand the lease to another process (`Session.create(client, { lease })`),
   * or when the connection is in doubt. `done` then resolves with SessionExpiredError (`ttl-elapsed`)
   * when the local deadline of the lease passes, since nothing guarantees it after that.
   */
  orphan(): void {
    if (this.ended || this.orphanTimer) return;
    const expiresAt = this.keepAlive.expiresAt;
    this.keepAlive.close();
    const delay = Number.isFinite(expiresAt) ? Math.max(0, expiresAt - Date.now()) : this.ttl * 1000;
    this.orphanTimer = setTimeout(() => this.end(new SessionExpiredError(this.lease, 'ttl-elapsed')), delay);
    this.orphanTimer.unref();
  }

  /** Closes the session (`await using session = await Session.create(…)`), revoking its lease. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private end(err: SessionEnd): void {
    if (this.ended) return;
    this.ended = err;
    this.detachSignal?.();
    this.resolveDone(err);
    this.controller.abort(err);
  }
}
