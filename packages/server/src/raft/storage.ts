// The stable-storage interface Raft reads from, and an in-memory implementation.
//
// Raft never writes storage: the driver persists each Ready (snapshot, hard state, entries) and then
// applies it to its Storage, so Storage always reflects what is durable. The server keeps a
// MemoryStorage as the in-memory copy of its WAL; tests use it directly.

import { CompactedError, RaftUsageError, SnapshotOutOfDateError, UnavailableError } from './errors.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Snapshot,
  EMPTY_BYTES,
  emptyHardState,
} from './types.js';
import { limitSize } from './util.js';

export interface InitialState {
  hardState: HardState;
  /** Membership as of the snapshot (or the bootstrap configuration when there is none). */
  confState: ConfState;
}

export interface Storage {
  /** The saved hard state and membership, read once when the node starts. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), limited to about maxSize bytes (at least one entry is returned when
   * lo < hi). Throws CompactedError if lo <= the snapshot index, UnavailableError if hi > lastIndex()+1.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /**
   * Term of the entry at i, for i in [firstIndex()-1, lastIndex()] (firstIndex()-1 is the snapshot's
   * index and term). Throws CompactedError below that range, UnavailableError above it.
   */
  term(i: number): number;
  /** Index of the first entry still held (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry (the snapshot index when no entries follow it). */
  lastIndex(): number;
  /** The most recent snapshot. May throw SnapshotTemporarilyUnavailableError; Raft then retries later. */
  snapshot(): Snapshot;
}

function cloneConfState(cs: ConfState): ConfState {
  return { voters: [...cs.voters], learners: [...cs.learners] };
}

/**
 * Storage held in memory. ents[0] is a dummy entry carrying the snapshot's index and term, so
 * term(snapshotIndex) is always answerable.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot;
  private ents: Entry[];

  /**
   * `confState` is the initial membership, as if from a snapshot at index 0. For tests: a new
   * cluster should start empty and RawNode.bootstrap() instead, so that the founding membership is
   * in the log, where members added later find it.
   */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snap = { metadata: { index: 0, term: 0, confState: cloneConfState(confState) }, data: EMPTY_BYTES };
    this.ents = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }];
  }

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1)
      throw new UnavailableError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError();
    const e = this.ents[i - offset];
    if (!e) throw new UnavailableError();
    return e.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(s: Snapshot): void {
    if (s.metadata.index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: EntryType.Normal, data: EMPTY_BYTES }];
  }

  /**
   * Records a snapshot of the application state at index i (≤ the applied index), for sending to
   * followers that fell behind. Call compact() afterwards to free the entries it covers.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    if (i > this.lastIndex())
      throw new UnavailableError(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.term(i), confState: cloneConfState(confState) }, data };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex (which must not exceed the applied index). */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError();
    if (compactIndex > this.lastIndex())
      throw new UnavailableError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    if (compactIndex > this.snap.metadata.index) {
      // Entries past the snapshot could never be sent to a follower that needs them.
      throw new RaftUsageError(
        `compact ${compactIndex} is beyond the snapshot index ${this.snap.metadata.index}; createSnapshot first`,
      );
    }
    const i = compactIndex - offset;
    const head = this.ents[i]!;
    const next: Entry[] = [{ term: head.term, index: head.index, type: EntryType.Normal, data: EMPTY_BYTES }];
    for (let j = i + 1; j < this.ents.length; j++) next.push(this.ents[j]!);
    this.ents = next;
  }

  /** Appends entries, replacing any existing entries at the same or later indexes. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let from = 0;
    if (first > entries[0]!.index) from = first - entries[0]!.index;
    const start = entries[from]!.index;
    const offset = start - this.offset();
    if (offset > this.ents.length) {
      throw new UnavailableError(`missing log entry [last: ${this.lastIndex()}, append at: ${start}]`);
    }
    if (offset < this.ents.length) this.ents.length = offset;
    for (let j = from; j < entries.length; j++) this.ents.push(entries[j]!);
  }
}
