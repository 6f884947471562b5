// The root of every error the client throws, and the classes for gRPC status categories and
// client-side conditions. etcd's specific errors (errors/etcd.ts) extend the category classes, so
// `err instanceof UnavailableError` catches every transient unavailability, `NoLeaderError` included.

/** What a ConclaveError is made of (for subclasses and tests). */
export interface ErrorInit {
  message: string;
  /** Stable machine-readable code, e.g. "Compacted", "NoLeader", "Unavailable". */
  code: string;
  retriable: boolean;
  cause?: unknown;
  /** The gRPC status code, when the error came from a gRPC status. */
  grpcCode?: number;
  /** The endpoint ("host:port") the failing attempt went to, when there was one. */
  endpoint?: string;
}

/**
 * Base class of every error thrown by `@conclave/client`.
 *
 * - `code`: stable, machine-readable (etcd's error name such as `Compacted` or `LeaseNotFound`, or a
 *   client condition such as `Unavailable`, `DeadlineExceeded`, `Aborted`, `ClientClosed`).
 * - `retriable`: the condition is transient and the same call may succeed if made again. For a
 *   write this does not say the failed attempt had no effect: a write that failed with a retriable
 *   error after reaching a server may or may not have been applied.
 * - `cause`: the underlying error (for example the raw gRPC status error).
 */
export class ConclaveError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly grpcCode: number | undefined;
  readonly endpoint: string | undefined;

  constructor(init: ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.retriable = init.retriable;
    this.grpcCode = init.grpcCode;
    this.endpoint = init.endpoint;
  }
}

/** A constructor of ConclaveError subclasses (all share ConclaveError's constructor). */
export type ErrorClass = new (init: ErrorInit) => ConclaveError;

// ---- gRPC status categories ----

/** The server or the connection to it is unavailable (gRPC UNAVAILABLE). Retriable. */
export class UnavailableError extends ConclaveError {}
/** The call's deadline passed before it completed. Retriable. */
export class DeadlineExceededError extends ConclaveError {}
/** gRPC INVALID_ARGUMENT. */
export class InvalidArgumentError extends ConclaveError {}
/** gRPC OUT_OF_RANGE. */
export class OutOfRangeError extends ConclaveError {}
/** gRPC NOT_FOUND. */
export class NotFoundError extends ConclaveError {}
/** gRPC FAILED_PRECONDITION. */
export class FailedPreconditionError extends ConclaveError {}
/** gRPC RESOURCE_EXHAUSTED. */
export class ResourceExhaustedError extends ConclaveError {}
/** gRPC UNAUTHENTICATED. */
export class UnauthenticatedError extends ConclaveError {}
/** gRPC PERMISSION_DENIED ("etcdserver: permission denied"). */
export class PermissionDeniedError extends ConclaveError {}
/** gRPC CANCELLED sent by the server. */
export class CanceledError extends ConclaveError {}
/** gRPC UNIMPLEMENTED: the server does not offer this method. */
export class UnimplementedError extends ConclaveError {}
/** gRPC DATA_LOSS. */
export class DataLossError extends ConclaveError {}
/** gRPC INTERNAL. */
export class InternalError extends ConclaveError {}
/** gRPC UNKNOWN and any status without a more specific class. */
export class UnknownError extends ConclaveError {}

// ---- client-side conditions ----

/** The caller's AbortSignal aborted the call; `cause` is the signal's reason. */
export class AbortedError extends ConclaveError {
  constructor(init: ErrorInit) {
    super(init);
    this.name = 'AbortError';
  }
}

/** The client was closed before or during the call. */
export class ClientClosedError extends ConclaveError {}

/** A kept-alive lease was lost: its TTL passed without a successful renewal, or the server no longer knows it. */
export class LeaseLostError extends ConclaveError {
  constructor(
    init: ErrorInit,
    readonly leaseId: bigint,
    /** `expired`: the server answered the lease is gone (TTL 0); `ttl-elapsed`: no renewal succeeded within the TTL. */
    readonly reason: 'expired' | 'ttl-elapsed',
  ) {
    super(init);
  }
}
