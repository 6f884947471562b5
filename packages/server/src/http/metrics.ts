// /metrics in Prometheus' text format: the etcd metrics tooling and dashboards look at most,
// computed from the member's state at scrape time, plus the request counters of the gRPC server.

import type { EtcdServer } from '../etcdserver/server.js';

interface Sample {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  value: number;
}

/** Counters updated by the serving path. */
export const counters = {
  leaderChanges: 0,
  proposalsFailed: 0,
  grpcHandled: new Map<string, number>(),
};

export function countGrpc(method: string, code: string): void {
  const k = `${method}\u0000${code}`;
  counters.grpcHandled.set(k, (counters.grpcHandled.get(k) ?? 0) + 1);
}

export function renderMetrics(s: EtcdServer): string {
  const samples: Sample[] = [
    {
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      type: 'gauge',
      value: s.leader !== 0n ? 1 : 0,
    },
    {
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      type: 'gauge',
      value: s.isLeader ? 1 : 0,
    },
    {
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      type: 'counter',
      value: counters.leaderChanges,
    },
    {
      name: 'etcd_server_proposals_committed_total',
      help: 'The total number of consensus proposals committed.',
      type: 'gauge',
      value: s.committedIndex,
    },
    {
      name: 'etcd_server_proposals_applied_total',
      help: 'The total number of consensus proposals applied.',
      type: 'gauge',
      value: s.appliedIndex,
    },
    {
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      type: 'counter',
      value: counters.proposalsFailed,
    },
    {
      name: 'etcd_mvcc_db_total_size_in_bytes',
      help: 'Total size of the underlying database physically allocated in bytes.',
      type: 'gauge',
      value: s.backend.size(),
    },
    {
      name: 'etcd_mvcc_db_total_size_in_use_in_bytes',
      help: 'Total size of the underlying database logically in use in bytes.',
      type: 'gauge',
      value: s.backend.sizeInUse(),
    },
    { name: 'etcd_debugging_mvcc_keys_total', help: 'Total number of keys.', type: 'gauge', value: s.store.keyCount },
    {
      name: 'etcd_debugging_mvcc_current_revision',
      help: 'The current revision of store.',
      type: 'gauge',
      value: s.store.currentRevision,
    },
    {
      name: 'etcd_debugging_mvcc_compact_revision',
      help: 'The revision of the last compaction in store.',
      type: 'gauge',
      value: Math.max(0, s.store.compactRevision),
    },
  ];
  const lines: string[] = [];
  for (const x of samples)
    lines.push(`# HELP ${x.name} ${x.help}`, `# TYPE ${x.name} ${x.type}`, `${x.name} ${x.value}`);
  lines.push(
    '# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.',
  );
  lines.push('# TYPE grpc_server_handled_total counter');
  for (const [k, v] of counters.grpcHandled) {
    const [method, code] = k.split('\u0000') as [string, string];
    const m = /^\/([^/]+)\/(.+)$/.exec(method);
    lines.push(
      `grpc_server_handled_total{grpc_code="${code}",grpc_method="${m?.[2] ?? method}",grpc_service="${m?.[1] ?? ''}",grpc_type="unary"} ${v}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
