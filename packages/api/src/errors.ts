// The etcd v3 error table: every error etcd's server sends, as gRPC status code + exact message.
// Existing etcd clients map errors back by the exact message text, so the server must send these
// strings verbatim and the client recognises them by the same table.

/** gRPC status codes. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
/** A gRPC status code (a value of {@link GrpcCode}). */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The name of each gRPC status code by number, e.g. 5 → "NOT_FOUND". */
export const GRPC_CODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(GrpcCode).map(([k, v]) => [v, k]),
);

const C = GrpcCode;

/** etcd's errors by a stable name (etcd's rpctypes name without the ErrGRPC prefix). */
export const EtcdErrors = {
  EmptyKey: { code: C.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  KeyNotFound: { code: C.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  ValueProvided: { code: C.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  LeaseProvided: { code: C.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  TooManyOps: { code: C.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  DuplicateKey: { code: C.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  InvalidSortOption: { code: C.INVALID_ARGUMENT, message: 'etcdserver: invalid sort option' },
  Compacted: { code: C.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  FutureRev: { code: C.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  NoSpace: { code: C.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },

  LeaseNotFound: { code: C.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  LeaseExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  LeaseTTLTooLarge: { code: C.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },

  WatchCanceled: { code: C.CANCELLED, message: 'etcdserver: watch canceled' },

  MemberExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  PeerURLExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  MemberNotEnoughStarted: {
    code: C.FAILED_PRECONDITION,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  MemberBadURLs: { code: C.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  MemberNotFound: { code: C.NOT_FOUND, message: 'etcdserver: member not found' },
  MemberNotLearner: { code: C.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  LearnerNotReady: {
    code: C.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  TooManyLearners: { code: C.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },

  RequestTooLarge: { code: C.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  TooManyRequests: { code: C.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },

  RootUserNotExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: root user does not exist' },
  RootRoleNotExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: root user does not have root role' },
  UserAlreadyExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: user name already exists' },
  UserEmpty: { code: C.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  UserNotFound: { code: C.FAILED_PRECONDITION, message: 'etcdserver: user name not found' },
  RoleAlreadyExist: { code: C.FAILED_PRECONDITION, message: 'etcdserver: role name already exists' },
  RoleNotFound: { code: C.FAILED_PRECONDITION, message: 'etcdserver: role name not found' },
  RoleEmpty: { code: C.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  AuthFailed: { code: C.INVALID_ARGUMENT, message: 'etcdserver: authentication failed, invalid user ID or password' },
  PermissionNotGiven: { code: C.INVALID_ARGUMENT, message: 'etcdserver: permission not given' },
  PermissionDenied: { code: C.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  RoleNotGranted: { code: C.FAILED_PRECONDITION, message: 'etcdserver: role is not granted to the user' },
  PermissionNotGranted: { code: C.FAILED_PRECONDITION, message: 'etcdserver: permission is not granted to the role' },
  AuthNotEnabled: { code: C.FAILED_PRECONDITION, message: 'etcdserver: authentication is not enabled' },
  InvalidAuthToken: { code: C.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' },
  InvalidAuthMgmt: { code: C.INVALID_ARGUMENT, message: 'etcdserver: invalid auth management' },
  AuthOldRevision: { code: C.INVALID_ARGUMENT, message: 'etcdserver: revision of auth store is old' },

  NoLeader: { code: C.UNAVAILABLE, message: 'etcdserver: no leader' },
  NotLeader: { code: C.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  LeaderChanged: { code: C.UNAVAILABLE, message: 'etcdserver: leader changed' },
  NotCapable: { code: C.UNAVAILABLE, message: 'etcdserver: not capable' },
  Stopped: { code: C.UNAVAILABLE, message: 'etcdserver: server stopped' },
  Timeout: { code: C.UNAVAILABLE, message: 'etcdserver: request timed out' },
  TimeoutDueToLeaderFail: {
    code: C.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  TimeoutDueToConnectionLost: {
    code: C.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to connection lost',
  },
  TimeoutWaitAppliedIndex: {
    code: C.UNAVAILABLE,
    message: 'etcdserver: request timed out, waiting for the applied index took too long',
  },
  TimeoutLeaderTransfer: {
    code: C.UNAVAILABLE,
    message: 'etcdserver: request timed out, leader transfer took too long',
  },
  Unhealthy: { code: C.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  Corrupt: { code: C.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  NotSupportedForLearner: { code: C.UNAVAILABLE, message: 'etcdserver: rpc not supported for learner' },
  BadLeaderTransferee: { code: C.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },

  // Concurrency services (v3electionpb): plain errors in etcd, so they travel as UNKNOWN.
  ElectionNotLeader: { code: C.UNKNOWN, message: 'election: not leader' },
  ElectionNoLeader: { code: C.UNKNOWN, message: 'election: no leader' },
  ElectionMissingLeaderKey: { code: C.UNKNOWN, message: '"leader" field must be provided' },
} as const satisfies Record<string, { code: GrpcCode; message: string }>;

/** The stable name of one of etcd's errors (a key of {@link EtcdErrors}), e.g. "Compacted". */
export type EtcdErrorName = keyof typeof EtcdErrors;

const byMessage = new Map<string, EtcdErrorName>(
  (Object.keys(EtcdErrors) as EtcdErrorName[]).map((name) => [EtcdErrors[name].message, name]),
);

/** The etcd error a status message denotes, if any (exact message match, as etcd's clients do). */
export function etcdErrorByMessage(message: string): EtcdErrorName | undefined {
  return byMessage.get(message);
}

/** An error carrying a gRPC status; thrown by server code and mapped verbatim onto the wire. */
export class GrpcStatusError extends Error {
  override name = 'GrpcStatusError';
  constructor(
    readonly code: GrpcCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A GrpcStatusError for one of etcd's errors. */
export function etcdError(name: EtcdErrorName, options?: { cause?: unknown }): GrpcStatusError {
  const e = EtcdErrors[name];
  return new GrpcStatusError(e.code, e.message, options);
}
