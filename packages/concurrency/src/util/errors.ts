// Errors of the recipes. They extend the client's ConclaveError, so every error a recipe throws has
// a stable `code`, a `retriable` flag and a `cause`, whether it came from the client or the recipe.

import { ConclaveError, ElectionNotLeaderError, type LeaseLostError } from '@conclave/client';

/**
 * The session's lease is gone: the server expired or revoked it, or its TTL passed without a
 * successful renewal (keepalives failing, or stopped by `orphan()`). Everything the session guarded
 * (locks, leadership, registrations) must be treated as lost.
 */
export class SessionExpiredError extends ConclaveError {
  constructor(
    readonly leaseId: bigint,
    /** `expired`: the server answered that the lease is gone; `ttl-elapsed`: no renewal succeeded within its TTL. */
    readonly reason: 'expired' | 'ttl-elapsed',
    cause?: unknown,
  ) {
    super({
      message:
        reason === 'expired'
          ? `session expired: lease ${leaseId.toString(16)} expired or was revoked`
          : `session expired: lease ${leaseId.toString(16)} was not renewed within its TTL`,
      code: 'SessionExpired',
      retriable: false,
      cause,
    });
  }

  /** From the client's keepalive loss. */
  static from(err: LeaseLostError): SessionExpiredError {
    return new SessionExpiredError(err.leaseId, err.reason, err);
  }
}

/** The session was closed (or its `signal` aborted) by its owner. */
export class SessionClosedError extends ConclaveError {
  constructor(
    readonly leaseId: bigint,
    cause?: unknown,
  ) {
    super({
      message: `session closed (lease ${leaseId.toString(16)})`,
      code: 'SessionClosed',
      retriable: false,
      cause,
    });
  }
}

/** `fencingToken` / `isOwner()` / `proclaim` on a lock or election that was never acquired. */
export class NotHeldError extends ConclaveError {
  constructor(what: string) {
    super({ message: `${what} is not held`, code: 'NotHeld', retriable: false });
  }
}

/** `runSTM` gave up after `retries` conflicting attempts. */
export class STMConflictError extends ConclaveError {
  constructor(readonly attempts: number) {
    super({ message: `stm: ${attempts} attempts conflicted with other writers`, code: 'STMConflict', retriable: true });
  }
}

/** DoubleBarrier.enter: more participants than the barrier's count entered. */
export class TooManyClientsError extends ConclaveError {
  constructor(count: number) {
    super({
      message: `double barrier: more than ${count} participants entered`,
      code: 'TooManyClients',
      retriable: false,
    });
  }
}

/** Election: the caller is not (or no longer) the leader — etcd's "election: not leader". */
export function notLeader(): ElectionNotLeaderError {
  return new ElectionNotLeaderError({ message: 'election: not leader', code: 'ElectionNotLeader', retriable: false });
}
