// What the service handlers are given (the member's ports, as etcd's v3rpc layer sees RaftKV,
// Lessor and Authenticator rather than the whole server), limits from the config, and helpers for
// response headers and etcd's interceptors (hasleader).

import type { SlowApplyWarner } from '../apply/slow-apply.js';
import { etcdError, type etcdserverpb, type PartialMessage } from '@conclave/api';
import type { RequestKind } from '../etcdserver/raft-request.js';
import type { AlarmStore } from '../etcdserver/alarms.js';
import type { DowngradeStore } from '../cluster-version/index.js';
import type { ClusterControl, ForwardRoutes, MemberStatus, Proposer, ReadBarrier } from '../etcdserver/ports.js';
import type { Auth } from '../auth/index.js';
import type { LeaseHost } from '../lease/index.js';
import type { MemberMetrics } from '../metrics/index.js';
import type { MvccStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import type { CallContext } from '../grpc/call.js';

export interface ServiceContext {
  /** Who this member is, who leads, how far it applied (headers, hasleader, learners, Status). */
  member: MemberStatus;
  /** Writes go through Raft. */
  proposer: Proposer;
  /** Linearizable reads wait for a ReadIndex round. */
  reads: ReadBarrier;
  store: MvccStore;
  backend: Backend;
  /** Membership changes and leadership transfer. */
  cluster: ClusterControl;
  /** Requests only the leader answers (learner promotion). */
  routes: ForwardRoutes;
  leases: LeaseHost;
  auth: Auth;
  alarms: AlarmStore;
  /** The cluster's downgrade job (Maintenance.Downgrade, Status.downgradeInfo). */
  downgrade: DowngradeStore;
  /** The cluster version this member knows ("3.5.0"), '' before one is set. */
  clusterVersion(): string;
  metrics: MemberMetrics;
  /** etcd's request ID generator (lease IDs are drawn from it). */
  nextId(): bigint;
  maxTxnOps: number;
  maxRequestBytes: number;
  /** The version the member reports (etcd's server version). */
  version: string;
  /** --strict-reconfig-check: refuse membership changes that would lose quorum. */
  strictReconfigCheck?: boolean;
  /** --experimental-watch-progress-notify-interval in ms (default 10 min; etcd's minimum is 100 ms). */
  watchProgressNotifyIntervalMs?: number;
  /** etcd's "apply request took too long" warning, for read-only ranges too. */
  slowApply?: SlowApplyWarner;
  /** --quota-backend-bytes as the member applies it (null: no quota), for Status.dbSizeQuota. */
  quotaBackendBytes?: number | null;
  /** etcd's request timeout (5 s + 2 election timeouts), which MemberPromote waits for a leader within. */
  requestTimeoutMs?: number;
}

/** etcd's request timeout at its default election timeout (1 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 7000;

/** A response header for this member at `revision` (etcd fills cluster, member and term at the edge). */
export function header(ctx: ServiceContext, revision: number | bigint): PartialMessage<etcdserverpb.ResponseHeader> {
  const m = ctx.member;
  return { clusterId: m.clusterId, memberId: m.memberId, revision, raftTerm: m.term };
}

/** Proposes the encoded request as the caller (its auth identity), withdrawn if the call ends first; its apply outcome. */
export async function proposeAsCaller<T>(
  ctx: ServiceContext,
  call: CallContext,
  kind: RequestKind,
  body: Uint8Array,
): Promise<T> {
  const who = await ctx.auth.proposeOptions(call);
  return ctx.proposer.propose<T>(kind, body, { ...who, cancel: call });
}

/** etcd's hasleader interceptor: with `hasleader: true` metadata, fail at once when there is no leader. */
export function requireLeaderIfAsked(ctx: ServiceContext, call: CallContext): void {
  if (call.metadata('hasleader') === 'true' && ctx.member.leader === 0n) throw etcdError('NoLeader');
}
