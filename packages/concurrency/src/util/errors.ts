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

/**
 * A release (`unlock`, `rUnlock`, `release`, `resign`) of something not held, or a getter
 * (`fencingToken`, `signal`, …) read before the first acquisition.
 */
export class NotHeldError extends ConclaveError {
  constructor(what: string) {
    super({ message: `${what} is not held`, code: 'NotHeld', retriable: false });
  }
}

/** Thrown when the contender's own key disappeared while it waited and its lease still exists (deleted by someone else). */
export class KeyDeletedError extends ConclaveError {
  constructor(readonly key: string) {
    super({ message: `${key} was deleted while waiting (by another client)`, code: 'KeyDeleted', retriable: false });
  }
}

/**
 * Why a hold (a lock, a read or write hold, a permit, a leadership) ended:
 * - `unlocked`: released by its owner (`unlock`, `rUnlock`, `release`);
 * - `resigned`: the leader stepped down (`resign`);
 * - `session-lost`: the session ended (`cause` is its SessionExpiredError or SessionClosedError);
 * - `key-deleted`: someone else deleted the hold's key (or changed it: a failed `proclaim`).
 */
export type ReleaseReason = 'unlocked' | 'resigned' | 'session-lost' | 'key-deleted';

/**
 * The reason a holder's `signal` aborts with when its hold ends. `reason` says why; on a session
 * loss, `cause` is the session's end (SessionExpiredError / SessionClosedError).
 */
export class ReleasedError extends ConclaveError {
  constructor(
    readonly reason: ReleaseReason,
    /** What was held: "mutex", "rwmutex read hold", "semaphore permit", "leadership". */
    readonly what: string,
    cause?: unknown,
  ) {
    super({ message: releasedMessage(reason, what, cause), code: 'Released', retriable: false, cause });
  }
}

function releasedMessage(reason: ReleaseReason, what: string, cause: unknown): string {
  switch (reason) {
    case 'unlocked':
      return `${what} released by its owner`;
    case 'resigned':
      return `${what} resigned`;
    case 'session-lost':
      return `${what} lost: ${cause instanceof Error ? cause.message : 'the session ended'}`;
    case 'key-deleted':
      return `${what} lost: its key was deleted or replaced by another client`;
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
