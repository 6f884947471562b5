// The WAL's public class: lifecycle (create, open + readAll, close), save() / saveSnapshotMarker()
// (encoding records in call order and handing them to the group-commit Appender), and
// release/purge of old segments.

import { mkdir, open, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ByteWriter } from '../../raft/codec.js';
import type { Entry, HardState } from '../../raft/types.js';
import { emptyHardState, isEmptyHardState } from '../../raft/types.js';
import { Appender, type AppenderConfig, type LogPosition, segmentHeaderBytes } from './appender.js';
import { WalError, WalFailedError } from './errors.js';
import { replay } from './reader.js';
import { writeEntryRecord, writeHardStateRecord, writeSnapshotMarkerRecord, written } from './record.js';
import {
  type SegmentName,
  fsyncDir,
  listSegments,
  removeTempFiles,
  segmentName,
  startSegmentFor,
  writeAllAt,
  writeZeros,
} from './segment.js';
import type { SnapshotMarker, WalCreateOptions, WalOptions, WalReadResult, WalStats } from './types.js';

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

type State = 'reading' | 'open' | 'closing' | 'closed' | 'failed';

/** Directories with an open WAL in this process (there is no cross-process lock). */
const openDirs = new Set<string>();

function claim(dir: string): void {
  if (openDirs.has(dir)) throw new WalError('WAL_STATE', `wal: ${dir} is already open in this process`);
  openDirs.add(dir);
}

export class Wal {
  readonly dir: string;
  private readonly opts: WalOptions;
  private readonly counters: WalStats = {
    saves: 0,
    writes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    records: 0,
    segmentsCut: 0,
    segmentsPurged: 0,
  };
  private state: State = 'reading';
  private failure: WalFailedError | null = null;
  private appender: Appender | null = null;
  private segments: SegmentName[] = [];
  private closing: Promise<void> | null = null;
  private queuedLastIndex = 0;
  /** Segments with seq below this may be purged. */
  private releasedBefore = 0;

  private constructor(dir: string, opts: WalOptions) {
    this.dir = dir;
    this.opts = opts;
  }

  /** Whether `dir` holds a WAL (any segment file). */
  static async exists(dir: string): Promise<boolean> {
    try {
      return (await listSegments(dir)).length > 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Creates a WAL in `dir` (which must not hold one) and returns it ready for appends. The first
   * segment is built in `<dir>.tmp`, synced, and the directory renamed into place, so a crash
   * leaves either no WAL or a complete one.
   */
  static async create(dir: string, opts: WalCreateOptions): Promise<Wal> {
    dir = resolve(dir);
    if (await Wal.exists(dir)) throw new WalError('WAL_EXISTS', `wal: ${dir} already holds a WAL`);
    claim(dir);
    const wal = new Wal(dir, opts);
    const tmpDir = `${dir}.tmp`;
    try {
      const pos: LogPosition = { metadata: opts.metadata, lastIndex: 0, hardState: emptyHardState(), marker: null };
      const first: SegmentName = { name: segmentName(0, 0), seq: 0, firstIndex: 0 };
      const header = segmentHeaderBytes(first, 0, pos);
      const size = wal.segmentSize;
      await rm(tmpDir, { recursive: true, force: true });
      await mkdir(tmpDir, { recursive: true });
      const fh = await open(join(tmpDir, first.name), 'w+');
      try {
        await writeAllAt(fh, [header], 0);
        if (opts.preallocate && size > header.length) await writeZeros(fh, header.length, size - header.length);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(tmpDir);
      await mkdir(dirname(dir), { recursive: true });
      await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await rename(tmpDir, dir);
      await fsyncDir(dirname(dir));
      await wal.startAppending([first], header.length, pos);
      return wal;
    } catch (err) {
      openDirs.delete(dir);
      await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  /** Opens an existing WAL. Call readAll() next: it replays the log and enables appends. */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    dir = resolve(dir);
    if (!(await Wal.exists(dir))) throw new WalError('WAL_NOT_FOUND', `wal: no WAL in ${dir}`);
    claim(dir);
    try {
      const removed = await removeTempFiles(dir);
      if (removed.length) {
        await fsyncDir(dir);
        opts.logger?.({ level: 'info', msg: 'wal: removed unfinished segment files', files: removed });
      }
      return new Wal(dir, opts);
    } catch (err) {
      openDirs.delete(dir);
      throw err;
    }
  }

  /**
   * The snapshot markers in `dir` whose index is at most the newest hard state's commit: the
   * snapshots a restart may load (etcd's ValidSnapshotEntries). Reads only; repairs nothing.
   */
  static async validSnapshotMarkers(dir: string): Promise<SnapshotMarker[]> {
    const r = await replay(resolve(dir), {
      fromSnapshot: { index: 0, term: 0 },
      repair: false,
      preallocate: true,
      scanOnly: true,
    });
    return r.markers.filter((m) => m.index <= r.hardState.commit);
  }

  /**
   * Replays the log after `fromSnapshot` (default: from the start), repairing a torn tail, and
   * makes the WAL ready for appends. Throws WalCorruptionError on any other damage, and
   * WalSnapshotNotFoundError / WalSnapshotMismatchError if the log has no matching marker.
   */
  async readAll(fromSnapshot: SnapshotMarker = { index: 0, term: 0 }): Promise<WalReadResult> {
    if (this.state !== 'reading') throw new WalError('WAL_STATE', 'wal: readAll() is allowed once, after open()');
    try {
      const r = await replay(this.dir, {
        fromSnapshot,
        repair: true,
        preallocate: this.opts.preallocate ?? false,
        logger: this.opts.logger,
      });
      await this.startAppending(r.segments, r.tailOffset, {
        metadata: r.metadata,
        lastIndex: r.lastIndex,
        hardState: r.hardState,
        marker: r.lastSnapshotMarker,
      });
      return {
        metadata: r.metadata,
        hardState: r.hardState,
        entries: r.entries,
        lastSnapshotMarker: r.lastSnapshotMarker,
      };
    } catch (err) {
      this.state = 'closed';
      openDirs.delete(this.dir);
      throw err;
    }
  }

  /** Index of the last entry accepted by save() (or of a newer snapshot marker). */
  get lastIndex(): number {
    return this.queuedLastIndex;
  }

  get stats(): Readonly<WalStats> {
    return { ...this.counters };
  }

  /**
   * Appends `entries`, then `hardState` (if given and not empty). Entries at index i supersede
   * earlier-written entries at ≥ i. Resolves once written, and with `sync` once durable. Calls
   * may overlap freely; records are written in call order.
   */
  /**
   * With `inline`, a save that finds the log idle is written and synced on the calling thread
   * (see Appender.tryInline) instead of through the thread pool: lower latency, and less CPU than
   * two thread-pool round trips; the caller's thread blocks for the fdatasync.
   */
  save(
    hardState: HardState | null,
    entries: readonly Entry[],
    sync: boolean,
    opts?: { inline?: boolean },
  ): Promise<void> {
    const closed = this.rejectIfNotOpen();
    if (closed) return closed;
    let size = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (i > 0 && e.index !== entries[i - 1]!.index + 1) {
        return Promise.reject(new RangeError(`wal: entries not contiguous: ${entries[i - 1]!.index} then ${e.index}`));
      }
      size += e.data.length + 40;
    }
    if (entries.length && (entries[0]!.index < 1 || entries[0]!.index > this.queuedLastIndex + 1)) {
      return Promise.reject(
        new RangeError(`wal: entry ${entries[0]!.index} would leave a gap after last index ${this.queuedLastIndex}`),
      );
    }
    const hs = hardState && !isEmptyHardState(hardState) ? hardState : null;
    const w = new ByteWriter(size + 48);
    for (const e of entries) writeEntryRecord(w, e);
    if (hs) writeHardStateRecord(w, hs);
    if (entries.length) this.queuedLastIndex = entries[entries.length - 1]!.index;
    return this.enqueue(written(w), sync, entries.length + (hs ? 1 : 0), hs, null, opts?.inline === true);
  }

  /**
   * Records (durably) that a snapshot at {index, term} was saved. Replay after it can start
   * from this snapshot, and releaseTo() may then let go of the segments it covers.
   */
  saveSnapshotMarker(marker: SnapshotMarker): Promise<void> {
    const closed = this.rejectIfNotOpen();
    if (closed) return closed;
    const w = new ByteWriter(32);
    writeSnapshotMarkerRecord(w, marker);
    this.queuedLastIndex = Math.max(this.queuedLastIndex, marker.index);
    return this.enqueue(written(w), true, 1, null, { index: marker.index, term: marker.term });
  }

  /**
   * Lets purge() delete segments whose entries are all ≤ `index`, never going past the newest
   * durable snapshot marker (replay after that snapshot still needs its segment and the later ones).
   */
  releaseTo(index: number): void {
    const limit = Math.min(index, this.appender?.written.marker?.index ?? 0);
    const at = startSegmentFor(this.segments, limit);
    if (at > 0) this.releasedBefore = Math.max(this.releasedBefore, this.segments[at]!.seq);
  }

  /**
   * Deletes the oldest released segments while more than `maxFiles` exist (etcd's --max-wals;
   * 0 = keep all). Never deletes a segment not yet released. Returns the deleted names.
   */
  async purge(maxFiles = 5): Promise<string[]> {
    if (maxFiles <= 0 || this.state !== 'open') return [];
    const victims: SegmentName[] = [];
    while (this.segments.length > maxFiles && this.segments.length > 1 && this.segments[0]!.seq < this.releasedBefore) {
      victims.push(this.segments.shift()!);
    }
    if (!victims.length) return [];
    for (const v of victims) await rm(join(this.dir, v.name), { force: true }); // oldest first: a crash leaves a contiguous suffix
    await fsyncDir(this.dir);
    this.counters.segmentsPurged += victims.length;
    this.opts.logger?.({ level: 'info', msg: 'wal: purged segments', files: victims.map((v) => v.name) });
    return victims.map((v) => v.name);
  }

  /** Waits for queued saves, syncs, and closes the files. Rejects if the WAL failed meanwhile. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private get segmentSize(): number {
    return this.opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  }

  private async startAppending(segments: SegmentName[], offset: number, pos: LogPosition): Promise<void> {
    const last = segments[segments.length - 1]!;
    const fh = await open(join(this.dir, last.name), 'r+');
    const cfg: AppenderConfig = {
      dir: this.dir,
      segmentSize: this.segmentSize,
      preallocate: this.opts.preallocate ?? false,
      maxBatchBytes: this.opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      faults: this.opts.faults ?? {},
      logger: this.opts.logger,
      counters: this.counters,
      observer: this.opts.observer ?? null,
      noFsync: this.opts.unsafeNoFsync === true,
      onFail: (err, pending) => this.onFail(err, pending),
    };
    this.segments = segments;
    this.queuedLastIndex = pos.lastIndex;
    this.appender = new Appender(cfg, this.segments, fh, offset, pos);
    this.state = 'open';
  }

  private onFail(err: unknown, pending: { reject: (err: unknown) => void }[]): void {
    this.failure = err instanceof WalFailedError ? err : new WalFailedError(err);
    if (this.state === 'open') this.state = 'failed';
    for (const op of pending) op.reject(this.failure);
    openDirs.delete(this.dir);
    this.opts.logger?.({ level: 'warn', msg: 'wal: stopped after a failure', error: String(err) });
  }

  private rejectIfNotOpen(): Promise<never> | null {
    if (this.state === 'open') return null;
    if (this.failure) return Promise.reject(this.failure);
    return Promise.reject(
      new WalError(this.state === 'reading' ? 'WAL_STATE' : 'WAL_CLOSED', `wal: not open for appends (${this.state})`),
    );
  }

  private enqueue(
    buf: Uint8Array,
    sync: boolean,
    records: number,
    hardState: HardState | null,
    marker: SnapshotMarker | null,
    inline = false,
  ): Promise<void> {
    this.counters.saves++;
    const lastIndex = this.queuedLastIndex;
    return new Promise<void>((resolve, reject) => {
      const op = { buf, sync, records, lastIndex, hardState, marker, resolve, reject };
      if (!inline || !this.appender!.tryInline(op)) this.appender!.enqueue(op);
    });
  }

  private async doClose(): Promise<void> {
    const wasOpen = this.state === 'open';
    if (this.state === 'reading') openDirs.delete(this.dir);
    if (this.state !== 'failed') this.state = wasOpen ? 'closing' : 'closed';
    if (!wasOpen) return;
    try {
      await this.appender?.close();
    } finally {
      this.state = 'closed';
      if (!this.failure) openDirs.delete(this.dir);
    }
    if (this.failure) throw this.failure;
  }
}
