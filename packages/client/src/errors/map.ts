// Maps a gRPC status (code + details) to a typed error. etcd's own errors are recognised by their
// exact message, as etcd's Go client does; anything else gets the class of its gRPC code.

import { GRPC_CODE_NAMES, GrpcCode, etcdErrorByMessage } from '@conclave/api';
import * as E from './base.js';
import { ETCD_ERROR_CLASSES, EXTRA_MESSAGES, RequestTooLargeError } from './etcd.js';

const BY_GRPC_CODE: Record<number, { cls: E.ErrorClass; code: string; retriable: boolean }> = {
  [GrpcCode.CANCELLED]: { cls: E.CanceledError, code: 'Canceled', retriable: false },
  [GrpcCode.UNKNOWN]: { cls: E.UnknownError, code: 'Unknown', retriable: false },
  [GrpcCode.INVALID_ARGUMENT]: { cls: E.InvalidArgumentError, code: 'InvalidArgument', retriable: false },
  [GrpcCode.DEADLINE_EXCEEDED]: { cls: E.DeadlineExceededError, code: 'DeadlineExceeded', retriable: true },
  [GrpcCode.NOT_FOUND]: { cls: E.NotFoundError, code: 'NotFound', retriable: false },
  [GrpcCode.ALREADY_EXISTS]: { cls: E.FailedPreconditionError, code: 'AlreadyExists', retriable: false },
  [GrpcCode.PERMISSION_DENIED]: { cls: E.PermissionDeniedError, code: 'PermissionDenied', retriable: false },
  [GrpcCode.RESOURCE_EXHAUSTED]: { cls: E.ResourceExhaustedError, code: 'ResourceExhausted', retriable: false },
  [GrpcCode.FAILED_PRECONDITION]: { cls: E.FailedPreconditionError, code: 'FailedPrecondition', retriable: false },
  [GrpcCode.ABORTED]: { cls: E.UnknownError, code: 'Aborted', retriable: true },
  [GrpcCode.OUT_OF_RANGE]: { cls: E.OutOfRangeError, code: 'OutOfRange', retriable: false },
  [GrpcCode.UNIMPLEMENTED]: { cls: E.UnimplementedError, code: 'Unimplemented', retriable: false },
  [GrpcCode.INTERNAL]: { cls: E.InternalError, code: 'Internal', retriable: false },
  [GrpcCode.UNAVAILABLE]: { cls: E.UnavailableError, code: 'Unavailable', retriable: true },
  [GrpcCode.DATA_LOSS]: { cls: E.DataLossError, code: 'DataLoss', retriable: false },
  [GrpcCode.UNAUTHENTICATED]: { cls: E.UnauthenticatedError, code: 'Unauthenticated', retriable: false },
};

/** Strips the "rpc error: code = X desc = " wrapper Go puts around a status in some texts (watch cancel reasons). */
export function statusMessage(text: string): string {
  const m = /^rpc error: code = \w+ desc = (.*)$/s.exec(text);
  return m ? m[1]! : text;
}

export interface StatusLike {
  code: number;
  details: string;
}

/** The typed error for a gRPC status. */
export function errorFromStatus(status: StatusLike, endpoint?: string, cause?: unknown): E.ConclaveError {
  const details = statusMessage(status.details ?? '');
  const name = etcdErrorByMessage(details);
  const where = endpoint ? ` (${endpoint})` : '';
  if (name) {
    const { cls, retriable } = ETCD_ERROR_CLASSES[name];
    return new cls({ message: details + where, code: name, retriable, grpcCode: status.code, endpoint, cause });
  }
  const extra = EXTRA_MESSAGES[details];
  if (extra)
    return new extra.cls({
      message: details + where,
      code: extra.code,
      retriable: extra.retriable,
      grpcCode: status.code,
      endpoint,
      cause,
    });
  if (status.code === GrpcCode.RESOURCE_EXHAUSTED && /message larger than max/.test(details)) {
    return new RequestTooLargeError({
      message: details + where,
      code: 'RequestTooLarge',
      retriable: false,
      grpcCode: status.code,
      endpoint,
      cause,
    });
  }
  const c = BY_GRPC_CODE[status.code] ?? BY_GRPC_CODE[GrpcCode.UNKNOWN]!;
  const codeName = GRPC_CODE_NAMES[status.code] ?? String(status.code);
  return new c.cls({
    message: `${codeName}: ${details || 'no details'}${where}`,
    code: c.code,
    retriable: c.retriable,
    grpcCode: status.code,
    endpoint,
    cause,
  });
}

/** Wraps anything thrown into a E.ConclaveError (ConclaveErrors pass through). */
export function toConclaveError(err: unknown, endpoint?: string): E.ConclaveError {
  if (err instanceof E.ConclaveError) return err;
  if (err && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'number' && 'details' in err) {
    return errorFromStatus(err as StatusLike, endpoint, err);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new E.UnknownError({ message, code: 'Unknown', retriable: false, cause: err, endpoint });
}
