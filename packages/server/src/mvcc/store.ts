// The MVCC key-value store (etcd's mvcc.store on LMDB): reads at any uncompacted revision, logical
// write transactions inside backend batches, compaction, HashKV, history for watchers, and commit
// notifications. All methods are synchronous except the background compaction.

import { META, type Backend } from '../storage/backend/index.js';
import { Compactor, newJob, type CompactionJob } from './compactor.js';
import { StoreCore } from './core.js';
import { CompactedError, FutureRevisionError, StoreClosedError } from './errors.js';
import { hashKV } from './hash.js';
import { history } from './history.js';
import { collectRefs, RefReader, type RangeRefs } from './range-refs.js';
import { rebuild } from './rebuild.js';
import { encodeRevKey } from './revision.js';
import type {
  CommitListener,
  HashKVResult,
  HistoryOptions,
  KeyValue,
  MvccCounters,
  MvccEvent,
  RangeOptions,
  RangeResult,
} from './types.js';
import { WriteTxn } from './write-txn.js';

export class MvccStore {
  private readonly core: StoreCore;
  private readonly compactor: Compactor;
  private readonly listeners = new Set<CommitListener>();
  private readonly unsubscribe: Array<() => void> = [];
  private hookSeq = -1;
  private batchStartRev = 0;
  private batchStartCompactRev = 0;
  private pendingRevs: number[] = [];
  private pendingEvents: MvccEvent[][] = [];
  private pendingJobs: CompactionJob[] = [];
  private closed = false;
  private inTxn = false;

  private constructor(
    private readonly backend: Backend,
    counters: MvccCounters | undefined,
    compactionBatchLimit: number | undefined,
  ) {
    this.core = new StoreCore(backend, counters);
    this.compactor = new Compactor(this.core, compactionBatchLimit);
  }

  /**
   * Opens the store on `backend`: rebuilds the key index and resumes an interrupted compaction.
   * `compactionBatchLimit`: revisions a compaction removes per backend transaction (default 1000).
   */
  static open(backend: Backend, counters?: MvccCounters, compactionBatchLimit?: number): MvccStore {
    const s = new MvccStore(backend, counters, compactionBatchLimit);
    s.load();
    s.unsubscribe.push(
      backend.onReplace((reason) => {
        if (reason === 'restore') s.reload();
      }),
      backend.onClose(() => s.close()),
    );
    return s;
  }

  /** The current revision (1 for an empty store). */
  get currentRevision(): number {
    return this.core.rev;
  }

  /** The compacted revision (-1 when never compacted). Reads below it fail; at it they work. */
  get compactRevision(): number {
    return this.core.compactRev;
  }

  /** Number of keys that currently exist. */
  get keyCount(): number {
    return this.core.index.liveCount;
  }

  /**
   * Keys in [key, end) at a revision, ascending by bytes. `end` null or empty = the single key;
   * [0x00] = every key ≥ key. `rev` in the result is the current revision (for the header).
   * Throws CompactedError / FutureRevisionError.
   */
  range(key: Buffer, end: Buffer | null, opts?: RangeOptions): RangeResult {
    const current = this.core.rev;
    const atRev = this.core.resolveRev(opts?.rev, current);
    const { kvs, count } = this.core.readRange<KeyValue>(key, end, atRev, opts, false);
    return { kvs, count, rev: current };
  }

  /** As range, returning each KeyValue as its stored protobuf mvccpb.KeyValue bytes. */
  rangeRaw(key: Buffer, end: Buffer | null, opts?: RangeOptions): RangeResult<Buffer> {
    const current = this.core.rev;
    const atRev = this.core.resolveRev(opts?.rev, current);
    const { kvs, count } = this.core.readRange<Buffer>(key, end, atRev, opts, true);
    return { kvs, count, rev: current };
  }

  /**
   * As range, but the revisions of the keys instead of their values (the first `limit`, all by
   * default), and a reader of their stored bytes frozen at this moment: call `release()` on it when
   * done. For responses too large to build at once (range-stream/).
   */
  rangeRefs(key: Buffer, end: Buffer | null, rev?: number, limit = Infinity): { refs: RangeRefs; open(): RefReader } {
    const current = this.core.rev;
    const atRev = this.core.resolveRev(rev, current);
    const refs = collectRefs(this.core, key, end, atRev, current, limit);
    return { refs, open: () => new RefReader(this.backend.readView()) };
  }

  /**
   * Runs one logical etcd transaction. Its writes take revision currentRevision + 1 (only if it
   * writes something). Runs inside the caller's backend batch, or in a batch of its own. If `fn`
   * throws, everything it wrote is undone (in LMDB and in memory) and the error is rethrown.
   */
  write<T>(fn: (txn: WriteTxn) => T): T {
    if (!this.backend.inBatch) return this.backend.batch(() => this.write(fn));
    this.assertOpen();
    if (this.inTxn) throw new Error('mvcc: write transactions cannot be nested');
    this.beginBatch();
    const core = this.core;
    const txn = new WriteTxn(core, core.rev);
    const mark = core.undoMark;
    let result: T;
    this.inTxn = true;
    try {
      result = fn(txn);
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        throw new TypeError('mvcc: write transactions must be synchronous');
      }
    } catch (err) {
      if (txn.changed) core.undoTo(mark, txn.rev);
      throw err;
    } finally {
      this.inTxn = false;
      txn.close();
    }
    if (txn.changed) {
      core.rev = txn.rev;
      this.pendingRevs.push(txn.rev);
      this.pendingEvents.push(txn.events);
    }
    return result;
  }

  /**
   * Compacts history up to `rev`: reads below it fail at once; the index and LMDB are cleaned in
   * the background. Validates synchronously (CompactedError if rev ≤ compactRevision,
   * FutureRevisionError if rev > currentRevision) and records the schedule in the caller's batch
   * (or a batch of its own). `done` resolves when the compaction is physically finished.
   */
  compact(rev: number): { done: Promise<void> } {
    if (!this.backend.inBatch) return this.backend.batch(() => this.compact(rev));
    this.assertOpen();
    const core = this.core;
    if (rev <= core.compactRev) throw new CompactedError(core.compactRev);
    if (rev > core.rev) throw new FutureRevisionError(core.rev);
    this.beginBatch();
    core.compactRev = rev;
    this.backend.putMeta(META.scheduledCompactRev, encodeRevKey(rev, 0));
    const job = newJob(rev, core.epoch);
    this.pendingJobs.push(job);
    return { done: job.done };
  }

  /** Resolves when no compaction is pending (including one resumed at open). */
  compactionIdle(): Promise<void> {
    return this.compactor.idle();
  }

  /** etcd's HashKV at `rev` (0 = current). Throws CompactedError if rev ≤ compactRevision. */
  hashKV(rev = 0): HashKVResult {
    const t = performance.now();
    const r = hashKV(this.core, rev);
    this.core.counters.hashSeconds?.((performance.now() - t) / 1000);
    return r;
  }

  /** What etcd's mvcc metrics count on this store. */
  get counters(): MvccCounters {
    return this.core.counters;
  }

  /**
   * Events with fromRev ≤ mod_revision ≤ toRev in revision order (toRev is capped at the current
   * revision). Throws CompactedError if fromRev < compactRevision. With `limit`, stops at the end
   * of the revision that reached it, so a revision's events are never split.
   */
  history(fromRev: number, toRev: number, opts?: HistoryOptions): MvccEvent[] {
    return history(this.core, fromRev, toRev, opts);
  }

  /** Keys that currently exist and have a lease, for rebuilding the lessor at start. */
  *keysWithLease(): Iterable<{ key: Buffer; lease: bigint }> {
    for (const e of this.core.index.values()) {
      if (e.lease !== 0n && e.live) yield { key: e.key, lease: e.lease };
    }
  }

  /**
   * Subscribes to committed transactions: called after the batch commits, once per logical
   * transaction that changed something, in revision order. A listener that throws does not affect
   * the write; its error is rethrown asynchronously. Returns an unsubscribe function.
   */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops background compaction (pending `done` promises reject with StoreClosedError). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.compactor.stop();
  }

  private load(): void {
    const { resumeCompaction } = rebuild(this.core);
    if (resumeCompaction !== null) this.compactor.enqueue(newJob(resumeCompaction, this.core.epoch));
  }

  /** Re-reads everything from the backend (after it was restored from a snapshot). */
  private reload(): void {
    this.core.epoch++;
    this.compactor.dropStale();
    this.pendingRevs = [];
    this.pendingEvents = [];
    this.load();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  private beginBatch(): void {
    if (this.hookSeq === this.backend.batchSeq) return;
    this.hookSeq = this.backend.batchSeq;
    this.batchStartRev = this.core.rev;
    this.batchStartCompactRev = this.core.compactRev;
    this.backend.afterCommit(this.committed);
    this.backend.onAbort(this.aborted);
  }

  private readonly committed = (): void => {
    this.core.clearUndo();
    const revs = this.pendingRevs;
    const events = this.pendingEvents;
    const jobs = this.pendingJobs;
    if (revs.length > 0) {
      this.pendingRevs = [];
      this.pendingEvents = [];
    }
    if (jobs.length > 0) {
      this.pendingJobs = [];
      for (const job of jobs) this.compactor.enqueue(job);
    }
    if (this.listeners.size === 0) return;
    for (let i = 0; i < revs.length; i++) {
      for (const l of this.listeners) {
        try {
          l(revs[i]!, events[i]!);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  };

  private readonly aborted = (err: unknown): void => {
    this.core.undoTo(0, null);
    this.core.rev = this.batchStartRev;
    this.core.compactRev = this.batchStartCompactRev;
    this.pendingRevs = [];
    this.pendingEvents = [];
    for (const job of this.pendingJobs.splice(0)) job.reject(err);
  };
}
