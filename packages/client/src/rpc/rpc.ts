// The call pipeline every unary RPC goes through: pick an endpoint (pool), attach metadata (auth
// token, hasleader), run one attempt with the remaining deadline, and on failure decide with the
// retry rules (policy.ts) whether to try again, on another endpoint, with p-retry's exponential
// backoff and jitter. The first retry after a failure goes to an untried endpoint at once; backoff
// applies once every endpoint has been tried. The whole call, retries included, stays within the
// call's deadline (`timeoutMs`) and stops at once when its AbortSignal aborts.

import type { MethodDescriptor, PartialMessage } from '@conclave/api';
import pRetry, { AbortError as StopRetry } from 'p-retry';
import type { Endpoint } from '../endpoint/endpoint.js';
import type { Pool } from '../endpoint/pool.js';
import {
  AbortedError,
  ClientClosedError,
  ConclaveError,
  DeadlineExceededError,
  UnavailableError,
} from '../errors/base.js';
import { toConclaveError } from '../errors/map.js';
import { onAbort } from '../util/abort.js';
import { sleep } from '../util/timers.js';
import type { TokenManager } from '../auth/token-manager.js';
import type { Metadata } from '../transport/transport.js';
import { SPAN_KIND_CLIENT, SPAN_STATUS_ERROR, type OtelTracer, type Telemetry } from '../telemetry/telemetry.js';
import { abortedError, attempt as runAttempt, neverSent } from './attempt.js';
import { isAuthRefresh, isEndpointFailure, mayRetry, type AttemptInfo, type RpcKind } from './policy.js';

/**
 * Times a call tries again after an auth refusal (invalid token, old auth revision, no user). The
 * first retry fetches a new token and goes at once (the old one expired); later ones wait
 * AUTH_BACKOFF_MS, doubling up to AUTH_BACKOFF_MAX_MS, and keep a new token that was refused as
 * invalid (the member is behind the Authenticate), fetching again after any other refusal.
 */
const AUTH_REFRESHES = 6;
const AUTH_BACKOFF_MS = 25;
const AUTH_BACKOFF_MAX_MS = 400;

/** Options every async call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries); the call rejects with AbortedError. */
  signal?: AbortSignal;
  /** Deadline for the whole call, retries included (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Send etcd's `hasleader` metadata: fail with NoLeaderError instead of waiting when the member has no leader. */
  requireLeader?: boolean;
}

/** How one kind of call is retried (the `retry` client option; see the README's Retries and failover). */
export interface RetryPolicy {
  /** Retries after the first attempt that wait with backoff (immediate fail-over to an untried endpoint is free). */
  retries: number;
  /** First backoff delay (ms); doubles per retry, randomized ×1–2 (p-retry's jitter). */
  minDelayMs: number;
  /** Longest backoff delay (ms). */
  maxDelayMs: number;
  /** Deadline of one attempt, so a stuck endpoint is abandoned for another (reads and idempotent calls only). */
  attemptTimeoutMs?: number;
}

/** @hidden The call pipeline's settings. */
export interface RpcSettings {
  timeoutMs: number;
  requireLeader: boolean;
  retry: Record<RpcKind, RetryPolicy>;
  telemetry: Telemetry;
}

const NONE: Metadata = Object.freeze({});
const LEADER: Metadata = Object.freeze({ hasleader: 'true' });

/** @hidden The default retry policy of each kind of call. */
export const DEFAULT_RETRY: Record<RpcKind, RetryPolicy> = {
  read: { retries: 20, minDelayMs: 25, maxDelayMs: 1000, attemptTimeoutMs: 5000 },
  idempotent: { retries: 20, minDelayMs: 25, maxDelayMs: 1000, attemptTimeoutMs: 5000 },
  write: { retries: 20, minDelayMs: 25, maxDelayMs: 1000 },
};

/** @hidden What a call reports about its attempts. */
export interface CallStats {
  attempts: number;
  endpoint?: string;
  /** performance.now() just before the last attempt was sent. */
  sentAt?: number;
}

/** @hidden Options of one call through the pipeline. */
export interface InvokeOptions extends CallOptions {
  kind: RpcKind;
  /** Send to this endpoint only (no fail-over). */
  endpoint?: Endpoint;
  /** Do not attach the auth token (Authenticate itself). */
  noAuth?: boolean;
  /** Filled in with the number of attempts made, the endpoint of the last one and when it was sent (performance.now()). */
  stats?: CallStats;
}

/** @hidden The call pipeline: endpoint choice, metadata, attempts, retries. */
export class Rpc {
  private closed = false;
  tokens: TokenManager | undefined;

  constructor(
    readonly pool: Pool,
    readonly settings: RpcSettings,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
  }

  closedError(): ClientClosedError {
    return new ClientClosedError({ message: 'the client is closed', code: 'ClientClosed', retriable: false });
  }

  /**
   * Whether the server rejected the call for want of a valid token, before processing it: an
   * expired or unknown token, a stale auth revision, or no token at all ("user name is empty",
   * when the client authenticated while auth was still disabled).
   */
  needsNewToken(err: ConclaveError): boolean {
    return this.tokens !== undefined && (isAuthRefresh(err) || err.code === 'UserEmpty');
  }

  /** Metadata for a call or stream: auth token and `hasleader`. Returns the token used. */
  async metadata(requireLeader: boolean, noAuth = false): Promise<{ md: Metadata; token: string | undefined }> {
    let token: string | undefined;
    if (this.tokens && !noAuth) {
      token = this.tokens.current ?? (await this.tokens.get());
      // '' = the cluster had auth disabled when the client authenticated
      if (token !== '') return { md: requireLeader ? { token, hasleader: 'true' } : { token }, token };
    }
    return { md: requireLeader ? LEADER : NONE, token };
  }

  /** A unary call through the pipeline (in a span when the client has a tracer). */
  unary<Req, Res>(m: MethodDescriptor<Req, Res>, req: PartialMessage<Req>, o: InvokeOptions): Promise<Res> {
    const tracer = this.settings.telemetry.tracer;
    return tracer ? this.traced(tracer, m, req, o) : this.call(m, req, o);
  }

  /** The call in an OpenTelemetry client span named after the method (rpc.* semantic conventions). */
  private async traced<Req, Res>(
    tracer: OtelTracer,
    m: MethodDescriptor<Req, Res>,
    req: PartialMessage<Req>,
    o: InvokeOptions,
  ): Promise<Res> {
    const slash = m.path.lastIndexOf('/');
    const span = tracer.startSpan(m.path.slice(1), {
      kind: SPAN_KIND_CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': m.path.slice(1, slash),
        'rpc.method': m.path.slice(slash + 1),
        'conclave.rpc.kind': o.kind,
      },
    });
    const stats: CallStats = o.stats ?? { attempts: 0 };
    try {
      return await this.call(m, req, { ...o, stats });
    } catch (e) {
      const err = e as ConclaveError;
      span.recordException(err);
      span.setStatus({ code: SPAN_STATUS_ERROR, message: err.message });
      if (err.grpcCode !== undefined) span.setAttribute('rpc.grpc.status_code', err.grpcCode);
      throw e;
    } finally {
      span.setAttribute('conclave.rpc.attempts', stats.attempts);
      if (stats.endpoint) span.setAttribute('server.address', stats.endpoint);
      span.end();
    }
  }

  private async call<Req, Res>(
    m: MethodDescriptor<Req, Res>,
    req: PartialMessage<Req>,
    o: InvokeOptions,
  ): Promise<Res> {
    if (this.closed) throw this.closedError();
    const signal = o.signal;
    if (signal?.aborted) throw abortedError(signal);
    const timeoutMs = o.timeoutMs ?? this.settings.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const policy = this.settings.retry[o.kind];
    const requireLeader = o.requireLeader ?? this.settings.requireLeader;
    const tried = new Set<Endpoint>();
    const lastByEndpoint = new Map<string, string>();
    let attempts = 0;
    let authRefreshes = 0;
    let lastErr: ConclaveError | undefined;
    let lastInfo: AttemptInfo = { neverSent: false, cappedDeadline: false };
    let previous: Endpoint | undefined;
    const log = this.settings.telemetry.logger;

    const attempt = async (): Promise<Res> => {
      if (this.closed) throw new StopRetry(this.closedError());
      if (authRefreshes > 1) {
        // A token refused again right after a new one was fetched: the member answering has not yet
        // applied the Authenticate that made it (etcd's simple tokens go through Raft; a member that
        // lags behind the one that authenticated refuses it for a while). Give it time.
        try {
          await sleep(Math.min(AUTH_BACKOFF_MAX_MS, AUTH_BACKOFF_MS * 2 ** (authRefreshes - 2)), signal);
        } catch (e) {
          throw new StopRetry(toConclaveError(e));
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new StopRetry(this.finalError(lastErr, timeoutMs, 0, new Map()));
      const ep = o.endpoint ?? this.pool.pick(tried);
      if (previous && previous !== ep)
        log.info({ method: m.path, from: previous.address, to: ep.address }, 'call failed over');
      previous = ep;
      tried.add(ep);
      attempts++;
      if (o.stats) {
        o.stats.attempts = attempts;
        o.stats.endpoint = ep.address;
      }
      let token: string | undefined;
      let md: Metadata;
      try {
        if (this.tokens && !o.noAuth) ({ md, token } = await this.metadata(requireLeader, o.noAuth));
        else md = requireLeader ? LEADER : NONE;
      } catch (e) {
        // getting a token failed: nothing of this call was sent; retry only a transient failure
        const err = toConclaveError(e);
        lastErr = err;
        lastInfo = { neverSent: true, cappedDeadline: false };
        throw err.retriable ? err : new StopRetry(err);
      }
      const cap = o.kind !== 'write' ? policy.attemptTimeoutMs : undefined;
      const attemptDeadline = cap !== undefined && Date.now() + cap < deadline ? Date.now() + cap : deadline;
      if (o.stats) o.stats.sentAt = performance.now();
      try {
        const res = await runAttempt(ep, m, req, md, attemptDeadline, signal);
        this.pool.succeeded(ep);
        return res;
      } catch (e) {
        const err = toConclaveError(e, ep.address);
        if (err instanceof AbortedError) throw new StopRetry(err);
        lastErr = err;
        lastInfo = { neverSent: neverSent(err), cappedDeadline: attemptDeadline < deadline, requireLeader };
        // keep the informative failure of an endpoint rather than a later plain timeout on it
        if (err.code !== 'DeadlineExceeded' || !lastByEndpoint.has(ep.address))
          lastByEndpoint.set(ep.address, err.message);
        if (isEndpointFailure(err, lastInfo)) this.pool.failed(ep, err);
        else this.pool.succeeded(ep);
        // A refused token is fetched again, unless it is the one this call's first refresh just got:
        // then the member is behind the Authenticate that made it, and the retry waits (attempt).
        if (this.needsNewToken(err) && (authRefreshes === 0 || err.code !== 'InvalidAuthToken'))
          this.tokens?.invalidate(token);
        throw err;
      }
    };

    const shouldConsumeRetry = (error: unknown): boolean => {
      if (error instanceof ConclaveError && this.needsNewToken(error)) return false;
      // fail over to an endpoint not tried yet without waiting
      return !(o.endpoint === undefined && this.pool.hasUntried(tried));
    };
    const shouldRetry = (error: unknown): boolean => {
      if (!(error instanceof ConclaveError)) return false;
      if (this.needsNewToken(error)) {
        if (!this.tokens || authRefreshes >= AUTH_REFRESHES) return false;
        authRefreshes++;
        return true;
      }
      const again = mayRetry(o.kind, error, lastInfo);
      if (again)
        log.debug(
          { method: m.path, endpoint: previous?.address, attempt: attempts, error: error.message },
          'retrying call',
        );
      return again;
    };
    const fail = (e: unknown): never => {
      if (signal?.aborted) throw e instanceof AbortedError ? e : abortedError(signal);
      const err = toConclaveError(e instanceof StopRetry ? e.originalError : e);
      if (this.closed && !(err instanceof ClientClosedError) && err instanceof UnavailableError)
        throw this.closedError();
      throw this.finalError(err, timeoutMs, attempts, lastByEndpoint);
    };

    // fast path: the first attempt runs without the retry machinery
    let first: unknown;
    try {
      return await attempt();
    } catch (e) {
      first = e;
    }
    if (first instanceof StopRetry || !shouldRetry(first)) fail(first);
    if (shouldConsumeRetry(first)) {
      try {
        await sleep(Math.min(policy.maxDelayMs, Math.round(policy.minDelayMs * (1 + Math.random()))), signal);
      } catch (e) {
        fail(e);
      }
    }
    // p-retry listens to the signal it is given: hand it the call's own, so that a caller's signal
    // shared by many calls still carries one listener (util/abort.ts)
    const retrySignal = signal ? new AbortController() : undefined;
    const stopWaiting = signal ? onAbort(signal, () => retrySignal!.abort(signal.reason)) : undefined;
    try {
      return await pRetry(attempt, {
        retries: policy.retries,
        minTimeout: policy.minDelayMs,
        maxTimeout: policy.maxDelayMs,
        factor: 2,
        randomize: true,
        // a call waiting to retry keeps the process alive, like any pending request
        unref: false,
        maxRetryTime: Math.max(0, deadline - Date.now()),
        ...(retrySignal ? { signal: retrySignal.signal } : {}),
        shouldConsumeRetry: ({ error }) => shouldConsumeRetry(error),
        shouldRetry: ({ error }) => shouldRetry(error),
      });
    } catch (e) {
      return fail(e);
    } finally {
      stopWaiting?.();
    }
  }

  /**
   * The error a failed call ends with. When the last failure was plain unavailability, one clear
   * UnavailableError naming every endpoint tried and its last error; when the deadline passed before
   * any attempt failed, DeadlineExceededError.
   */
  private finalError(
    err: ConclaveError | undefined,
    timeoutMs: number,
    attempts: number,
    lastByEndpoint: Map<string, string>,
  ): ConclaveError {
    // the last attempt may have timed out waiting for a connection after earlier ones were refused
    const unreachable = [...lastByEndpoint.values()].some((m) => m.startsWith('UNAVAILABLE: '));
    if (
      err &&
      (err.code === 'Unavailable' || (err.code === 'DeadlineExceeded' && unreachable)) &&
      (lastByEndpoint.size > 1 || attempts > 1)
    ) {
      const list = [...lastByEndpoint].map(([ep, msg]) => `${ep}: ${msg.replace(` (${ep})`, '')}`).join('; ');
      return new UnavailableError({
        message: `no endpoint available after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${timeoutMs} ms (${list})`,
        code: 'Unavailable',
        retriable: true,
        cause: err,
      });
    }
    return (
      err ??
      new DeadlineExceededError({
        message: `deadline of ${timeoutMs} ms exceeded`,
        code: 'DeadlineExceeded',
        retriable: true,
      })
    );
  }
}
