// The Client: connection pool, call pipeline, shared watch and keepalive streams, and the KV /
// Watch / Lease (inherited from KeySpace), Cluster, Maintenance and Auth surfaces.

import type * as grpc from '@grpc/grpc-js';
import { AuthApi } from './auth/auth.js';
import { TokenManager } from './auth/token-manager.js';
import { ClusterApi } from './cluster/cluster.js';
import { endpointsFromMembers } from './connection/auto-sync.js';
import type { CircuitBreakerOptions } from './connection/circuit-breaker.js';
import type { TlsOptions } from './connection/endpoint.js';
import { Pool } from './connection/pool.js';
import { AuthNotEnabledError } from './errors/etcd.js';
import { KeySpace } from './kv/keyspace.js';
import { KeepAliveManager } from './lease/keepalive.js';
import { MaintenanceApi } from './maintenance/maintenance.js';
import type { RpcKind } from './rpc/policy.js';
import { DEFAULT_RETRY, Rpc, type CallOptions, type RetryPolicy } from './rpc/rpc.js';
import { StatusHub, type StatusEvent } from './status/status.js';
import { EMPTY } from './util/bytes.js';
import { WatchManager } from './watch/watch-manager.js';

export interface ClientOptions {
  /** Server addresses: "host:port", "http://host:port" or "https://host:port". */
  endpoints: string[];
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
   * Extra @grpc/grpc-js channel options. They configure the grpc-js channel that carries lease
   * keepalive and snapshot streams; unary calls and watches use the client's own HTTP/2 transport
   * (src/transport) and are not affected by them.
   */
  grpcOptions?: grpc.ChannelOptions;
}

export class Client extends KeySpace {
  readonly cluster: ClusterApi;
  readonly maintenance: MaintenanceApi;
  readonly auth: AuthApi;
  private readonly hub: StatusHub;
  private readonly pool: Pool;
  private syncTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    if (!options || !Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new TypeError('Client: `endpoints` must list at least one endpoint');
    }
    const hub = new StatusHub();
    const pool = new Pool(
      options.endpoints,
      {
        ...(options.tls ? { tls: options.tls } : {}),
        ...(options.circuitBreaker ? { breaker: options.circuitBreaker } : {}),
        ...(options.grpcOptions ? { channelOptions: options.grpcOptions } : {}),
      },
      hub,
    );
    const retry = {} as Record<RpcKind, RetryPolicy>;
    for (const k of ['read', 'idempotent', 'write'] as const) retry[k] = { ...DEFAULT_RETRY[k], ...options.retry?.[k] };
    const rpc = new Rpc(pool, {
      timeoutMs: options.timeoutMs ?? 10_000,
      requireLeader: options.requireLeader ?? false,
      retry,
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

  /** Replaces the endpoint list (channels of endpoints kept are reused). */
  setEndpoints(endpoints: string[]): void {
    if (this.pool.setEndpoints(endpoints)) this.hub.emit({ type: 'endpointsChanged', endpoints: this.pool.addresses });
  }

  /** Sets the endpoints to the client URLs of the cluster's voting members (MemberList); returns them. */
  async sync(opts: CallOptions = {}): Promise<string[]> {
    const list = await this.cluster.list(opts);
    const eps = endpointsFromMembers(list.members);
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
