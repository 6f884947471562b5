// A class for each of etcd's errors (packages/api's error table), grouped under the gRPC category
// they travel as. `code` is the table's stable name (etcd's rpctypes name without "ErrGRPC").

import type { EtcdErrorName } from '@conclave/api';
import {
  CanceledError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  UnknownError,
  type ErrorClass,
  type ErrorInit,
} from './base.js';

// INVALID_ARGUMENT
export class EmptyKeyError extends InvalidArgumentError {}
export class KeyNotFoundError extends InvalidArgumentError {}
export class ValueProvidedError extends InvalidArgumentError {}
export class LeaseProvidedError extends InvalidArgumentError {}
export class TooManyOpsError extends InvalidArgumentError {}
export class DuplicateKeyError extends InvalidArgumentError {}
export class InvalidSortOptionError extends InvalidArgumentError {}
export class RequestTooLargeError extends InvalidArgumentError {}
export class UserEmptyError extends InvalidArgumentError {}
export class RoleEmptyError extends InvalidArgumentError {}
export class AuthFailedError extends InvalidArgumentError {}
export class PermissionNotGivenError extends InvalidArgumentError {}
export class InvalidAuthManagementError extends InvalidArgumentError {}
/** The auth store changed while the request was checked; the request was not applied. Retriable. */
export class AuthOldRevisionError extends InvalidArgumentError {}
export class MemberBadURLsError extends InvalidArgumentError {}

// OUT_OF_RANGE
/** The requested revision has been compacted. From a watch, `compactRevision` is the compacted revision. */
export class CompactedError extends OutOfRangeError {
  compactRevision: bigint | undefined;
  constructor(init: ErrorInit, compactRevision?: bigint) {
    super(init);
    this.compactRevision = compactRevision;
  }
}
export class FutureRevisionError extends OutOfRangeError {}
export class LeaseTTLTooLargeError extends OutOfRangeError {}

// RESOURCE_EXHAUSTED
export class NoSpaceError extends ResourceExhaustedError {}
/** The server is overloaded (apply lags commit). Retriable. */
export class TooManyRequestsError extends ResourceExhaustedError {}

// NOT_FOUND
export class LeaseNotFoundError extends NotFoundError {}
export class MemberNotFoundError extends NotFoundError {}

// FAILED_PRECONDITION
export class LeaseExistsError extends FailedPreconditionError {}
export class MemberExistsError extends FailedPreconditionError {}
export class PeerURLExistsError extends FailedPreconditionError {}
export class MemberNotEnoughStartedError extends FailedPreconditionError {}
export class MemberNotLearnerError extends FailedPreconditionError {}
export class LearnerNotReadyError extends FailedPreconditionError {}
export class TooManyLearnersError extends FailedPreconditionError {}
export class NotLeaderError extends FailedPreconditionError {}
export class BadLeaderTransfereeError extends FailedPreconditionError {}
export class RootUserNotExistError extends FailedPreconditionError {}
export class RootRoleNotExistError extends FailedPreconditionError {}
export class UserAlreadyExistsError extends FailedPreconditionError {}
export class UserNotFoundError extends FailedPreconditionError {}
export class RoleAlreadyExistsError extends FailedPreconditionError {}
export class RoleNotFoundError extends FailedPreconditionError {}
export class RoleNotGrantedError extends FailedPreconditionError {}
export class PermissionNotGrantedError extends FailedPreconditionError {}
export class AuthNotEnabledError extends FailedPreconditionError {}

// UNAUTHENTICATED
/** The auth token expired or is unknown. The client re-authenticates and retries on its own when it holds credentials. */
export class InvalidAuthTokenError extends UnauthenticatedError {}

// UNAVAILABLE (all retriable)
export class NoLeaderError extends UnavailableError {}
export class LeaderChangedError extends UnavailableError {}
export class NotCapableError extends UnavailableError {}
export class StoppedError extends UnavailableError {}
/** "etcdserver: request timed out" and its variants (the `code` names which one). */
export class RequestTimeoutError extends UnavailableError {}
export class UnhealthyClusterError extends UnavailableError {}
export class NotSupportedForLearnerError extends UnavailableError {}

// DATA_LOSS
export class CorruptError extends DataLossError {}

// CANCELLED
export class WatchCanceledError extends CanceledError {}

// UNKNOWN (v3electionpb errors travel as plain errors)
export class ElectionNotLeaderError extends UnknownError {}
export class ElectionNoLeaderError extends UnknownError {}
export class ElectionMissingLeaderKeyError extends UnknownError {}
/**
 * "raft proposal dropped": etcd dropped the proposal before it entered the Raft log (no leader, or a
 * leader transfer in progress), so it was not applied. Retriable; sent as UNKNOWN by etcd.
 */
export class ProposalDroppedError extends UnknownError {}

/** The class and retriability of each entry of etcd's error table. */
export const ETCD_ERROR_CLASSES: Record<EtcdErrorName, { cls: ErrorClass; retriable: boolean }> = {
  EmptyKey: { cls: EmptyKeyError, retriable: false },
  KeyNotFound: { cls: KeyNotFoundError, retriable: false },
  ValueProvided: { cls: ValueProvidedError, retriable: false },
  LeaseProvided: { cls: LeaseProvidedError, retriable: false },
  TooManyOps: { cls: TooManyOpsError, retriable: false },
  DuplicateKey: { cls: DuplicateKeyError, retriable: false },
  InvalidSortOption: { cls: InvalidSortOptionError, retriable: false },
  Compacted: { cls: CompactedError, retriable: false },
  FutureRev: { cls: FutureRevisionError, retriable: false },
  NoSpace: { cls: NoSpaceError, retriable: false },
  LeaseNotFound: { cls: LeaseNotFoundError, retriable: false },
  LeaseExist: { cls: LeaseExistsError, retriable: false },
  LeaseTTLTooLarge: { cls: LeaseTTLTooLargeError, retriable: false },
  WatchCanceled: { cls: WatchCanceledError, retriable: false },
  MemberExist: { cls: MemberExistsError, retriable: false },
  PeerURLExist: { cls: PeerURLExistsError, retriable: false },
  MemberNotEnoughStarted: { cls: MemberNotEnoughStartedError, retriable: true },
  MemberBadURLs: { cls: MemberBadURLsError, retriable: false },
  MemberNotFound: { cls: MemberNotFoundError, retriable: false },
  MemberNotLearner: { cls: MemberNotLearnerError, retriable: false },
  LearnerNotReady: { cls: LearnerNotReadyError, retriable: true },
  TooManyLearners: { cls: TooManyLearnersError, retriable: false },
  RequestTooLarge: { cls: RequestTooLargeError, retriable: false },
  TooManyRequests: { cls: TooManyRequestsError, retriable: true },
  RootUserNotExist: { cls: RootUserNotExistError, retriable: false },
  RootRoleNotExist: { cls: RootRoleNotExistError, retriable: false },
  UserAlreadyExist: { cls: UserAlreadyExistsError, retriable: false },
  UserEmpty: { cls: UserEmptyError, retriable: false },
  UserNotFound: { cls: UserNotFoundError, retriable: false },
  RoleAlreadyExist: { cls: RoleAlreadyExistsError, retriable: false },
  RoleNotFound: { cls: RoleNotFoundError, retriable: false },
  RoleEmpty: { cls: RoleEmptyError, retriable: false },
  AuthFailed: { cls: AuthFailedError, retriable: false },
  PermissionNotGiven: { cls: PermissionNotGivenError, retriable: false },
  PermissionDenied: { cls: PermissionDeniedError, retriable: false },
  RoleNotGranted: { cls: RoleNotGrantedError, retriable: false },
  PermissionNotGranted: { cls: PermissionNotGrantedError, retriable: false },
  AuthNotEnabled: { cls: AuthNotEnabledError, retriable: false },
  InvalidAuthToken: { cls: InvalidAuthTokenError, retriable: true },
  InvalidAuthMgmt: { cls: InvalidAuthManagementError, retriable: false },
  AuthOldRevision: { cls: AuthOldRevisionError, retriable: true },
  NoLeader: { cls: NoLeaderError, retriable: true },
  NotLeader: { cls: NotLeaderError, retriable: true },
  LeaderChanged: { cls: LeaderChangedError, retriable: true },
  NotCapable: { cls: NotCapableError, retriable: true },
  Stopped: { cls: StoppedError, retriable: true },
  Timeout: { cls: RequestTimeoutError, retriable: true },
  TimeoutDueToLeaderFail: { cls: RequestTimeoutError, retriable: true },
  TimeoutDueToConnectionLost: { cls: RequestTimeoutError, retriable: true },
  TimeoutWaitAppliedIndex: { cls: RequestTimeoutError, retriable: true },
  TimeoutLeaderTransfer: { cls: RequestTimeoutError, retriable: true },
  Unhealthy: { cls: UnhealthyClusterError, retriable: true },
  Corrupt: { cls: CorruptError, retriable: false },
  NotSupportedForLearner: { cls: NotSupportedForLearnerError, retriable: true },
  BadLeaderTransferee: { cls: BadLeaderTransfereeError, retriable: false },
  ElectionNotLeader: { cls: ElectionNotLeaderError, retriable: false },
  ElectionNoLeader: { cls: ElectionNoLeaderError, retriable: false },
  ElectionMissingLeaderKey: { cls: ElectionMissingLeaderKeyError, retriable: false },
};

/** Messages etcd sends that are not in the wire table (plain Go errors, sent as UNKNOWN). */
export const EXTRA_MESSAGES: Record<string, { code: string; cls: ErrorClass; retriable: boolean }> = {
  'raft proposal dropped': { code: 'ProposalDropped', cls: ProposalDroppedError, retriable: true },
};
