// storage/wal — the durable Raft log, and the source of truth for it (as etcd 3.4's WAL is).
//
// Segmented append-only files of CRC-32C-framed records (metadata, entries, hard state, snapshot
// markers); group commit (many concurrent save() calls → one writev + one fdatasync); torn-tail
// repair on open, typed errors for any other damage; segment cut via temp file + fsync + rename +
// directory fsync; release and purge of old segments (etcd's --max-wals).

export { Wal, DEFAULT_SEGMENT_SIZE } from './wal.js';
export {
  WalError,
  WalCorruptionError,
  WalFailedError,
  WalSnapshotMismatchError,
  WalSnapshotNotFoundError,
  type WalErrorCode,
} from './errors.js';
export type {
  SegmentCutFaultContext,
  SegmentCutStage,
  SnapshotMarker,
  StorageLogEvent,
  StorageLogger,
  WalCreateOptions,
  WalFaults,
  WalObserver,
  WalOptions,
  WalReadResult,
  WalStats,
  WriteFaultContext,
} from './types.js';
