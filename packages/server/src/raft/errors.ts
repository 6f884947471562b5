// Errors raised by the Raft core and its storage. All extend RaftError so a caller can tell them
// apart from programming errors; each has a stable `code`.

export class RaftError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a proposal (or a read, or a configuration change) was not accepted. */
export type DropReason =
  | 'no-leader'
  | 'leader-transfer-in-progress'
  | 'proposal-forwarding-disabled'
  | 'not-a-member'
  | 'too-many-uncommitted-entries'
  | 'conf-change-pending'
  | 'invalid-conf-change';

const DROP_MESSAGES: Record<DropReason, string> = {
  'no-leader': 'there is no leader',
  'leader-transfer-in-progress': 'a leadership transfer is in progress',
  'proposal-forwarding-disabled': 'this node is not the leader and proposal forwarding is disabled',
  'not-a-member': 'this leader has been removed from the configuration',
  'too-many-uncommitted-entries': 'too many uncommitted entries',
  'conf-change-pending': 'a configuration change is already pending',
  'invalid-conf-change': 'the configuration change is not valid',
};

/**
 * Thrown synchronously by propose(), proposeConfChange() and readIndex() when the request cannot be
 * accepted now. Nothing was appended; the caller may retry later (e.g. once a leader is known).
 */
export class ProposalDroppedError extends RaftError {
  readonly reason: DropReason;
  constructor(reason: DropReason, detail?: string) {
    super('ProposalDropped', `raft proposal dropped: ${DROP_MESSAGES[reason]}${detail ? ` (${detail})` : ''}`);
    this.reason = reason;
  }
}

/**
 * A condition of the log storage (etcd-io/raft's ErrCompacted, ErrUnavailable, …): each subclass has
 * its code and default message in STORAGE_ERRORS; a thrower may give a more precise message.
 */
export abstract class StorageError extends RaftError {
  constructor(message?: string) {
    const [code, defaultMessage] = STORAGE_ERRORS.get(new.target)!;
    super(code, message ?? defaultMessage);
  }
}

/** The requested index precedes the first index of the log (it was compacted into a snapshot). */
export class CompactedError extends StorageError {}

/** The requested index is past the last index of the log. */
export class UnavailableError extends StorageError {}

/** A snapshot older than the one already held was applied or created. */
export class SnapshotOutOfDateError extends StorageError {}

/** Storage.snapshot() cannot produce a snapshot right now; Raft retries later. */
export class SnapshotTemporarilyUnavailableError extends StorageError {}

const STORAGE_ERRORS = new Map<typeof StorageError, [code: string, defaultMessage: string]>([
  [CompactedError, ['Compacted', 'requested index is unavailable due to compaction']],
  [UnavailableError, ['Unavailable', 'requested entry at index is unavailable']],
  [SnapshotOutOfDateError, ['SnapshotOutOfDate', 'requested index is older than the existing snapshot']],
  [SnapshotTemporarilyUnavailableError, ['SnapshotTemporarilyUnavailable', 'snapshot is temporarily unavailable']],
]);

/** Invalid Config, or a method called out of its contract (e.g. ready() twice without advance()). */
export class RaftUsageError extends RaftError {
  constructor(message: string) {
    super('Usage', message);
  }
}
