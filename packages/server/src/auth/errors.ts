// Auth errors as etcd 3.4 sends them outside the mapped error table: the Maintenance service
// returns the auth package's errors unmapped (gRPC UNKNOWN, "auth: permission denied"), a user
// without password trying to authenticate gets "auth: authentication failed, password was given
// for no password user", and a refused watch reports the gRPC error text of Go's status package
// in its cancel_reason. (Not in @conclave/api's table: etcd's clients do not map them either.)

import { GrpcCode, GrpcStatusError } from '@conclave/api';

export const NO_PASSWORD_USER_MESSAGE = 'auth: authentication failed, password was given for no password user';

export function noPasswordUserError(): GrpcStatusError {
  return new GrpcStatusError(GrpcCode.UNKNOWN, NO_PASSWORD_USER_MESSAGE);
}

/** The auth package's own error behind a mapped one ("etcdserver: permission denied" → UNKNOWN "auth: permission denied"). */
export function unmappedAuthError(err: unknown): unknown {
  if (!(err instanceof GrpcStatusError) || !err.message.startsWith('etcdserver: ')) return err;
  return new GrpcStatusError(GrpcCode.UNKNOWN, `auth: ${err.message.slice('etcdserver: '.length)}`, { cause: err });
}

const GO_CODE_NAMES: Record<number, string> = {
  [GrpcCode.OK]: 'OK',
  [GrpcCode.CANCELLED]: 'Canceled',
  [GrpcCode.UNKNOWN]: 'Unknown',
  [GrpcCode.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcCode.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [GrpcCode.NOT_FOUND]: 'NotFound',
  [GrpcCode.ALREADY_EXISTS]: 'AlreadyExists',
  [GrpcCode.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcCode.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [GrpcCode.FAILED_PRECONDITION]: 'FailedPrecondition',
  [GrpcCode.ABORTED]: 'Aborted',
  [GrpcCode.OUT_OF_RANGE]: 'OutOfRange',
  [GrpcCode.UNIMPLEMENTED]: 'Unimplemented',
  [GrpcCode.INTERNAL]: 'Internal',
  [GrpcCode.UNAVAILABLE]: 'Unavailable',
  [GrpcCode.DATA_LOSS]: 'DataLoss',
  [GrpcCode.UNAUTHENTICATED]: 'Unauthenticated',
};

/** Go's status error text: "rpc error: code = PermissionDenied desc = etcdserver: permission denied". */
export function goStatusText(err: unknown): string {
  if (err instanceof GrpcStatusError)
    return `rpc error: code = ${GO_CODE_NAMES[err.code] ?? 'Unknown'} desc = ${err.message}`;
  return `rpc error: code = Unknown desc = ${err instanceof Error ? err.message : String(err)}`;
}
