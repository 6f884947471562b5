// Background compaction, one job at a time, in etcd's order: compact the key index at the
// revision (in slices, yielding to the event loop), then delete from LMDB every revision ≤ the
// compaction revision that the index no longer holds (in batches of --experimental-compaction-batch-
// limit revisions, one LMDB transaction each, resting 10 ms in between as etcd does; the last batch
// records the finished compaction revision). A revision r ≤ rev survives compaction
// exactly when it is the first revision of its key's first generation, which makes the physical
// pass correct after a restart too (the index is rebuilt from what is left, then compacted again).

import { META } from '../storage/backend/index.js';
import type { StoreCore } from './core.js';
import { StoreClosedError } from './errors.js';
import { decodeKeyOf } from './kv-codec.js';
import { encodeRevKey, revKeyMain, revKeySub } from './revision.js';

/** Index entries compacted per event-loop turn. */
const INDEX_SLICE = 10_000;
/** Revisions examined per LMDB transaction of the physical pass (etcd's defaultCompactBatchLimit). */
export const DEFAULT_COMPACTION_BATCH_LIMIT = 1_000;
/** The rest between two batches of the physical pass (etcd's 10 ms). */
const BATCH_REST_MS = 10;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface CompactionJob {
  readonly rev: number;
  readonly epoch: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export function newJob(rev: number, epoch: number): CompactionJob {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // a caller that ignores `done` must not see an unhandled rejection
  return { rev, epoch, done, resolve, reject };
}

export class Compactor {
  private readonly queue: CompactionJob[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly core: StoreCore,
    /** Revisions scanned per LMDB transaction (--experimental-compaction-batch-limit; at least 1). */
    private readonly batchLimit = DEFAULT_COMPACTION_BATCH_LIMIT,
  ) {}

  enqueue(job: CompactionJob): void {
    if (this.stopped) {
      job.reject(new StoreClosedError());
      return;
    }
    this.queue.push(job);
    this.running ??= this.loop();
  }

  /** Resolves when every queued compaction has finished (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Rejects queued jobs of older epochs (after a reload); the running one stops at its next step. */
  dropStale(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]!;
      if (job.epoch !== this.core.epoch) {
        this.queue.splice(i, 1);
        job.reject(new StoreClosedError());
      }
    }
  }

  /** Stops after the current step; pending jobs are rejected with StoreClosedError. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.reject(new StoreClosedError());
    await this.idle();
  }

  private async loop(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        try {
          await this.run(job);
          job.resolve();
        } catch (err) {
          job.reject(err);
        }
      }
    } finally {
      this.running = null;
    }
  }

  private check(job: CompactionJob): void {
    if (this.stopped || job.epoch !== this.core.epoch) throw new StoreClosedError();
  }

  private async run(job: CompactionJob): Promise<void> {
    const { core } = this;
    const backend = core.backend;
    const obs = core.counters.compaction;
    const started = performance.now();
    let indexMs = 0;
    let from: string | null = '';
    while (from !== null) {
      await tick();
      this.check(job);
      const t = performance.now();
      from = core.index.compactSlice(job.rev, from, INDEX_SLICE);
      indexMs += performance.now() - t;
    }
    obs?.indexPauseMs(indexMs);
    let start = encodeRevKey(0, 0);
    const end = encodeRevKey(job.rev + 1, 0);
    const limit = this.batchLimit;
    for (;;) {
      while (backend.busyOperation !== null) await backend.whenIdle();
      this.check(job);
      const t = performance.now();
      const db = core.kvDb;
      const garbage: Buffer[] = [];
      let seen = 0;
      let last: Buffer | null = null;
      for (const { key, value } of db.getRange({ start, end, limit })) {
        seen++;
        last = key;
        if (!this.kept(key, value)) garbage.push(key);
      }
      // As etcd: a batch shorter than the limit is the last one; it records the finished compaction
      // in the same transaction. Every full batch is one db pause observed, then a 10 ms rest.
      const final = seen < limit;
      if (garbage.length > 0 || final) {
        backend.batch(() => {
          for (const k of garbage) db.removeSync(k);
          if (final) backend.putMeta(META.finishedCompactRev, encodeRevKey(job.rev, 0));
        });
      }
      core.counters.compactedKeys += garbage.length;
      if (final || last === null) break;
      obs?.dbPauseMs(performance.now() - t);
      start = Buffer.concat([last, Buffer.from([0])]); // the smallest key after `last`
      await sleep(BATCH_REST_MS);
    }
    core.counters.lastCompaction = Date.now() / 1000;
    obs?.totalMs(performance.now() - started);
  }

  /** True when the stored revision is still referenced by the (compacted) index. */
  private kept(revKey: Buffer, value: Buffer): boolean {
    const e = this.core.index.get(decodeKeyOf(value).toString('latin1'));
    return e?.isFirst(revKeyMain(revKey), revKeySub(revKey)) === true;
  }
}
