// A member's lease machinery (what etcd's EtcdServer does around its lessor): the lessor (whose
// requests are applied through apply/dispatch.ts and lease/apply.ts), the expiry loop, promotion
// when this member — as leader — has applied the first entry of its term and demotion when it stops
// leading, and the routing of requests only the leader can answer (keep-alive, TimeToLive):
// answered here on the leader once it has applied everything committed, otherwise forwarded to the
// leader through a LeaseForwarder.

import { encodeMessage, etcdError, etcdserverpb } from '@conclave/api';
import { EntryType, type Entry } from '../raft/types.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { ApplyProgress, ForwardRoutes, LeaderState, Proposer } from '../etcdserver/ports.js';
import type { Logger } from '../log/index.js';
import type { MvccStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import { encodeCheckpoints } from './apply.js';
import { ExpiryLoop } from './expiry-loop.js';
import type { LeaseForwarder, LeaseTimeToLive } from './forward.js';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  type LeaseCounters,
  LeaseNotFoundError,
  Lessor,
  NotPrimaryError,
} from './lessor.js';
import { peerLeaseForwarder } from './peer-forwarder.js';

/** The member's ports the lease machinery uses. */
export interface LeaseHostDeps {
  backend: Backend;
  store: MvccStore;
  logger: Logger;
  /** Revocations and checkpoints go through Raft. */
  proposer: Proposer;
  /** Who leads: keep-alives are answered by the leader only; the lessor is demoted with leadership. */
  leader: LeaderState;
  /** The leader answers once it has applied everything committed. */
  progress: ApplyProgress;
  /** Keep-alives and TimeToLive travel to the leader on these routes. */
  routes: ForwardRoutes;
  /** What etcd's lease metrics count (the member's metrics). */
  counters?: LeaseCounters;
}

export interface LeaseHostOptions {
  heartbeatMs: number;
  electionTicks: number;
  /** etcd's request timeout (5 s + 2 × election timeout): how long forwarded requests keep trying. */
  requestTimeoutMs: number;
  /** --experimental-enable-lease-checkpoint (and -persist); null = off. */
  checkpoint?: { persist: boolean; intervalMs?: number } | null;
  /** Expiry scan interval (etcd: 500 ms). */
  tickMs?: number;
}

/** etcd's applyTimeout: how long a leader waits to apply what is committed before answering. */
const APPLY_TIMEOUT_MS = 1000;

interface AppliedWaiter {
  index: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** etcd's minimum lease TTL in seconds: ceil(⌊3 × election ticks / 2⌋ × heartbeat interval). */
export function minLeaseTtl(heartbeatMs: number, electionTicks: number): number {
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}

export class LeaseHost {
  readonly lessor: Lessor;
  /** Hands keep-alives and TimeToLive to the leader when this member is not it (replaceable). */
  forwarder: LeaseForwarder | null;
  private readonly loop: ExpiryLoop;
  private waiters: AppliedWaiter[] = [];
  private readonly unsubscribe: () => void;
  private stopped = false;

  private readonly s: LeaderState;
  private readonly progress: ApplyProgress;

  constructor(
    d: LeaseHostDeps,
    private readonly o: LeaseHostOptions,
  ) {
    this.s = d.leader;
    this.progress = d.progress;
    const propose = (kind: RequestKind, body: Uint8Array) => d.proposer.propose(kind, body);
    const cp = o.checkpoint ?? null;
    this.lessor = new Lessor({
      backend: d.backend,
      store: d.store,
      minTtl: minLeaseTtl(o.heartbeatMs, o.electionTicks),
      expiredRetryMs: o.requestTimeoutMs,
      logger: d.logger,
      ...(d.counters ? { counters: d.counters } : {}),
      ...(cp
        ? {
            checkpoint: {
              persist: cp.persist,
              intervalMs: cp.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
              propose: (cps) => propose(RequestKind.LeaseCheckpoint, encodeCheckpoints(cps)),
            },
          }
        : {}),
    });
    this.loop = new ExpiryLoop({
      lessor: this.lessor,
      revoke: (id) =>
        propose(RequestKind.LeaseRevoke, encodeMessage(etcdserverpb.LeaseRevokeRequest, { ID: id })).then((r) => {
          if (d.counters) d.counters.expired++;
          return r;
        }),
      checkpoint: (cps) => propose(RequestKind.LeaseCheckpoint, encodeCheckpoints(cps)),
      checkpointing: cp !== null,
      logger: d.logger,
      tickMs: o.tickMs ?? 500,
    });
    this.loop.start();
    this.forwarder = peerLeaseForwarder(d.routes, this, o.requestTimeoutMs);
    this.unsubscribe = d.leader.onLeaderChange((_lead, isLeader) => {
      if (!isLeader && this.lessor.isPrimary) this.lessor.demote();
    });
  }

  /**
   * Called after every batch of committed entries is applied: wakes requests waiting for the
   * applied index, and promotes the lessor once the leader applied the empty entry of its own term
   * (all entries of earlier terms are applied by then), extending every lease by an election timeout.
   */
  afterApply(entries: readonly Entry[]): void {
    if (this.waiters.length > 0) this.wakeWaiters();
    if (this.lessor.isPrimary || !this.s.isLeader || entries.length === 0) return;
    let term = -1;
    for (const e of entries) {
      if (e.type !== EntryType.Normal || e.data.length !== 0) continue;
      if (term < 0) term = this.s.term;
      if (e.term === term) {
        this.lessor.promote(this.o.electionTicks * this.o.heartbeatMs);
        return;
      }
    }
  }

  /** Renews a lease (LeaseKeepAlive). Resolves with its TTL; throws LeaseNotFoundError if unknown. */
  renew(id: bigint): number | Promise<number> {
    if (this.s.isLeader && this.applied()) {
      try {
        const r = this.lessor.renew(id);
        return typeof r === 'number'
          ? r
          : r.catch((e: unknown) => this.retryUnlessFinal(e, () => this.routed(id, 'renew')));
      } catch (e) {
        if (!(e instanceof NotPrimaryError)) throw e;
      }
    }
    return this.routed(id, 'renew');
  }

  /** TimeToLive at the leader. Throws LeaseNotFoundError if the lease is unknown. */
  timeToLive(id: bigint, keys: boolean): LeaseTimeToLive | Promise<LeaseTimeToLive> {
    if (this.s.isLeader && this.applied()) return this.timeToLiveHere(id, keys);
    return this.routed(id, 'ttl', keys);
  }

  /** The leader side of a forwarded renewal (etcd's leasehttp handler). */
  async renewAsLeader(id: bigint): Promise<number> {
    await this.waitApplied();
    return this.lessor.renew(id);
  }

  /** The leader side of a forwarded TimeToLive. */
  async timeToLiveAsLeader(id: bigint, keys: boolean): Promise<LeaseTimeToLive> {
    await this.waitApplied();
    return this.timeToLiveHere(id, keys);
  }

  /** The election timeout in ms (heartbeat interval × election ticks). */
  get electionTimeoutMs(): number {
    return this.o.electionTicks * this.o.heartbeatMs;
  }

  /** Revocations in flight (for tests and metrics). */
  get pendingRevokes(): number {
    return this.loop.pending;
  }

  /** Runs one expiry scan now (tests). */
  scanExpired(): void {
    this.loop.tick();
  }

  stop(): void {
    this.stopped = true;
    this.loop.stop();
    this.unsubscribe();
    this.lessor.close();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(etcdError('Stopped'));
    }
  }

  private timeToLiveHere(id: bigint, keys: boolean): LeaseTimeToLive {
    const l = this.lessor.lookup(id);
    if (!l) throw new LeaseNotFoundError();
    return { id, ttl: Math.trunc(l.remainingMs() / 1000), grantedTtl: l.ttl, keys: keys ? l.sortedKeys() : [] };
  }

  private retryUnlessFinal<T>(e: unknown, retry: () => Promise<T>): Promise<T> {
    if (e instanceof NotPrimaryError) return retry();
    throw e;
  }

  /**
   * The slow path, until the request timeout: on the leader, wait for the applied index and for
   * the lessor to be promoted; elsewhere, wait for a leader and forward to it.
   */
  private routed(id: bigint, what: 'renew', keys?: boolean): Promise<number>;
  private routed(id: bigint, what: 'ttl', keys: boolean): Promise<LeaseTimeToLive>;
  private async routed(id: bigint, what: 'renew' | 'ttl', keys = false): Promise<number | LeaseTimeToLive> {
    const s = this.s;
    const deadline = Date.now() + this.o.requestTimeoutMs;
    while (!this.stopped && Date.now() < deadline) {
      if (s.isLeader) {
        try {
          return what === 'renew' ? await this.renewAsLeader(id) : await this.timeToLiveAsLeader(id, keys);
        } catch (e) {
          if (!(e instanceof NotPrimaryError)) throw e;
        }
        await sleep(this.o.heartbeatMs);
        continue;
      }
      const lead = s.leader;
      if (lead === 0n || lead === s.memberId || !this.forwarder) {
        await Promise.race([s.waitLeader(), sleep(this.o.heartbeatMs)]);
        if (lead !== 0n) await sleep(this.o.heartbeatMs);
        continue;
      }
      try {
        return what === 'renew'
          ? await this.forwarder.renew(lead, id)
          : await this.forwarder.timeToLive(lead, id, keys);
      } catch (e) {
        if (e instanceof LeaseNotFoundError) throw e;
        await sleep(Math.min(this.o.heartbeatMs, 50));
      }
    }
    throw etcdError(this.stopped ? 'Stopped' : 'Timeout');
  }

  private applied(): boolean {
    return this.progress.appliedIndex >= this.progress.committedIndex;
  }

  /** Resolves once everything committed when called has been applied here (etcd's ApplyWait). */
  private waitApplied(): Promise<void> {
    const index = this.progress.committedIndex;
    if (this.progress.appliedIndex >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: AppliedWaiter = {
        index,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(etcdError('TimeoutWaitAppliedIndex'));
        }, APPLY_TIMEOUT_MS),
      };
      w.timer.unref();
      this.waiters.push(w);
    });
  }

  private wakeWaiters(): void {
    const applied = this.progress.appliedIndex;
    const keep: AppliedWaiter[] = [];
    for (const w of this.waiters) {
      if (w.index <= applied) {
        clearTimeout(w.timer);
        w.resolve();
      } else {
        keep.push(w);
      }
    }
    this.waiters = keep;
  }
}
