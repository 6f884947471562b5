// The storage backend: one LMDB environment holding every sub-database named in schema.ts.
//
// Writes happen only inside `batch(fn)`: one synchronous LMDB write transaction in which the MVCC
// store, the lessor, auth and membership all write, together with the Raft applied index. A commit
// is visible to every read at once. LMDB commits are not fsynced one by one (the WAL is the source
// of truth); `sync()` makes everything committed so far durable. It runs where etcd's backend
// commits its batch transaction (--backend-batch-interval / --backend-batch-limit, batch-sync.ts)
// and before the WAL is released.
//
// Defragment and restore replace the data file with a new generation (see files.ts) without a
// window in which reads fail: the copy is made while writes are held off (`batch` throws
// BackendBusyError; callers await `whenIdle()`), the new file is opened, handles are swapped
// synchronously, then the old environment is closed.

import type { RootDatabase, Transaction } from 'lmdb';
import { once } from 'node:events';
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { copyFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendBusyError, BackendClosedError, NotInBatchError } from './errors.js';
import { checkLmdbFile, dataFileName, fsyncDir, fsyncFile, prepareDir, publish, removeDataFile } from './files.js';
import { openEnv, usedPages, type Dbs, type Env } from './env.js';
import { BatchSync, type BatchSyncOptions } from './batch-sync.js';
import { META, decodeUint64, encodeUint64, metaKey } from './schema.js';

export interface BackendOptions {
  /** Directory of the backend (created if missing). */
  path: string;
  /** Initial LMDB map size in bytes (default 4 GiB; virtual address space, grown on demand). */
  mapSize?: number;
  /**
   * fsync every batch commit (default false: commits reach the OS page cache and become durable
   * at `sync()`; the WAL holds the truth meanwhile). See `sync()` for the trade-off.
   */
  durableCommits?: boolean;
  /** Told how long each batch commit, defragment and snapshot copy took (etcd's backend metrics). */
  observer?: BackendObserver;
  /** --unsafe-no-fsync: `sync()` and durable commits never fsync (bbolt's NoSync in etcd). */
  unsafeNoFsync?: boolean;
  /** When commits are made durable (--backend-batch-interval / --backend-batch-limit; etcd's defaults if absent). */
  batchSync?: BatchSyncOptions;
}

/** Receives backend operation durations, in seconds. */
export interface BackendObserver {
  commitSeconds(s: number): void;
  defragSeconds(s: number): void;
  snapshotSeconds(s: number): void;
}

/** See Backend.readView(). */
export interface BackendReadView {
  dbs: Dbs;
  /** The same sub-databases, read without copies: each key and value is valid until the next read. */
  volatile: Dbs;
  txn: Transaction;
  release(): void;
}

/** Why the data file was replaced. After 'restore' the contents differ: stores must reload. */
export type ReplaceReason = 'defragment' | 'restore';

const DEFAULT_MAP_SIZE = 4 * 1024 ** 3;
// lmdb-js transactionSync flags: ABORTABLE | SYNCHRONOUS_COMMIT, plus NO_SYNC_FLUSH to skip the fsync.
const TXN_DURABLE = 0x3;
const TXN_NO_SYNC = 0x10003;

export class Backend {
  private root: RootDatabase<Buffer, Buffer>;
  private _dbs: Dbs;
  private volatile: Dbs;
  private gen: number;
  private file: string;
  private depth = 0;
  private seq = 0;
  private commitHooks: Array<() => void> = [];
  private abortHooks: Array<(err: unknown) => void> = [];
  private busyOp: string | null = null;
  private busy: Promise<void> | null = null;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly replaceListeners = new Set<(reason: ReplaceReason) => void>();
  private readonly closeHooks = new Set<() => Promise<void> | void>();
  private tmpCounter = 0;
  private syncCount = 0;
  /** Schedules the syncs etcd's batch interval and limit call for (none with --unsafe-no-fsync). */
  private readonly batchSync: BatchSync | null;

  private constructor(
    readonly dir: string,
    private readonly mapSize: number,
    private readonly txnFlags: number,
    private readonly observer: BackendObserver | null,
    gen: number,
    file: string,
    env: Env,
    private readonly noFsync = false,
    batchSync: BatchSyncOptions = {},
  ) {
    this.batchSync = noFsync ? null : new BatchSync(batchSync, () => this.sync());
    this.gen = gen;
    this.file = file;
    this.root = env.root;
    this._dbs = env.dbs;
    this.volatile = env.volatile;
  }

  static async open(opts: BackendOptions): Promise<Backend> {
    const mapSize = opts.mapSize ?? DEFAULT_MAP_SIZE;
    const { gen, file } = await prepareDir(opts.path);
    const env = await openEnv(file, mapSize);
    return new Backend(
      opts.path,
      mapSize,
      opts.durableCommits && !opts.unsafeNoFsync ? TXN_DURABLE : TXN_NO_SYNC,
      opts.observer ?? null,
      gen,
      file,
      env,
      opts.unsafeNoFsync === true,
      opts.batchSync,
    );
  }

  /** Current sub-database handles. They change on defragment/restore: look them up per use. */
  get dbs(): Dbs {
    return this._dbs;
  }

  /** Path of the current LMDB data file. */
  get dataFile(): string {
    return this.file;
  }

  /** True while inside `batch()`. */
  get inBatch(): boolean {
    return this.depth > 0;
  }

  /** Increments once per top-level batch; lets components register batch hooks once per batch. */
  get batchSeq(): number {
    return this.seq;
  }

  get isClosed(): boolean {
    return this.state !== 'open';
  }

  /**
   * Runs `fn` inside ONE synchronous LMDB write transaction and returns its result. If `fn` throws,
   * nothing it wrote is kept and the abort hooks run (in reverse order) before the error is
   * rethrown; otherwise the commit hooks run after the commit. A nested call joins the outer batch
   * (it is not a savepoint). `fn` must not be async. `writes`: how many operations the batch counts
   * as against --backend-batch-limit (the applier counts its entries). Throws BackendBusyError
   * during a defragment or restore (await `whenIdle()` and retry), BackendClosedError after close,
   * and the error of a failed background sync (the member must not go on as if it were durable).
   */
  batch<T>(fn: () => T, writes = 1): T {
    if (this.depth > 0) return fn();
    if (this.state !== 'open') throw new BackendClosedError();
    if (this.busyOp !== null) throw new BackendBusyError(this.busyOp);
    this.batchSync?.throwIfFailed();
    this.depth = 1;
    this.seq++;
    const t = this.observer ? performance.now() : 0;
    let result: T;
    try {
      result = this.root.transactionSync(() => {
        const r = fn();
        if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
          throw new TypeError('backend.batch: fn must be synchronous');
        }
        return r;
      }, this.txnFlags);
    } catch (err) {
      this.depth = 0;
      const aborts = this.abortHooks;
      if (aborts.length > 0) this.abortHooks = [];
      if (this.commitHooks.length > 0) this.commitHooks = [];
      for (let i = aborts.length - 1; i >= 0; i--) aborts[i]!(err);
      throw err;
    }
    this.depth = 0;
    if (this.observer) this.observer.commitSeconds((performance.now() - t) / 1000);
    this.batchSync?.committed(writes);
    if (this.abortHooks.length > 0) this.abortHooks = [];
    const commits = this.commitHooks;
    if (commits.length > 0) {
      this.commitHooks = [];
      let first: unknown;
      let failed = false;
      for (const h of commits) {
        try {
          h();
        } catch (err) {
          if (!failed) first = err;
          failed = true;
        }
      }
      if (failed) throw first;
    }
    return result;
  }

  /** Inside a batch: runs `fn` after the batch commits (hooks run in registration order). */
  afterCommit(fn: () => void): void {
    if (this.depth === 0) throw new NotInBatchError('afterCommit');
    this.commitHooks.push(fn);
  }

  /** Inside a batch: runs `fn` if the batch aborts, to undo in-memory changes. */
  onAbort(fn: (err: unknown) => void): void {
    if (this.depth === 0) throw new NotInBatchError('onAbort');
    this.abortHooks.push(fn);
  }

  assertInBatch(operation: string): void {
    if (this.depth === 0) throw new NotInBatchError(operation);
  }

  getMeta(name: string): Buffer | undefined {
    return this._dbs.meta.get(metaKey(name));
  }

  putMeta(name: string, value: Buffer): void {
    this.assertInBatch('putMeta');
    this._dbs.meta.putSync(metaKey(name), value);
  }

  deleteMeta(name: string): void {
    this.assertInBatch('deleteMeta');
    this._dbs.meta.removeSync(metaKey(name));
  }

  /** Records the Raft index and term of the entry being applied, in the same transaction as its effects. */
  setAppliedIndex(index: number, term: number): void {
    this.assertInBatch('setAppliedIndex');
    this._dbs.meta.putSync(metaKey(META.appliedIndex), encodeUint64(index));
    this._dbs.meta.putSync(metaKey(META.appliedTerm), encodeUint64(term));
  }

  /** Raft index of the last applied entry (0 for a new backend). */
  appliedIndex(): number {
    const b = this.getMeta(META.appliedIndex);
    return b ? decodeUint64(b) : 0;
  }

  /** Raft term of the last applied entry (0 for a new backend). */
  appliedTerm(): number {
    const b = this.getMeta(META.appliedTerm);
    return b ? decodeUint64(b) : 0;
  }

  /**
   * Makes every committed transaction durable (fsync of the data file, off the event loop).
   * Without `durableCommits`, commits are ordered writes to the page cache: a process crash loses
   * nothing, but an OS crash or power loss before `sync()` may lose (or, since LMDB then depends on
   * the file system keeping write order, damage) the commits since the last sync.
   */
  async sync(): Promise<void> {
    this.assertOpen();
    if (this.noFsync) return;
    const root = this.root as unknown as { sync(cb: (err?: unknown) => void): void };
    await this.track(
      new Promise<void>((resolve, reject) => {
        root.sync((err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      }),
    );
    this.syncCount++;
  }

  /** How many syncs (fsyncs of the data file) completed, for whatever reason. */
  get syncs(): number {
    return this.syncCount;
  }

  /** Size of the data file in bytes (Status.dbSize). */
  size(): number {
    return statSync(this.file).size;
  }

  /** Bytes of the data file used by live pages (Status.dbSizeInUse). */
  sizeInUse(): number {
    return usedPages(this.root, this._dbs);
  }

  /** LMDB reader slots in use (etcd_mvcc_db_open_read_transactions). */
  openReaders(): number {
    return (this.root.getStats() as { numReaders: number }).numReaders;
  }

  /** Resolves when no defragment or restore is running. */
  async whenIdle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /** Name of the exclusive operation in progress ('defragment' | 'restore'), or null. */
  get busyOperation(): string | null {
    return this.busyOp;
  }

  /** Rewrites the data file without free pages (copy-compact, then swap). Writes wait meanwhile. */
  async defragment(): Promise<void> {
    const t = performance.now();
    await this.exclusive('defragment', async () => {
      const gen = this.gen + 1;
      const final = join(this.dir, dataFileName(gen));
      await this.copyTo(final);
      await this.swapTo(gen, final, 'defragment');
    });
    this.observer?.defragSeconds((performance.now() - t) / 1000);
  }

  /** Writes a consistent, compacted copy of the whole backend to `path` (an LMDB data file). */
  async snapshotTo(path: string): Promise<void> {
    this.assertOpen();
    await this.copyTo(path);
  }

  /** The compacted copy, written beside `path` and renamed into place; nothing is left on failure. */
  private async copyTo(path: string): Promise<void> {
    const tmp = `${path}.tmp`;
    await removeDataFile(tmp);
    try {
      await this.track(this.root.backup(tmp, true));
      await publish(tmp, path);
    } catch (err) {
      await removeDataFile(tmp);
      throw err;
    }
  }

  /**
   * A consistent copy of the backend as a byte stream (for the Snapshot RPC or a new member). The
   * copy is an unlinked temporary file held open by the stream: consume or destroy the stream.
   */
  async snapshotStream(): Promise<{ size: number; stream: ReadStream }> {
    this.assertOpen();
    const tmp = join(this.dir, `snapshot-${process.pid}-${++this.tmpCounter}.tmp`);
    const t = performance.now();
    await removeDataFile(tmp);
    try {
      await this.track(this.root.backup(tmp, true));
      this.observer?.snapshotSeconds((performance.now() - t) / 1000);
      const { size } = await stat(tmp);
      const stream = createReadStream(tmp);
      await once(stream, 'open');
      await removeDataFile(tmp); // the open descriptor keeps the bytes readable
      return { size, stream };
    } catch (err) {
      await removeDataFile(tmp);
      throw err;
    }
  }

  /**
   * A read-only view of the whole backend frozen at this moment (one LMDB read transaction), for a
   * snapshot streamed while writes go on: read it with `{ transaction: view.txn }`. Defragment,
   * restore and close wait until it is released; release it promptly (it also keeps LMDB from
   * reusing pages freed meanwhile).
   */
  readView(): BackendReadView {
    this.assertOpen();
    const txn = this.root.useReadTransaction();
    let release!: () => void;
    void this.track(new Promise<void>((r) => (release = r)));
    let released = false;
    return {
      dbs: this._dbs,
      volatile: this.volatile,
      txn,
      release: () => {
        if (released) return;
        released = true;
        txn.done();
        release();
      },
    };
  }

  /**
   * Replaces the whole contents with the snapshot file at `path` (made by snapshotTo/snapshotStream).
   * Listeners registered with onReplace get 'restore' and must reload their in-memory state.
   */
  async restoreFrom(path: string): Promise<void> {
    await this.exclusive('restore', async () => {
      const gen = this.gen + 1;
      const final = join(this.dir, dataFileName(gen));
      const tmp = `${final}.tmp`;
      await removeDataFile(tmp);
      try {
        await checkLmdbFile(path);
        await copyFile(path, tmp);
        await fsyncFile(tmp);
        const probe = await openEnv(tmp, this.mapSize);
        await probe.root.close();
        await publish(tmp, final);
      } catch (err) {
        await removeDataFile(tmp);
        throw err;
      }
      await this.swapTo(gen, final, 'restore');
    });
  }

  /** Called (synchronously) right after the data file was replaced. Returns an unsubscribe function. */
  onReplace(listener: (reason: ReplaceReason) => void): () => void {
    this.replaceListeners.add(listener);
    return () => this.replaceListeners.delete(listener);
  }

  /** Awaited at the start of close(), e.g. to stop background compaction. Returns an unsubscribe function. */
  onClose(hook: () => Promise<void> | void): () => void {
    this.closeHooks.add(hook);
    return () => this.closeHooks.delete(hook);
  }

  /** Closes the environment after background work has stopped. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async doClose(): Promise<void> {
    if (this.depth > 0) throw new Error('backend.close() inside a batch');
    for (const hook of [...this.closeHooks]) await hook();
    await this.whenIdle();
    // etcd's backend commits what its batch holds when it stops
    await this.batchSync?.stop();
    this.state = 'closing';
    await Promise.allSettled([...this.inflight]);
    await this.root.close();
    this.state = 'closed';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new BackendClosedError();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  private async exclusive(op: string, fn: () => Promise<void>): Promise<void> {
    while (this.busy) await this.busy;
    this.assertOpen();
    if (this.depth > 0) throw new Error(`backend.${op}() inside a batch`);
    this.busyOp = op;
    let release!: () => void;
    this.busy = new Promise<void>((resolve) => (release = resolve));
    try {
      await fn();
    } finally {
      this.busyOp = null;
      this.busy = null;
      release();
    }
  }

  private async swapTo(gen: number, file: string, reason: ReplaceReason): Promise<void> {
    let env: Env;
    try {
      env = await openEnv(file, this.mapSize);
    } catch (err) {
      await removeDataFile(file);
      throw err;
    }
    const old = { root: this.root, file: this.file };
    this.root = env.root;
    this._dbs = env.dbs;
    this.volatile = env.volatile;
    this.gen = gen;
    this.file = file;
    // Writes stay blocked until listeners have caught up with the new contents.
    let failure: { err: unknown } | null = null;
    for (const l of [...this.replaceListeners]) {
      try {
        l(reason);
      } catch (err) {
        failure ??= { err };
      }
    }
    await Promise.allSettled([...this.inflight]);
    await old.root.close();
    await removeDataFile(old.file);
    await rm(`${old.file}.tmp`, { force: true });
    await fsyncDir(this.dir);
    if (failure) throw failure.err;
  }
}
