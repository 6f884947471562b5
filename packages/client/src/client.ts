// The Client: connection pool, call pipeline, shared watch and keepalive streams, and the KV /
// Watch / Lease (inherited from KeySpace), Cluster, Maintenance and Auth surfaces.

import type * as grpc from '@grpc/grpc-js';
import { AuthApi } from './auth/auth.js';
import { TokenManager } from './auth/token-manager.js';
import { ClusterApi } from './cluster/cluster.js';
import { endpointsFromMembers } from './endpoint/auto-sync.js';
import type { CircuitBreakerOptions } from './endpoint/circuit-breaker.js';
import { endpointList, parseEndpoint, type TlsOptions } from './endpoint/endpoint.js';
import { Pool } from './endpoint/pool.js';
import { AuthNotEnabledError } from './errors/etcd.js';
import { KeySpace } from './kv/keyspace.js';
import { KeepAliveManager } from './lease/keepalive.js';
import { MaintenanceApi } from './maintenance/maintenance.js';
import type { RpcKind } from './rpc/policy.js';
import { DEFAULT_RETRY, Rpc, type CallOptions, type RetryPolicy } from './rpc/rpc.js';
import { StatusHub, type StatusEvent } from './status/status.js';
import { EMPTY } from './util/bytes.js';
import {
  checkBool,
  checkChoice,
  checkCount,
  checkMs,
  checkString,
  invalid,
  options as optionsArg,
} from './util/validate.js';
import type { TransportKind } from './transport/transport.js';
import { type Logger, type OpenTelemetryOptions, Telemetry } from './telemetry/telemetry.js';
import { WatchManager } from './watch/watch-manager.js';

/** Options of a Client; only `endpoints` is required. */
export interface ClientOptions {
  /**
   * Server addresses: "host:port", "http://host:port" or "https://host:port". One string, or
   * entries joined with commas (etcdctl's form), are split.
   */
  endpoints: string[] | string;
  /** With `password`: authenticate, send the token with every call, re-authenticate when it expires. */
  username?: string;
  password?: string;
  /** TLS for every endpoint (endpoints without a scheme then use TLS too). */
  tls?: TlsOptions;
  /** Default deadline of a call, retries included (default 10000 ms). */
  timeoutMs?: number;
  /** Send `hasleader` with every call: fail fast on a member without a leader (watch and keepalive streams always do). */
  requireLeader?: boolean;
  /** Replace the endpoint list with the cluster's voting members' client URLs every this many ms (default 0: off). */
  autoSyncIntervalMs?: number;
  /** Retry policy per kind of call (read, idempotent, write); see README "Retries and failover". */
  retry?: Partial<Record<RpcKind, Partial<RetryPolicy>>>;
  /** When endpoints are taken out of rotation and probed back. */
  circuitBreaker?: CircuitBreakerOptions;
  /**
   * What carries the calls to each endpoint (one connection per endpoint either way): `'h2'`
   * (default), the client's own HTTP/2 transport; or `'grpc-js'`, @grpc/grpc-js — for HTTP CONNECT
   * proxies (`grpc_proxy`, `https_proxy`, `http_proxy` environment variables) or grpc-js channel
   * options.
   */
  transport?: TransportKind;
  /** Extra @grpc/grpc-js channel options, with `transport: 'grpc-js'` (ignored otherwise). */
  grpcOptions?: grpc.ChannelOptions;
  /**
   * Where the client reports what it does on its own: retries (debug), failovers (info), endpoint
   * health changes (info/warn), late lease renewals (warn). A pino logger fits, or any object with
   * debug/info/warn/error(obj, msg); silent by default.
   */
  logger?: Logger;
  /**
   * OpenTelemetry: a client span per RPC and histograms (lease keep-alive round trip and lateness,
   * watch lag; the recipes add lock wait and hold time). `true` uses @opentelemetry/api's global
   * tracer and meter (an optional peer dependency: install it); or pass `{ tracer, meter }`.
   */
  openTelemetry?: OpenTelemetryOptions;
}

function checkClientOptions(o: ClientOptions): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    invalid('Client: options', 'an object with at least `endpoints`', o);
  const w = (f: string): string => `Client: options.${f}`;
  if (o.username !== undefined) checkString(o.username, w('username'));
  if (o.password !== undefined) checkString(o.password, w('password'));
  if (o.timeoutMs !== undefined) checkMs(o.timeoutMs, w('timeoutMs'));
  if (o.requireLeader !== undefined) checkBool(o.requireLeader, w('requireLeader'));
  if (o.autoSyncIntervalMs !== undefined) checkMs(o.autoSyncIntervalMs, w('autoSyncIntervalMs'), true);
  if (o.tls !== undefined) {
    optionsArg(o.tls, w('tls'));
    for (const f of ['ca', 'cert', 'key'] as const) {
      const v = o.tls[f];
      if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v))
        invalid(w(`tls.${f}`), 'a PEM string or Buffer', v);
    }
    if (o.tls.serverName !== undefined) checkString(o.tls.serverName, w('tls.serverName'));
  }
  if (o.retry !== undefined) {
    optionsArg(o.retry, w('retry'));
    for (const [kind, p] of Object.entries(o.retry)) {
      if (kind !== 'read' && kind !== 'idempotent' && kind !== 'write')
        invalid(w('retry'), "keyed by 'read', 'idempotent' or 'write'", kind);
      optionsArg(p, w(`retry.${kind}`));
      if (p.retries !== undefined) checkCount(p.retries, w(`retry.${kind}.retries`), 0);
      if (p.minDelayMs !== undefined) checkMs(p.minDelayMs, w(`retry.${kind}.minDelayMs`), true);
      if (p.maxDelayMs !== undefined) checkMs(p.maxDelayMs, w(`retry.${kind}.maxDelayMs`), true);
      if (p.attemptTimeoutMs !== undefined) checkMs(p.attemptTimeoutMs, w(`retry.${kind}.attemptTimeoutMs`));
    }
  }
  if (o.circuitBreaker !== undefined) {
    optionsArg(o.circuitBreaker, w('circuitBreaker'));
    const b = o.circuitBreaker;
    if (b.failureThreshold !== undefined) checkCount(b.failureThreshold, w('circuitBreaker.failureThreshold'));
    if (b.minCooldownMs !== undefined) checkMs(b.minCooldownMs, w('circuitBreaker.minCooldownMs'), true);
    if (b.maxCooldownMs !== undefined) checkMs(b.maxCooldownMs, w('circuitBreaker.maxCooldownMs'), true);
  }
  if (o.grpcOptions !== undefined) optionsArg(o.grpcOptions, w('grpcOptions'));
  if (o.transport !== undefined) checkChoice(o.transport, w('transport'), ['h2', 'grpc-js']);
  if (o.logger !== undefined) {
    optionsArg(o.logger, w('logger'));
    for (const f of ['debug', 'info', 'warn', 'error'] as const)
      if (typeof o.logger[f] !== 'function')
        invalid(w('logger'), 'a logger with debug, info, warn and error methods', o.logger);
  }
  if (o.openTelemetry !== undefined && typeof o.openTelemetry !== 'boolean') {
    optionsArg(o.openTelemetry, w('openTelemetry'));
    const { tracer, meter } = o.openTelemetry;
    if (tracer !== undefined && typeof tracer?.startSpan !== 'function')
      invalid(w('openTelemetry.tracer'), 'an OpenTelemetry Tracer', tracer);
    if (meter !== undefined && typeof meter?.createHistogram !== 'function')
      invalid(w('openTelemetry.meter'), 'an OpenTelemetry Meter', meter);
  }
}

/**
 * A client of an etcd v3 cluster (Conclave or etcd): KV, transactions, watches and leases (from
 * KeySpace), plus `cluster`, `maintenance` and `auth`. One connection per endpoint, shared by every
 * call and stream; retries and failover within each call's deadline.
 *
 * ```ts
 * import { Client, cmp, op } from '@conclave/client';
 *
 * await using client = new Client({ endpoints: ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.3:2379'] });
 * await client.put('config/mode', 'fast');
 * const kv = await client.get('config/mode'); // KeyValue | undefined
 * const r = await client.txn().if(cmp.version('lock', '=', 0)).then(op.put('lock', 'me')).commit();
 * for await (const batch of client.watch('config/', { prefix: true })) console.log(batch);
 * ```
 */
export class Client extends KeySpace {
  /** Membership: list, add, remove, update, promote. */
  readonly cluster: ClusterApi;
  /** Status, alarms, defragment, hashes, snapshot, move leader. */
  readonly maintenance: MaintenanceApi;
  /** Authentication: users, roles, permissions, enable/disable. */
  readonly auth: AuthApi;
  private readonly hub: StatusHub;
  private readonly pool: Pool;
  private syncTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  /** Creates the client; connections are made on the first call. Throws a TypeError for bad options. */
  constructor(options: ClientOptions) {
    checkClientOptions(options);
    const endpoints = endpointList(options.endpoints, 'Client: options.endpoints');
    const telemetry = new Telemetry(options.logger, options.openTelemetry);
    const hub = new StatusHub();
    const pool = new Pool(
      endpoints,
      {
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.circuitBreaker ? { breaker: options.circuitBreaker } : {}),
        ...(options.grpcOptions ? { channelOptions: options.grpcOptions } : {}),
        ...(options.transport ? { transport: options.transport } : {}),
      },
      hub,
      telemetry.logger,
    );
    const retry = {} as Record<RpcKind, RetryPolicy>;
    for (const k of ['read', 'idempotent', 'write'] as const) retry[k] = { ...DEFAULT_RETRY[k], ...options.retry?.[k] };
    const rpc = new Rpc(pool, {
      timeoutMs: options.timeoutMs ?? 10_000,
      requireLeader: options.requireLeader ?? false,
      retry,
      telemetry,
    });
    super({ rpc, watches: new WatchManager(rpc), keepalives: new KeepAliveManager(rpc) }, EMPTY);
    this.hub = hub;
    this.pool = pool;
    this.cluster = new ClusterApi(rpc);
    this.maintenance = new MaintenanceApi(rpc);
    this.auth = new AuthApi(rpc);
    if (options.username !== undefined || options.password !== undefined) {
      const name = options.username ?? '';
      const password = options.password ?? '';
      rpc.tokens = new TokenManager(async () => {
        try {
          return await this.auth.authenticate(name, password);
        } catch (e) {
          // like etcd's Go client: credentials for a cluster without auth are not an error
          if (e instanceof AuthNotEnabledError) return '';
          throw e;
        }
      });
    }
    const every = options.autoSyncIntervalMs ?? 0;
    if (every > 0) {
      let syncing = false;
      this.syncTimer = setInterval(() => {
        if (syncing) return;
        syncing = true;
        this.sync()
          .catch(() => undefined)
          .finally(() => (syncing = false));
      }, every);
      this.syncTimer.unref();
    }
  }

  /** The current endpoint list ("host:port"). */
  get endpoints(): string[] {
    return this.pool.addresses;
  }

  /** Replaces the endpoint list (connections of endpoints kept are reused). */
  setEndpoints(endpoints: string[] | string): void {
    const list = endpointList(endpoints, 'setEndpoints: endpoints');
    const secure = this.pool.defaultSecure;
    for (const e of list) parseEndpoint(e, secure);
    if (this.pool.setEndpoints(list)) this.hub.emit({ type: 'endpointsChanged', endpoints: this.pool.addresses });
  }

  /** Sets the endpoints to the client URLs of the cluster's voting members (MemberList); returns them. */
  async sync(opts: CallOptions = {}): Promise<string[]> {
    const list = await this.cluster.list(opts);
    // client URLs this client cannot dial (unix sockets, say) are left out
    const secure = this.pool.defaultSecure;
    const eps = endpointsFromMembers(list.members).filter((e) => {
      try {
        parseEndpoint(e, secure);
        return true;
      } catch {
        return false;
      }
    });
    if (eps.length > 0 && !this.core.rpc.isClosed) this.setEndpoints(eps);
    return this.endpoints;
  }

  /**
   * Connection and membership events (connected, disconnected, endpointsChanged, closed) as an async
   * iterable; ends after `closed` or when `signal` aborts. Events before the call are not replayed.
   */
  status(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<StatusEvent> {
    return this.hub.subscribe(opts.signal);
  }

  /** Stops keepalives (leases are not revoked), ends watches, fails new calls with ClientClosedError, closes connections. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (this.syncTimer) clearInterval(this.syncTimer);
        this.core.rpc.close();
        this.core.watches.close();
        this.core.keepalives.close();
        this.hub.close();
        // let stream cancellations go out before the channels close
        await new Promise<void>((r) => setImmediate(r));
        this.pool.close();
      })();
    }
    return this.closing;
  }

  /** Closes the client (`await using client = new Client(…)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
