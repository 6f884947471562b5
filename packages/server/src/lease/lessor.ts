// The lessor (etcd's lease.lessor): every lease of the member, in memory and in the backend's
// `lease` sub-database. Grant, revoke and checkpoint are applied from committed Raft entries inside
// the apply batch (and undone if the batch aborts); keys are attached and detached from the MVCC
// store's commit events. Only the primary lessor — the leader's, once it applied the first entry of
// its term — tracks expiry: it refreshes leases on keep-alive, finds expired ones for revocation
// through Raft and schedules checkpoints; elsewhere every lease lives "forever".

import { etcdError } from '@conclave/api';
import type { Logger } from '../log/index.js';
import type { MvccEvent, MvccStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import { ExpiryQueue } from './expiry-queue.js';
import { Lease, now } from './lease.js';
import { decodeLeaseRecord, encodeLeaseRecord, leaseKey } from './persist.js';

/** etcd's largest TTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;
/** etcd's leaseRevokeRate: expired leases revoked per second, at most. */
export const LEASE_REVOKE_RATE = 1000;
/** etcd's default lease checkpoint interval. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/** The lease is not known (here, or at the leader a request was forwarded to). */
export class LeaseNotFoundError extends Error {
  constructor() {
    super('lease not found');
  }
}

/** This member is not the primary lessor (not the leader, or a leader that has not caught up yet). */
export class NotPrimaryError extends Error {
  constructor() {
    super('not a primary lessor');
  }
}

export interface Checkpoint {
  id: bigint;
  remainingTtl: number;
}

export interface LessorOptions {
  backend: Backend;
  store: MvccStore;
  /** Minimum TTL in seconds: etcd's ceil(⌊3 × election ticks / 2⌋ × heartbeat interval). */
  minTtl: number;
  /** Re-check an expired lease after this long if its revocation did not land (etcd: the request timeout). */
  expiredRetryMs: number;
  /** Lease checkpointing (--experimental-enable-lease-checkpoint); absent = off. */
  checkpoint?: {
    intervalMs: number;
    /** Persist checkpointed remaining TTLs (--experimental-enable-lease-checkpoint-persist). */
    persist: boolean;
    /** Proposes checkpoints through Raft (the leader's checkpointer). */
    propose(cps: Checkpoint[]): Promise<unknown>;
  };
  logger?: Logger;
  /** What etcd's lease metrics count (grants, revocations, renewals, granted TTLs). */
  counters?: LeaseCounters;
}

/** Counts for etcd's etcd_debugging_lease_* families. */
export interface LeaseCounters {
  granted: number;
  revoked: number;
  renewed: number;
  /** Expired leases the leader revoked (etcd_debugging_server_lease_expired_total). */
  expired: number;
  /** Told each granted lease's TTL in seconds. */
  readonly ttl: ((seconds: number) => void) | null;
}

export class Lessor {
  private leases = new Map<bigint, Lease>();
  private readonly expiries = new ExpiryQueue();
  private readonly checkpoints = new ExpiryQueue();
  private primary = false;
  private readonly demoteWaiters = new Set<() => void>();
  /** Revision of the last commit event seen: attachments reflect every write up to it. */
  private seenRev: number;
  private undoSeq = -1;
  private undo: Array<() => void> = [];
  /** Keys put with a lease earlier in the current apply batch (revisions seenRev+1..pendingTo), by lease. */
  private readonly pending = new Map<bigint, Set<string>>();
  private pendingSeq = -1;
  private pendingTo = 0;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly o: LessorOptions) {
    this.seenRev = o.store.currentRevision;
    this.recover();
    this.unsubscribe.push(
      o.store.onCommit((rev, events) => this.onCommit(rev, events)),
      o.backend.onReplace((reason) => {
        if (reason === 'restore') this.reload();
      }),
    );
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** Every lease, soonest expiry first (etcd's Leases()). */
  list(): Lease[] {
    const at = now();
    return [...this.leases.values()].sort((a, b) => a.remainingMs(at) - b.remainingMs(at));
  }

  // ---- applied from Raft (inside the apply batch) ----

  /** Applies LeaseGrant. Throws etcd's errors: lease already exists, too large lease TTL. */
  grant(id: bigint, ttlSeconds: number): Lease {
    if (id === 0n) throw etcdError('LeaseNotFound');
    if (ttlSeconds > MAX_LEASE_TTL) throw etcdError('LeaseTTLTooLarge');
    if (this.leases.has(id)) throw etcdError('LeaseExist');
    const l = new Lease(id, Math.max(ttlSeconds, this.o.minTtl));
    const c = this.o.counters;
    if (c) {
      c.granted++;
      c.ttl?.(l.ttl);
    }
    this.leases.set(id, l);
    this.persist(l);
    this.recordUndo(() => {
      this.leases.delete(id);
      this.expiries.remove(id);
      this.checkpoints.remove(id);
    });
    if (this.primary) {
      l.refresh(0);
      this.expiries.set(id, l.expiry);
      this.scheduleCheckpoint(l);
    }
    return l;
  }

  /**
   * Applies LeaseRevoke: deletes every attached key in one revision (in key order, so every member
   * writes the same revision), then the lease. Throws "requested lease not found".
   */
  revoke(id: bigint): void {
    const l = this.leases.get(id);
    if (!l) throw etcdError('LeaseNotFound');
    const keys = this.keysToRevoke(l);
    if (keys.length > 0) this.o.store.write((txn) => void keys.forEach((k) => txn.deleteRange(k, null)));
    this.leases.delete(id);
    this.expiries.remove(id);
    this.checkpoints.remove(id);
    this.o.backend.dbs.lease.removeSync(leaseKey(id));
    if (this.o.counters) this.o.counters.revoked++;
    this.recordUndo(() => {
      this.leases.set(id, l);
      if (this.primary) this.expiries.set(id, l.expiry);
    });
    this.o.backend.afterCommit(() => l.markRevoked());
  }

  /** Applies LeaseCheckpoint: records the remaining TTL (used when a new leader refreshes leases). */
  checkpoint(id: bigint, remainingTtl: number): void {
    const l = this.leases.get(id);
    if (!l) return;
    const old = l.remainingTtl;
    l.remainingTtl = remainingTtl;
    this.recordUndo(() => {
      l.remainingTtl = old;
    });
    if (this.o.checkpoint?.persist) this.persist(l);
    if (this.primary) this.scheduleCheckpoint(l);
  }

  // ---- the primary lessor ----

  /**
   * Renews a lease on the primary: its countdown restarts from the full TTL. Returns the TTL; a
   * Promise when the lease already expired (it settles once the pending revocation lands, with
   * LeaseNotFoundError, or on demotion, with NotPrimaryError) or a checkpoint must clear first.
   */
  renew(id: bigint): number | Promise<number> {
    if (!this.primary) throw new NotPrimaryError();
    const l = this.leases.get(id);
    if (!l) throw new LeaseNotFoundError();
    if (l.expired()) {
      return new Promise<number>((_resolve, reject) => {
        const demoted = (): void => reject(new NotPrimaryError());
        this.demoteWaiters.add(demoted);
        void l.whenRevoked().then(() => {
          this.demoteWaiters.delete(demoted);
          reject(new LeaseNotFoundError());
        });
      });
    }
    const cp = this.o.checkpoint;
    if (cp && l.remainingTtl > 0) {
      // Clear the checkpointed TTL first, or a later leader would restart from the stale value.
      return cp.propose([{ id, remainingTtl: 0 }]).then(() => this.renew(id));
    }
    l.refresh(0);
    this.expiries.set(id, l.expiry);
    if (this.o.counters) this.o.counters.renewed++;
    return l.ttl;
  }

  /**
   * Becomes the primary lessor: every lease restarts its countdown with `extendMs` extra (the
   * election timeout, so no lease expires because of the election), and when many leases would
   * expire together their expiries are spread to stay under the revoke rate (etcd's Promote).
   */
  promote(extendMs: number): void {
    this.primary = true;
    const at = now();
    for (const l of this.leases.values()) {
      l.refresh(extendMs, at);
      this.expiries.set(l.id, l.expiry);
      this.scheduleCheckpoint(l);
    }
    if (this.leases.size < LEASE_REVOKE_RATE) return;
    const leases = this.list();
    let baseWindow = leases[0]!.remainingMs(at);
    let nextWindow = baseWindow + 1000;
    let expires = 0;
    const targetPerSecond = (3 * LEASE_REVOKE_RATE) / 4;
    for (const l of leases) {
      const remaining = l.remainingMs(at);
      if (remaining > nextWindow) {
        baseWindow = remaining;
        nextWindow = baseWindow + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= targetPerSecond) continue;
      const delay = 1000 * (expires / targetPerSecond) - (remaining - baseWindow);
      nextWindow = baseWindow + delay;
      l.refresh(delay + extendMs, at);
      this.expiries.set(l.id, l.expiry);
      this.scheduleCheckpoint(l);
    }
  }

  /** Stops being the primary lessor: every lease lives forever here until the next promotion. */
  demote(): void {
    for (const l of this.leases.values()) l.forever();
    this.expiries.clear();
    this.checkpoints.clear();
    this.primary = false;
    const ws = [...this.demoteWaiters];
    this.demoteWaiters.clear();
    for (const w of ws) w();
  }

  /**
   * Expired leases to revoke, at most `limit`. Each one found is re-checked only after the retry
   * interval, so a revocation in flight is not proposed twice (etcd's findExpiredLeases).
   */
  findExpired(limit: number): Lease[] {
    const out: Lease[] = [];
    if (!this.primary) return out;
    const at = now();
    for (let top = this.expiries.peek(); top; top = this.expiries.peek()) {
      const l = this.leases.get(top.id);
      if (!l) {
        this.expiries.remove(top.id);
        continue;
      }
      if (at < top.time) break;
      this.expiries.set(top.id, at + this.o.expiredRetryMs);
      if (l.expired(at)) {
        out.push(l);
        if (out.length === limit) break;
      }
    }
    return out;
  }

  /** Checkpoints that are due (remaining TTL of leases that have been counting down for an interval). */
  dueCheckpoints(limit: number): Checkpoint[] {
    const out: Checkpoint[] = [];
    if (!this.primary || !this.o.checkpoint) return out;
    const at = now();
    for (let top = this.checkpoints.peek(); top && out.length < limit; top = this.checkpoints.peek()) {
      if (top.time > at) break;
      this.checkpoints.remove(top.id);
      const l = this.leases.get(top.id);
      if (!l || at >= l.expiry) continue;
      const remainingTtl = Math.ceil((l.expiry - at) / 1000);
      if (remainingTtl >= l.ttl) continue;
      out.push({ id: l.id, remainingTtl });
    }
    return out;
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.demote();
  }

  // ---- internals ----

  private scheduleCheckpoint(l: Lease): void {
    const cp = this.o.checkpoint;
    if (!cp) return;
    if (l.effectiveTtl > Math.floor(cp.intervalMs / 1000)) this.checkpoints.set(l.id, now() + cp.intervalMs);
  }

  private persist(l: Lease): void {
    this.o.backend.dbs.lease.putSync(
      leaseKey(l.id),
      encodeLeaseRecord({ id: l.id, ttl: l.ttl, remainingTtl: l.remainingTtl }),
    );
  }

  /** Registers an undo step for the current batch (run in reverse order if the batch aborts). */
  private recordUndo(fn: () => void): void {
    const b = this.o.backend;
    if (this.undoSeq !== b.batchSeq) {
      this.undoSeq = b.batchSeq;
      const log: Array<() => void> = [];
      this.undo = log;
      b.onAbort(() => {
        for (let i = log.length - 1; i >= 0; i--) log[i]!();
        log.length = 0;
      });
      b.afterCommit(() => void (log.length = 0));
    }
    this.undo.push(fn);
  }

  /**
   * The keys a revocation deletes, sorted. Attachments follow commit events, so writes earlier in
   * the same apply batch (not yet committed) are looked up in the store: keys put with this lease
   * since the last commit event are added, and every candidate is checked against the current state.
   */
  private keysToRevoke(l: Lease): Buffer[] {
    const store = this.o.store;
    const cur = store.currentRevision;
    if (cur <= this.seenRev) return l.sortedKeys();
    const seq = this.o.backend.batchSeq;
    if (this.pendingSeq !== seq) {
      this.pendingSeq = seq;
      this.pendingTo = this.seenRev;
      this.pending.clear();
    }
    if (cur > this.pendingTo) {
      try {
        for (const ev of store.history(this.pendingTo + 1, cur))
          if (ev.type === 'put' && ev.kv.lease !== 0n) this.addPending(ev.kv.lease, ev.kv.key);
      } catch {
        // The pending writes were compacted away within the batch: take every leased key instead.
        for (const { key, lease } of store.keysWithLease()) this.addPending(lease, key);
      }
      this.pendingTo = cur;
    }
    const candidates = new Set(l.keys);
    for (const k of this.pending.get(l.id) ?? []) candidates.add(k);
    const out: Buffer[] = [];
    for (const k of [...candidates].sort()) {
      const key = Buffer.from(k, 'latin1');
      if (store.range(key, null, { keysOnly: true }).kvs[0]?.lease === l.id) out.push(key);
    }
    return out;
  }

  private addPending(lease: bigint, key: Buffer): void {
    let set = this.pending.get(lease);
    if (!set) this.pending.set(lease, (set = new Set()));
    set.add(key.toString('latin1'));
  }

  private onCommit(rev: number, events: readonly MvccEvent[]): void {
    this.seenRev = rev;
    for (const ev of events) {
      const prev = ev.prevLease ?? 0n;
      const next = ev.type === 'put' ? ev.kv.lease : 0n;
      if (prev === next) continue;
      const k = ev.kv.key.toString('latin1');
      if (prev !== 0n) this.leases.get(prev)?.keys.delete(k);
      if (next !== 0n) this.leases.get(next)?.keys.add(k);
    }
  }

  /** Loads every lease from the backend and attaches the keys that carry one (start, restore). */
  private recover(): void {
    const leases = new Map<bigint, Lease>();
    for (const { value } of this.o.backend.dbs.lease.getRange()) {
      const r = decodeLeaseRecord(value);
      leases.set(r.id, new Lease(r.id, Math.max(r.ttl, this.o.minTtl), r.remainingTtl));
    }
    for (const { key, lease } of this.o.store.keysWithLease()) {
      const l = leases.get(lease);
      if (l) l.keys.add(key.toString('latin1'));
      else
        this.o.logger?.warn('key attached to an unknown lease', {
          key: key.toString('utf8'),
          'lease-id': lease.toString(16),
        });
    }
    this.leases = leases;
    this.seenRev = this.o.store.currentRevision;
  }

  /** The backend was replaced by a snapshot from the leader: start over from its contents. */
  private reload(): void {
    const old = this.leases;
    this.expiries.clear();
    this.checkpoints.clear();
    this.recover();
    for (const [id, l] of old) if (!this.leases.has(id)) l.markRevoked();
    if (this.primary) {
      for (const l of this.leases.values()) {
        l.refresh(0);
        this.expiries.set(l.id, l.expiry);
        this.scheduleCheckpoint(l);
      }
    }
  }
}
