// etcd's server families (etcd_server_*, etcd_cluster_version, etcd_debugging_server_*): the member's
// Raft and proposal state read at scrape time through a MemberView, and the counters the member bumps.

import type { Registry } from 'prom-client';
import { families } from './scrape.js';

/** What the server families read from the member at scrape time. */
export interface MemberView {
  readonly memberId: bigint;
  /** The leader's ID (0n = none). */
  leader(): bigint;
  isLeader(): boolean;
  isLearner(): boolean;
  committedIndex(): number;
  appliedIndex(): number;
  /** Proposals waiting for their outcome. */
  pendingProposals(): number;
  /** The cluster version once decided ("3.4.0"), else null. */
  clusterVersion(): string | null;
  /** --quota-backend-bytes as enforced (etcd's default when unset). */
  quotaBackendBytes(): number;
  /** Is an incoming snapshot being applied? */
  applyingSnapshot(): boolean;
}

/** Counters the member bumps where the events happen. */
export interface ServerCounters {
  leaderChanges: number;
  proposalsFailed: number;
  heartbeatSendFailures: number;
  slowApplies: number;
  slowReadIndexes: number;
  readIndexesFailed: number;
  learnerPromoteSuccesses: number;
  /** Promotions refused as leader, by reason (etcd_server_learner_promote_failures). */
  readonly learnerPromoteFailures: Map<string, number>;
  healthSuccess: number;
  healthFailures: number;
  /** Client requests by type and client-api-version metadata (etcd_server_client_requests_total). */
  readonly clientRequests: { readonly unary: Map<string, number>; readonly stream: Map<string, number> };
}

export function newServerCounters(): ServerCounters {
  return {
    leaderChanges: 0,
    proposalsFailed: 0,
    heartbeatSendFailures: 0,
    slowApplies: 0,
    slowReadIndexes: 0,
    readIndexesFailed: 0,
    learnerPromoteSuccesses: 0,
    learnerPromoteFailures: new Map(),
    healthSuccess: 0,
    healthFailures: 0,
    clientRequests: { unary: new Map(), stream: new Map() },
  };
}

const flag = (b: boolean): number => (b ? 1 : 0);

export interface ServerFamiliesOptions {
  /** The etcd version this member reports (etcd_server_version). */
  serverVersion: string;
}

const HELP = {
  etcd_server_has_leader: 'Whether or not a leader exists. 1 is existence, 0 is not.',
  etcd_server_is_leader: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
  etcd_server_is_learner: 'Whether or not this member is a learner. 1 if is, 0 otherwise.',
  etcd_server_leader_changes_seen_total: 'The number of leader changes seen.',
  etcd_server_learner_promote_successes:
    'The total number of successful learner promotions while this member is leader.',
  etcd_server_learner_promote_failures:
    'The total number of failed learner promotions (likely learner not ready) while this member is leader.',
  etcd_server_heartbeat_send_failures_total:
    'The total number of leader heartbeat send failures (likely overloaded from slow disk).',
  etcd_server_slow_apply_total: 'The total number of slow apply requests (likely overloaded from slow disk).',
  etcd_server_snapshot_apply_in_progress_total: '1 if the server is applying the incoming snapshot. 0 if none.',
  etcd_server_proposals_committed_total: 'The total number of consensus proposals committed.',
  etcd_server_proposals_applied_total: 'The total number of consensus proposals applied.',
  etcd_server_proposals_pending: 'The current number of pending proposals to commit.',
  etcd_server_proposals_failed_total: 'The total number of failed proposals seen.',
  etcd_server_slow_read_indexes_total:
    "The total number of pending read indexes not in sync with leader's or timed out read index requests.",
  etcd_server_read_indexes_failed_total: 'The total number of failed read indexes seen.',
  etcd_server_quota_backend_bytes: 'Current backend storage quota size in bytes.',
  etcd_server_version: "Which version is running. 1 for 'server_version' label with current version.",
  etcd_server_go_version:
    "Which Go version server is running with. 1 for 'server_go_version' label with current version.",
  etcd_server_id: "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
  etcd_cluster_version: "Which version is running. 1 for 'cluster_version' label with current cluster version",
  etcd_server_health_success: 'The total number of successful health checks',
  etcd_server_health_failures: 'The total number of failed health checks',
  etcd_server_client_requests_total: 'The total number of client requests per client version.',
} as const;

/** Registers the server families; `view()` is null until the member is running. */
export function registerServerFamilies(
  r: Registry,
  c: ServerCounters,
  view: () => MemberView | null,
  opts: ServerFamiliesOptions,
): void {
  const f = families(r, HELP);
  f.gauge('etcd_server_has_leader', () => flag((view()?.leader() ?? 0n) !== 0n));
  f.gauge('etcd_server_is_leader', () => flag(view()?.isLeader() ?? false));
  f.gauge('etcd_server_is_learner', () => flag(view()?.isLearner() ?? false));
  f.counter('etcd_server_leader_changes_seen_total', () => c.leaderChanges);
  f.counter('etcd_server_learner_promote_successes', () => c.learnerPromoteSuccesses);
  f.counterVec('etcd_server_learner_promote_failures', ['Reason'], function* () {
    for (const [reason, n] of c.learnerPromoteFailures) yield [{ Reason: reason }, n];
  });
  f.counter('etcd_server_heartbeat_send_failures_total', () => c.heartbeatSendFailures);
  f.counter('etcd_server_slow_apply_total', () => c.slowApplies);
  f.gauge('etcd_server_snapshot_apply_in_progress_total', () => flag(view()?.applyingSnapshot() ?? false));
  f.gauge('etcd_server_proposals_committed_total', () => view()?.committedIndex() ?? 0);
  f.gauge('etcd_server_proposals_applied_total', () => view()?.appliedIndex() ?? 0);
  f.gauge('etcd_server_proposals_pending', () => view()?.pendingProposals() ?? 0);
  f.counter('etcd_server_proposals_failed_total', () => c.proposalsFailed);
  f.counter('etcd_server_slow_read_indexes_total', () => c.slowReadIndexes);
  f.counter('etcd_server_read_indexes_failed_total', () => c.readIndexesFailed);
  f.gauge('etcd_server_quota_backend_bytes', () => view()?.quotaBackendBytes() ?? 0);
  f.info('etcd_server_version', { server_version: opts.serverVersion });
  f.info('etcd_server_go_version', { server_go_version: process.version });
  f.gaugeVec('etcd_server_id', ['server_id'], () => {
    const m = view();
    return m ? [[{ server_id: m.memberId.toString(16) }, 1]] : [];
  });
  f.gaugeVec('etcd_cluster_version', ['cluster_version'], () => {
    const cv = view()?.clusterVersion();
    return cv ? [[{ cluster_version: cv.split('.').slice(0, 2).join('.') }, 1]] : [];
  });
  f.counter('etcd_server_health_success', () => c.healthSuccess);
  f.counter('etcd_server_health_failures', () => c.healthFailures);
  f.counterVec('etcd_server_client_requests_total', ['type', 'client_api_version'], function* () {
    for (const type of ['unary', 'stream'] as const)
      for (const [version, n] of c.clientRequests[type]) yield [{ type, client_api_version: version }, n];
  });
}
