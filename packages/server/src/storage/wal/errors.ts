// Typed WAL errors. Each has a stable `code`; corruption errors name the file and byte offset.

export type WalErrorCode =
  | 'WAL_CORRUPT'
  | 'WAL_EXISTS'
  | 'WAL_NOT_FOUND'
  | 'WAL_SNAPSHOT_NOT_FOUND'
  | 'WAL_SNAPSHOT_MISMATCH'
  | 'WAL_CLOSED'
  | 'WAL_FAILED'
  | 'WAL_STATE';

export class WalError extends Error {
  readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WalError';
    this.code = code;
  }
}

/**
 * The log is damaged in a way that is not a torn tail: a bad record in a segment other than the
 * last, a bad record followed by valid data, a missing segment, a gap in the entries, or records
 * that contradict each other. Never repaired automatically: repairing could drop committed data.
 */
export class WalCorruptionError extends WalError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  constructor(file: string, offset: number, reason: string) {
    super('WAL_CORRUPT', `wal: corrupt log in ${file} at offset ${offset}: ${reason}`);
    this.name = 'WalCorruptionError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/** `readAll(fromSnapshot)` found no snapshot marker with that index in the log. */
export class WalSnapshotNotFoundError extends WalError {
  constructor(index: number, term: number) {
    super('WAL_SNAPSHOT_NOT_FOUND', `wal: snapshot marker {index: ${index}, term: ${term}} not found in the log`);
    this.name = 'WalSnapshotNotFoundError';
  }
}

/** The log holds a snapshot marker at the requested index but with another term. */
export class WalSnapshotMismatchError extends WalError {
  constructor(index: number, term: number, found: number) {
    super('WAL_SNAPSHOT_MISMATCH', `wal: snapshot marker at index ${index} has term ${found}, expected ${term}`);
    this.name = 'WalSnapshotMismatchError';
  }
}

/**
 * A write, fsync or fault hook failed. The WAL stops accepting work: after a failed fsync the
 * state of the file is unknown (Linux may drop the dirty pages), so the only safe course is the
 * one etcd takes — stop, and let the process restart and replay from disk.
 */
export class WalFailedError extends WalError {
  constructor(cause: unknown) {
    super(
      'WAL_FAILED',
      `wal: stopped after a write failure: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'WalFailedError';
  }
}
