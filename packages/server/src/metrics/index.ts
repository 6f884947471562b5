// metrics/ — one member's Prometheus metrics with etcd's family names, types, help texts, labels and
// buckets (see docs/metrics.md): a registry per member, counters the serving path bumps, and the
// views read at scrape time.

export { MemberMetrics, type MemberMetricsOptions, type MemberSources } from './member-metrics.js';
export type { MemberView, ServerCounters } from './server.js';
export type { MvccView, WatchCounters, WatchView } from './mvcc.js';
export type { DiskView, SnapObserver } from './disk.js';
export type { NetworkView } from './network.js';
export type { GrpcFamilies } from './grpc.js';
