// The append side of an open WAL: group commit into the current segment, and segment cuts.
//
// Group commit: callers hand over already-encoded records (so records keep call order). One
// flush loop at a time takes everything queued, writes it with one writev at the end of the
// current segment, runs one fdatasync if any queued call asked for sync, then resolves those
// calls. Calls made while a flush is in flight form the next batch. All file I/O goes through
// fs/promises file handles (libuv's thread pool), never *Sync calls.
//
// Cut: once the segment reaches its size, the old file is trimmed and synced, the new segment's
// header (segment record, metadata, hard state, newest snapshot marker) is written to a temp
// file and synced, the file is renamed into place and the directory synced. With preallocation
// the next temp file is created and zero-filled in the background ahead of time.

import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { fdatasyncSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ByteWriter } from '../../raft/codec.js';
import type { HardState } from '../../raft/types.js';
import { isEmptyHardState } from '../../raft/types.js';
import {
  SEGMENT_FORMAT_VERSION,
  writeHardStateRecord,
  writeMetadataRecord,
  writeSegmentHeaderRecord,
  writeSnapshotMarkerRecord,
  written,
} from './record.js';
import { type SegmentName, TEMP_SUFFIX, fsyncDir, hex16, segmentName, writeAllAt, writeZeros } from './segment.js';
import type { SegmentCutStage, SnapshotMarker, StorageLogger, WalFaults, WalObserver, WalStats } from './types.js';

/** Largest save written on the calling thread (see tryInline). */
const INLINE_MAX_BYTES = 1 << 20;

export interface Op {
  buf: Uint8Array;
  sync: boolean;
  records: number;
  /** The WAL's last index once this op is written. */
  lastIndex: number;
  hardState: HardState | null;
  marker: SnapshotMarker | null;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface AppenderConfig {
  dir: string;
  segmentSize: number;
  preallocate: boolean;
  maxBatchBytes: number;
  faults: WalFaults;
  logger: StorageLogger | undefined;
  counters: WalStats;
  /** Told the duration of each write and fdatasync (null: not timed). */
  observer: WalObserver | null;
  /** --unsafe-no-fsync: segment data is never synced (the directory still is after a cut). */
  noFsync: boolean;
  /** Called once when a write, sync, cut or fault hook fails; the appender is dead afterwards. */
  onFail: (err: unknown, pending: Op[]) => void;
}

/** What the log holds so far: carried into every new segment's header. */
export interface LogPosition {
  metadata: Uint8Array;
  lastIndex: number;
  hardState: HardState;
  marker: SnapshotMarker | null;
}

interface TempSegment {
  fh: FileHandle;
  path: string;
}

/** The records that open every segment. */
export function segmentHeaderBytes(seg: SegmentName, prevSize: number, pos: LogPosition): Uint8Array {
  const w = new ByteWriter(128 + pos.metadata.length);
  writeSegmentHeaderRecord(w, { version: SEGMENT_FORMAT_VERSION, seq: seg.seq, firstIndex: seg.firstIndex, prevSize });
  writeMetadataRecord(w, pos.metadata);
  if (!isEmptyHardState(pos.hardState)) writeHardStateRecord(w, pos.hardState);
  if (pos.marker) writeSnapshotMarkerRecord(w, pos.marker);
  return written(w);
}

export class Appender {
  /** As of the data written so far. */
  readonly written: LogPosition;
  private fh: FileHandle | null;
  private offset: number;
  private unsynced = false;
  private queue: Op[] = [];
  private flushing = false;
  private drainWaiters: Array<() => void> = [];
  private nextTemp: Promise<TempSegment> | null = null;
  private dead = false;

  /** `segments` is shared with the owner: the appender pushes new segments onto it. */
  constructor(
    private readonly cfg: AppenderConfig,
    private readonly segments: SegmentName[],
    fh: FileHandle,
    offset: number,
    position: LogPosition,
  ) {
    this.fh = fh;
    this.offset = offset;
    this.written = { ...position };
    this.startNextTemp();
  }

  /**
   * Writes (and syncs, if asked) `op` on the calling thread, when nothing else is queued or in flight,
   * it fits the current segment and no fault hooks are set. For a lone small save this skips two
   * thread-pool round trips (a few hundred µs of latency) at the cost of blocking for one fdatasync;
   * under load the queued path stays better, as the event loop keeps working meanwhile. Returns
   * false (having done nothing) when it cannot.
   */
  tryInline(op: Op): boolean {
    const { faults, counters } = this.cfg;
    if (this.flushing || this.queue.length > 0 || this.dead || !this.fh) return false;
    if (faults.beforeWrite || faults.afterWriteBeforeSync || faults.afterSync) return false;
    if (this.offset + op.buf.length > this.cfg.segmentSize) return false;
    // A large save (a follower catching up) goes through the thread pool: the event loop would stall
    // for its whole write, missing heartbeats and timers meanwhile.
    if (op.buf.length > INLINE_MAX_BYTES) return false;
    const fd = this.fh.fd;
    const obs = this.cfg.observer;
    try {
      let t = obs ? performance.now() : 0;
      for (let done = 0; done < op.buf.length; )
        done += writeSync(fd, op.buf, done, op.buf.length - done, this.offset + done);
      if (op.buf.length > 0) {
        this.offset += op.buf.length;
        this.unsynced = true;
        counters.writes++;
        counters.bytesWritten += op.buf.length;
        counters.records += op.records;
        if (obs) obs.writeSeconds((performance.now() - t) / 1000);
      }
      if (this.unsynced && op.sync && !this.cfg.noFsync) {
        if (obs) t = performance.now();
        fdatasyncSync(fd);
        this.unsynced = false;
        counters.fsyncs++;
        if (obs) obs.fsyncSeconds((performance.now() - t) / 1000);
      }
    } catch (err) {
      this.fail(err, [op]);
      return true;
    }
    const pos = this.written;
    pos.lastIndex = op.lastIndex;
    if (op.hardState) pos.hardState = op.hardState;
    if (op.marker && (!pos.marker || op.marker.index >= pos.marker.index)) pos.marker = op.marker;
    op.resolve();
    if (this.offset >= this.cfg.segmentSize) this.enqueueCut();
    return true;
  }

  /** Cuts to a new segment from the flush loop (after an inline write filled the current one). */
  private enqueueCut(): void {
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => void this.flushLoop());
  }

  enqueue(op: Op): void {
    this.queue.push(op);
    if (!this.flushing) {
      this.flushing = true;
      // Start after the current synchronous code, so saves issued together share the first batch.
      queueMicrotask(() => void this.flushLoop());
    }
  }

  /** Waits for the queue to empty, syncs what is unsynced, closes the files. */
  async close(): Promise<void> {
    if (this.flushing || this.queue.length) await new Promise<void>((res) => this.drainWaiters.push(res));
    try {
      if (this.fh && this.unsynced && !this.dead && !this.cfg.noFsync) {
        await this.fh.datasync();
        this.cfg.counters.fsyncs++;
      }
    } finally {
      await this.fh?.close().catch(() => {});
      this.fh = null;
      await this.dropNextTemp();
    }
  }

  /** Queued ops up to maxBatchBytes, and up to the end of the segment (at least one op). */
  private takeBatch(): Op[] {
    const limit = Math.min(this.cfg.maxBatchBytes, this.cfg.segmentSize - this.offset);
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.buf.length <= limit)) {
      bytes += this.queue[n]!.buf.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async flushLoop(): Promise<void> {
    try {
      if (this.offset >= this.cfg.segmentSize && !this.dead) {
        try {
          await this.cut();
        } catch (err) {
          this.fail(err, []);
          return;
        }
      }
      while (this.queue.length && !this.dead) {
        const batch = this.takeBatch();
        try {
          await this.writeBatch(batch);
        } catch (err) {
          this.fail(err, batch);
          break;
        }
        for (const op of batch) op.resolve();
        if (this.offset >= this.cfg.segmentSize) {
          try {
            await this.cut();
          } catch (err) {
            this.fail(err, []);
            break;
          }
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async writeBatch(batch: Op[]): Promise<void> {
    const { counters, faults } = this.cfg;
    const fh = this.fh!;
    let bufs: Uint8Array[] = [];
    let bytes = 0;
    let records = 0;
    for (const op of batch) {
      if (op.buf.length) bufs.push(op.buf);
      bytes += op.buf.length;
      records += op.records;
    }
    const ctx = { file: join(this.cfg.dir, this.segments[this.segments.length - 1]!.name), offset: this.offset, bytes };
    if (bytes > 0) {
      await faults.beforeWrite?.(ctx);
      // Many small buffers: one copy is cheaper than a long iovec (and stays under IOV_MAX).
      if (bufs.length > 16 && bytes <= 8 * 1024 * 1024) bufs = [Buffer.concat(bufs, bytes)];
      const t = performance.now();
      await writeAllAt(fh, bufs, this.offset);
      this.cfg.observer?.writeSeconds((performance.now() - t) / 1000);
      this.offset += bytes;
      this.unsynced = true;
      counters.writes++;
      counters.bytesWritten += bytes;
      counters.records += records;
      await faults.afterWriteBeforeSync?.(ctx);
    }
    if (this.unsynced && batch.some((op) => op.sync) && !this.cfg.noFsync) {
      const t = performance.now();
      await fh.datasync();
      this.cfg.observer?.fsyncSeconds((performance.now() - t) / 1000);
      this.unsynced = false;
      counters.fsyncs++;
      await faults.afterSync?.(ctx);
    }
    const pos = this.written;
    for (const op of batch) {
      pos.lastIndex = op.lastIndex;
      if (op.hardState) pos.hardState = op.hardState;
      if (op.marker && (!pos.marker || op.marker.index >= pos.marker.index)) pos.marker = op.marker;
    }
  }

  /** Behaves like a crashed process from here on: no more writes or syncs. */
  private fail(err: unknown, batch: Op[]): void {
    this.dead = true;
    const pending = [...batch, ...this.queue];
    this.queue = [];
    void this.fh?.close().catch(() => {});
    this.fh = null;
    void this.dropNextTemp();
    this.cfg.onFail(err, pending);
  }

  private startNextTemp(): void {
    if (!this.cfg.preallocate) return;
    const p = this.createTemp(this.segments[this.segments.length - 1]!.seq + 1);
    p.catch(() => {}); // surfaced when the cut awaits it
    this.nextTemp = p;
  }

  private async createTemp(seq: number): Promise<TempSegment> {
    const path = join(this.cfg.dir, `${hex16(seq)}.wal${TEMP_SUFFIX}`);
    const fh = await open(path, 'w+');
    try {
      if (this.cfg.preallocate) {
        await writeZeros(fh, 0, this.cfg.segmentSize);
        await fh.sync();
      }
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    return { fh, path };
  }

  private async dropNextTemp(): Promise<void> {
    const p = this.nextTemp;
    this.nextTemp = null;
    if (!p) return;
    try {
      const t = await p;
      await t.fh.close();
      await rm(t.path, { force: true });
    } catch {
      // best effort: open() removes leftovers
    }
  }

  private async cut(): Promise<void> {
    const { dir, counters, faults } = this.cfg;
    const fh = this.fh!;
    const from = this.segments[this.segments.length - 1]!;
    const seq = from.seq + 1;
    const firstIndex = this.written.lastIndex + 1;
    const to: SegmentName = { name: segmentName(seq, firstIndex), seq, firstIndex };
    const hook = (stage: SegmentCutStage) =>
      faults.duringSegmentCut?.({ stage, from: join(dir, from.name), to: join(dir, to.name) });

    // Trim preallocated space, and make the old segment complete on disk before the new one exists.
    const prevSize = this.offset;
    const { size } = await fh.stat();
    if (size > prevSize) await fh.truncate(prevSize);
    if (!this.cfg.noFsync) {
      await fh.sync();
      counters.fsyncs++;
    }
    this.unsynced = false;
    await hook('beforeCreate');

    const pending = this.nextTemp;
    this.nextTemp = null;
    const temp = pending ? await pending : await this.createTemp(seq);
    let header: Uint8Array;
    try {
      header = segmentHeaderBytes(to, prevSize, this.written);
      await writeAllAt(temp.fh, [header], 0);
      if (!this.cfg.noFsync) {
        await temp.fh.sync();
        counters.fsyncs++;
      }
      await hook('beforeRename');
      await rename(temp.path, join(dir, to.name));
      await hook('afterRename');
      await fsyncDir(dir);
    } catch (err) {
      // Leave the files as a crash would: open() removes an unrenamed temp file, and a renamed
      // segment is complete (its header was synced before the rename).
      await temp.fh.close().catch(() => {});
      throw err;
    }
    await fh.close();
    this.fh = temp.fh;
    this.segments.push(to);
    this.offset = header.length;
    counters.segmentsCut++;
    this.startNextTemp();
    this.cfg.logger?.({ level: 'info', msg: 'wal: cut segment', file: to.name, prevSize });
  }
}
