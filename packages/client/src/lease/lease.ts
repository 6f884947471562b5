// The Lease service: grant, revoke, time-to-live, list, and keepalive handles. In a namespace view,
// the keys reported by `timeToLive` are those inside the namespace, without its prefix.

import { etcdserverpb } from '@conclave/api';
import { LeaseNotFoundError } from '../errors/etcd.js';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import { hasPrefix } from '../util/bytes.js';
import type { KeepAliveManager, LeaseKeepAlive } from './keepalive.js';

const L = etcdserverpb.LeaseService;

export interface Lease {
  id: bigint;
  /** TTL in seconds granted by the server. */
  ttl: number;
  /** performance.now() just before the grant was sent: the lease cannot expire before grantedAt + ttl. */
  grantedAt: number;
}

export interface LeaseTimeToLive {
  id: bigint;
  /** Remaining TTL in seconds; -1 when the lease does not exist (expired or revoked). */
  ttl: number;
  /** TTL the lease was granted with (seconds). */
  grantedTtl: number;
  /** Keys attached to the lease (with `keys: true`). */
  keys: Uint8Array[];
}

export class LeaseApi {
  constructor(
    private readonly rpc: Rpc,
    private readonly keepalives: KeepAliveManager,
    private readonly prefix: Uint8Array,
  ) {}

  /** Grants a lease of `ttl` seconds (optionally with a chosen ID). */
  async grant(ttl: number, opts: CallOptions & { id?: bigint | number } = {}): Promise<Lease> {
    const grantedAt = performance.now();
    const res = await this.rpc.unary(L.LeaseGrant, { TTL: ttl, ID: opts.id ?? 0 }, { ...opts, kind: 'idempotent' });
    return { id: res.ID, ttl: Number(res.TTL), grantedAt };
  }

  /**
   * Revokes a lease, deleting its keys. If a previous attempt may have been applied before a retry,
   * the retry's "lease not found" counts as success.
   */
  async revoke(id: bigint | number, opts: CallOptions = {}): Promise<void> {
    const stats = { attempts: 0 };
    try {
      await this.rpc.unary(L.LeaseRevoke, { ID: id }, { ...opts, kind: 'idempotent', stats });
    } catch (e) {
      if (e instanceof LeaseNotFoundError && stats.attempts > 1) return;
      throw e;
    }
  }

  async timeToLive(id: bigint | number, opts: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLive> {
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
  async leases(opts: CallOptions = {}): Promise<bigint[]> {
    const res = await this.rpc.unary(L.LeaseLeases, {}, { ...opts, kind: 'read' });
    return res.leases.map((l) => l.ID);
  }

  /**
   * Keeps a lease alive until the handle is closed or the lease is lost. Pass the `Lease` from
   * `grant()` (rather than its ID) so loss can be detected even before the first renewal answers.
   */
  keepAlive(lease: bigint | number | Lease): LeaseKeepAlive {
    if (typeof lease === 'object') return this.keepalives.keepAlive(lease.id, lease.ttl, lease.grantedAt);
    return this.keepalives.keepAlive(BigInt(lease));
  }

  /** Renews a lease once; returns the new TTL (seconds). Throws LeaseNotFoundError if it no longer exists. */
  async keepAliveOnce(id: bigint | number, opts: CallOptions = {}): Promise<number> {
    const res = await this.rpc.unary(
      L.LeaseKeepAlive,
      { ID: id },
      { ...opts, kind: 'idempotent', requireLeader: true },
    );
    if (res.TTL <= 0n) {
      throw new LeaseNotFoundError({
        message: 'etcdserver: requested lease not found',
        code: 'LeaseNotFound',
        retriable: false,
      });
    }
    return Number(res.TTL);
  }
}
