// Public types of the WAL: options, fault hooks, logger, replay result, stats.

import type { Entry, HardState } from '../../raft/types.js';

/** The {index, term} of a snapshot that was saved; written to the WAL as a marker record. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

export interface StorageLogEvent {
  level: 'info' | 'warn';
  msg: string;
  [field: string]: unknown;
}

/** Receives notable events, such as the repair of a torn tail. */
export type StorageLogger = (event: StorageLogEvent) => void;

/** Where a write is about to go, or went. Paths are absolute. */
export interface WriteFaultContext {
  file: string;
  /** Byte offset in `file` where this write starts. */
  offset: number;
  /** Bytes in this write. */
  bytes: number;
}

export type SegmentCutStage =
  /** The old segment is synced (and trimmed); the new one is not created yet. */
  | 'beforeCreate'
  /** The new segment's header is written and synced under its temporary name. */
  | 'beforeRename'
  /** The new segment has its final name; the directory is not fsynced yet. */
  | 'afterRename';

export interface SegmentCutFaultContext {
  stage: SegmentCutStage;
  /** The segment being closed. */
  from: string;
  /** The segment being created (its final name). */
  to: string;
}

/**
 * Crash points for tests. A hook that throws (or rejects) makes the WAL behave as if the process
 * died at that point: nothing more is written or synced, every pending and later call rejects
 * with WalFailedError. A hook may also change the files first (e.g. truncate to emulate a torn
 * write) and then throw.
 */
export interface WalFaults {
  beforeWrite?(ctx: WriteFaultContext): void | Promise<void>;
  afterWriteBeforeSync?(ctx: WriteFaultContext): void | Promise<void>;
  afterSync?(ctx: WriteFaultContext): void | Promise<void>;
  duringSegmentCut?(ctx: SegmentCutFaultContext): void | Promise<void>;
}

export interface WalOptions {
  /** Cut a new segment once the current one reaches this many bytes. Default 64 MiB. */
  segmentSize?: number;
  /**
   * Fill each new segment with zeros to `segmentSize` before use, so appends never change the file
   * size (cheaper fdatasync). The next segment is prepared in the background. Default false.
   */
  preallocate?: boolean;
  /** Most bytes handed to one writev. Default 4 MiB (a single larger save is still written whole). */
  maxBatchBytes?: number;
  logger?: StorageLogger;
  faults?: WalFaults;
  /** Told how long each write and fdatasync of the log took (etcd's WAL latency metrics). */
  observer?: WalObserver;
  /**
   * --unsafe-no-fsync: never fdatasync segment data (saves, cuts, close), as etcd's WAL with
   * SetUnsafeNoFsync. A crash of the machine can lose or tear acknowledged writes. Default false.
   */
  unsafeNoFsync?: boolean;
}

/** Receives the duration of WAL writes and syncs, in seconds. */
export interface WalObserver {
  writeSeconds(s: number): void;
  fsyncSeconds(s: number): void;
}

export interface WalCreateOptions extends WalOptions {
  /** Opaque bytes kept in every segment (the server stores member and cluster IDs). */
  metadata: Uint8Array;
}

export interface WalReadResult {
  metadata: Uint8Array;
  hardState: HardState;
  /** Entries after the snapshot's index, in order, superseded tails dropped. */
  entries: Entry[];
  /** The newest snapshot marker found in the segments read, or null. */
  lastSnapshotMarker: SnapshotMarker | null;
}

export interface WalStats {
  /** save() and saveSnapshotMarker() calls accepted. */
  saves: number;
  /** writev calls (one per group commit batch, more only for very large batches). */
  writes: number;
  /** fdatasync/fsync calls on segment files (not counting directory fsyncs). */
  fsyncs: number;
  bytesWritten: number;
  records: number;
  segmentsCut: number;
  segmentsPurged: number;
}
