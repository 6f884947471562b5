// The Lease service: grant, revoke, time-to-live, list, and keepalive handles. In a namespace view,
// the keys reported by `timeToLive` are those inside the namespace, without its prefix.

import { etcdserverpb } from '@conclave/api';
import { LeaseNotFoundError } from '../errors/etcd.js';
import type { CallOptions, CallStats, Rpc } from '../rpc/rpc.js';
import { hasPrefix } from '../util/bytes.js';
import { callOptions, checkBool, checkInt, checkTtl, invalid } from '../util/validate.js';
import type { KeepAliveManager, LeaseKeepAlive } from './keepalive.js';

const L = etcdserverpb.LeaseService;

/** A granted (or renewed) lease: pass it to `keepAlive()` so loss is detected from the start. */
export interface Lease {
  id: bigint;
  /** TTL in seconds granted by the server. */
  ttl: number;
  /**
   * performance.now() just before the grant that succeeded was sent (the last attempt, after any
   * retries): the lease cannot expire before grantedAt + ttl.
   */
  grantedAt: number;
}

/** What `timeToLive` reports about a lease. */
export interface LeaseTimeToLive {
  id: bigint;
  /** Remaining TTL in seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** TTL the lease was granted with (seconds). */
  grantedTtl: number;
  /** Keys attached to the lease (with `keys: true`). */
  keys: Uint8Array[];
}

/**
 * Leases: grant, revoke, time to live, list, and keep-alive handles (`client.lease`).
 *
 * ```ts
 * const lease = await client.lease.grant(10);
 * await client.put('service/a', 'up', { lease: lease.id });
 * const ka = client.lease.keepAlive(lease);
 * ka.on('lost', (err) => console.error(err.message));
 * ```
 */
export class LeaseApi {
  /** @internal Made by the client (`client.lease`). */
  constructor(
    private readonly rpc: Rpc,
    private readonly keepalives: KeepAliveManager,
    private readonly prefix: Uint8Array,
  ) {}

  /**
   * Grants a lease of `ttl` seconds, a positive integer (the server raises it to its minimum TTL,
   * etcd's is 2 × the election timeout), optionally with a chosen ID.
   */
  async grant(ttl: number, opts?: CallOptions & { id?: bigint | number }): Promise<Lease> {
    checkTtl(ttl, 'lease.grant: ttl');
    opts = callOptions(opts, 'lease.grant');
    if (opts.id !== undefined) checkInt(opts.id, 'lease.grant: options.id');
    const stats: CallStats = { attempts: 0 };
    const res = await this.rpc.unary(
      L.LeaseGrant,
      { TTL: ttl, ID: opts.id ?? 0 },
      { ...opts, kind: 'idempotent', stats },
    );
    return { id: res.ID, ttl: Number(res.TTL), grantedAt: stats.sentAt ?? performance.now() };
  }

  /**
   * Revokes a lease, deleting its keys. If a previous attempt may have been applied before a retry,
   * the retry's "lease not found" counts as success.
   */
  async revoke(id: bigint | number, opts?: CallOptions): Promise<void> {
    checkInt(id, 'lease.revoke: id', 1);
    opts = callOptions(opts, 'lease.revoke');
    const stats = { attempts: 0 };
    try {
      await this.rpc.unary(L.LeaseRevoke, { ID: id }, { ...opts, kind: 'idempotent', stats });
    } catch (e) {
      if (e instanceof LeaseNotFoundError && stats.attempts > 1) return;
      throw e;
    }
  }

  /** The lease's remaining and granted TTL (and with `keys`, its keys); `ttl` is -1 for a lease that no longer exists. */
  async timeToLive(id: bigint | number, opts?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    checkInt(id, 'lease.timeToLive: id', 1);
    opts = callOptions(opts, 'lease.timeToLive');
    if (opts.keys !== undefined) checkBool(opts.keys, 'lease.timeToLive: options.keys');
    const res = await this.rpc.unary(
      L.LeaseTimeToLive,
      { ID: id, keys: opts.keys ?? false },
      { ...opts, kind: 'read' },
    );
    const p = this.prefix;
    const keys = p.length === 0 ? res.keys : res.keys.filter((k) => hasPrefix(k, p)).map((k) => k.subarray(p.length));
    return { id: res.ID, ttl: Number(res.TTL), grantedTtl: Number(res.grantedTTL), keys };
  }

  /** IDs of every lease. */
  async leases(opts?: CallOptions): Promise<bigint[]> {
    opts = callOptions(opts, 'lease.leases');
    const res = await this.rpc.unary(L.LeaseLeases, {}, { ...opts, kind: 'read' });
    return res.leases.map((l) => l.ID);
  }

  /**
   * Keeps a lease alive until the handle is closed or the lease is lost. Pass the `Lease` from
   * `grant()` (rather than its ID) so loss can be detected even before the first renewal answers.
   */
  keepAlive(lease: bigint | number | Lease): LeaseKeepAlive {
    if (typeof lease === 'object' && lease !== null) {
      checkInt(lease.id, 'lease.keepAlive: lease.id', 1);
      if (typeof lease.ttl !== 'number' || typeof lease.grantedAt !== 'number')
        invalid('lease.keepAlive: lease', 'a Lease from grant() (with id, ttl and grantedAt) or a lease ID', lease);
      return this.keepalives.keepAlive(BigInt(lease.id), lease.ttl, lease.grantedAt);
    }
    checkInt(lease, 'lease.keepAlive: lease', 1);
    return this.keepalives.keepAlive(BigInt(lease));
  }

  /**
   * Renews a lease once; resolves with it as `grant()` does (its new TTL and when the renewal that
   * succeeded was sent), ready for `keepAlive()`. Throws LeaseNotFoundError if it no longer exists.
   */
  async keepAliveOnce(id: bigint | number, opts?: CallOptions): Promise<Lease> {
    checkInt(id, 'lease.keepAliveOnce: id', 1);
    opts = callOptions(opts, 'lease.keepAliveOnce');
    const stats: CallStats = { attempts: 0 };
    const res = await this.rpc.unary(
      L.LeaseKeepAlive,
      { ID: id },
      { ...opts, kind: 'idempotent', requireLeader: true, stats },
    );
    if (res.TTL <= 0n) {
      throw new LeaseNotFoundError({
        message: 'etcdserver: requested lease not found',
        code: 'LeaseNotFound',
        retriable: false,
      });
    }
    return { id: BigInt(id), ttl: Number(res.TTL), grantedAt: stats.sentAt ?? performance.now() };
  }
}
