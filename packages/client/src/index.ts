/**
 * @conclave/client — a TypeScript client for etcd v3 clusters (Conclave or etcd itself), over
 * @grpc/grpc-js: KV with transactions and pagination, watches that resume without gaps, leases kept
 * alive across failures, Cluster / Maintenance / Auth, namespaces, a pool of per-endpoint
 * connections with round-robin balancing and circuit breaking, and retries that never repeat a
 * write that may have been applied. Every call takes { signal, timeoutMs }; every error is typed.
 *
 * @module @conclave/client
 */

export { Client, type ClientOptions } from './client.js';
export { KeySpace, type KeyRange, type GetOptions, type PaginateOptions } from './kv/keyspace.js';
export { KeyValue } from './kv/key-value.js';
export type {
  RangeQuery,
  PutQuery,
  DeleteQuery,
  RangeResult,
  PutResult,
  DeleteResult,
  SortTarget,
  SortOrder,
} from './kv/requests.js';
export { Txn, op, type Op, type OpResult, type TxnResult } from './txn/txn.js';
export { cmp, type Compare, type CompareOperator, type CompareTarget } from './txn/compare.js';
export { Watcher } from './watch/watcher.js';
export type { WatchOptions, WatchEvent, WatchBatch, WatcherEvents } from './watch/types.js';
export { LeaseApi, type Lease, type LeaseTimeToLive } from './lease/lease.js';
export { LeaseKeepAlive, type KeepAliveEvents } from './lease/keepalive.js';
export { ClusterApi, type Member, type MemberList } from './cluster/cluster.js';
export {
  MaintenanceApi,
  type MemberStatus,
  type Alarm,
  type AlarmType,
  type EndpointOption,
} from './maintenance/maintenance.js';
export { AuthApi, type Permission, type PermissionType } from './auth/auth.js';
export type { StatusEvent } from './status/status.js';
export type {
  Logger,
  OpenTelemetryOptions,
  OtelTracer,
  OtelSpan,
  OtelMeter,
  OtelHistogram,
  Attributes,
} from './telemetry/telemetry.js';
export type { TransportKind } from './transport/transport.js';
export type { CallOptions, RetryPolicy } from './rpc/rpc.js';
export type { RpcKind } from './rpc/policy.js';
export type { TlsOptions } from './endpoint/endpoint.js';
export type { CircuitBreakerOptions } from './endpoint/circuit-breaker.js';
export type { Bytes, RangeSpec } from './util/bytes.js';
export * from './errors/base.js';
export {
  EmptyKeyError,
  KeyNotFoundError,
  ValueProvidedError,
  LeaseProvidedError,
  TooManyOpsError,
  DuplicateKeyError,
  InvalidSortOptionError,
  RequestTooLargeError,
  UserEmptyError,
  RoleEmptyError,
  AuthFailedError,
  PermissionNotGivenError,
  InvalidAuthManagementError,
  AuthOldRevisionError,
  MemberBadURLsError,
  CompactedError,
  FutureRevisionError,
  LeaseTTLTooLargeError,
  NoSpaceError,
  TooManyRequestsError,
  LeaseNotFoundError,
  MemberNotFoundError,
  LeaseExistsError,
  MemberExistsError,
  PeerURLExistsError,
  MemberNotEnoughStartedError,
  MemberNotLearnerError,
  LearnerNotReadyError,
  TooManyLearnersError,
  NotLeaderError,
  BadLeaderTransfereeError,
  RootUserNotExistError,
  RootRoleNotExistError,
  UserAlreadyExistsError,
  UserNotFoundError,
  RoleAlreadyExistsError,
  RoleNotFoundError,
  RoleNotGrantedError,
  PermissionNotGrantedError,
  AuthNotEnabledError,
  InvalidAuthTokenError,
  NoLeaderError,
  LeaderChangedError,
  NotCapableError,
  StoppedError,
  RequestTimeoutError,
  UnhealthyClusterError,
  NotSupportedForLearnerError,
  CorruptError,
  WatchCanceledError,
  ElectionNotLeaderError,
  ElectionNoLeaderError,
  ElectionMissingLeaderKeyError,
  ProposalDroppedError,
} from './errors/etcd.js';
