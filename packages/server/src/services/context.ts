// What every service handler needs from the member: the EtcdServer, limits from the config, and
// helpers for response headers and etcd's interceptors (hasleader).

import { etcdError, type etcdserverpb, type PartialMessage } from '@conclave/api';
import type { EtcdServer } from '../etcdserver/server.js';
import type { CallContext } from '../transport/call.js';

export interface ServiceContext {
  server: EtcdServer;
  maxTxnOps: number;
  maxRequestBytes: number;
  /** The version the member reports (etcd's server version). */
  version: string;
  /** --strict-reconfig-check: refuse membership changes that would lose quorum. */
  strictReconfigCheck?: boolean;
  /** --experimental-watch-progress-notify-interval in ms (default 10 min; etcd's minimum is 100 ms). */
  watchProgressNotifyIntervalMs?: number;
}

/** A response header for this member at `revision` (etcd fills cluster, member and term at the edge). */
export function header(ctx: ServiceContext, revision: number | bigint): PartialMessage<etcdserverpb.ResponseHeader> {
  const s = ctx.server;
  return { clusterId: s.clusterId, memberId: s.memberId, revision, raftTerm: s.term };
}

/** etcd's hasleader interceptor: with `hasleader: true` metadata, fail at once when there is no leader. */
export function requireLeaderIfAsked(ctx: ServiceContext, call: CallContext): void {
  if (call.metadata('hasleader') === 'true' && ctx.server.leader === 0n) throw etcdError('NoLeader');
}
