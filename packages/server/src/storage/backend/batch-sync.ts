// When the backend's commits become durable: etcd's backend holds writes in a batch transaction it
// commits (with an fsync) after --backend-batch-limit operations or every --backend-batch-interval.
// Conclave commits every batch to LMDB at once (so reads see it at once, as etcd's buffered reads
// do) without an fsync; the fsync (Backend.sync(), off the event loop) happens at etcd's points
// instead. Acknowledged writes never depended on it: the WAL is fsynced before any answer, and is
// released only after a sync (docs/operator-flags.md).

/** etcd's defaults (flags at 0): 100 ms and 10000 operations. */
export const DEFAULT_BATCH_INTERVAL_MS = 100;
export const DEFAULT_BATCH_LIMIT = 10_000;
/** Longest delay setTimeout takes; a longer interval is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BatchSyncOptions {
  /** --backend-batch-interval (ms): commits are synced at most this long after the first of them; 0 = 100 ms. */
  intervalMs?: number;
  /** --backend-batch-limit: a sync starts once this many operations were committed since the last; 0 = 10000. */
  limit?: number;
}

export class BatchSync {
  private readonly intervalMs: number;
  private readonly limit: number;
  /** Operations committed since the last sync started. */
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  /** performance.now() when the armed timer's interval ends. */
  private due = 0;
  private running: Promise<void> | null = null;
  /** More commits were due for a sync while one ran: start another when it ends. */
  private again = false;
  private failed: { err: unknown } | null = null;
  private stopped = false;

  constructor(
    o: BatchSyncOptions,
    private readonly sync: () => Promise<void>,
  ) {
    // As in etcd, 0 means the default; a negative interval syncs right after each commit, a
    // negative limit counts every commit as over it.
    this.intervalMs = o.intervalMs === undefined || o.intervalMs === 0 ? DEFAULT_BATCH_INTERVAL_MS : o.intervalMs;
    this.limit = o.limit === undefined || o.limit === 0 ? DEFAULT_BATCH_LIMIT : o.limit;
  }

  /** A batch of `ops` operations committed. */
  committed(ops: number): void {
    if (this.stopped) return;
    this.pending += ops;
    if (this.pending >= this.limit) this.request();
    else if (this.timer === null) {
      this.due = performance.now() + this.intervalMs;
      this.arm(this.intervalMs);
    }
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.onTimer(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
    this.timer.unref();
  }

  private onTimer(): void {
    const left = this.due - performance.now();
    if (left > 1) this.arm(left);
    else this.request();
  }

  /** A background sync failed: the backend refuses further writes with its error. */
  throwIfFailed(): void {
    if (this.failed) throw this.failed.err;
  }

  /** No more scheduled syncs; makes what is pending durable (etcd commits its batch when it stops). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    if (this.pending > 0 && !this.failed) {
      this.pending = 0;
      await this.sync();
    }
  }

  private request(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) {
      this.again = true;
      return;
    }
    this.pending = 0;
    this.again = false;
    this.running = this.sync().then(
      () => this.finished(),
      (err: unknown) => {
        this.failed ??= { err };
        this.finished();
      },
    );
  }

  private finished(): void {
    this.running = null;
    if (this.stopped || this.failed) return;
    if (this.again) this.request();
  }
}
