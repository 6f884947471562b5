// A logical write transaction (one etcd Put, DeleteRange or Txn): all its writes share one main
// revision with increasing sub revisions, and its reads see its own earlier writes, as etcd's
// storeTxnWrite. The revision is only consumed if something changed.

import { rangeBounds, type StoreCore } from './core.js';
import type { KeyEntry } from './key-index.js';
import type {
  DeleteOptions,
  DeleteResult,
  KeyValue,
  MvccEvent,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
} from './types.js';

export class WriteTxn {
  /** The revision this transaction's writes get (current revision + 1). */
  readonly rev: number;
  /** What this transaction did, in write order. */
  readonly events: MvccEvent[] = [];
  private sub = 0;
  private closed = false;

  /** @internal */
  constructor(
    private readonly core: StoreCore,
    /** The revision the transaction started at. */
    readonly beginRev: number,
  ) {
    this.rev = beginRev + 1;
  }

  /** True once the transaction wrote something (it will take revision `rev`). */
  get changed(): boolean {
    return this.sub > 0;
  }

  /** Reads at the transaction's view: its start revision, or `rev` once it has written (etcd's rule). */
  range(key: Buffer, end: Buffer | null, opts?: RangeOptions): RangeResult {
    return this.read<KeyValue>(key, end, opts, false);
  }

  /** As range, returning the stored protobuf mvccpb.KeyValue bytes. */
  rangeRaw(key: Buffer, end: Buffer | null, opts?: RangeOptions): RangeResult<Buffer> {
    return this.read<Buffer>(key, end, opts, true);
  }

  /** Puts `key`. The caller must not mutate `key` or `value` afterwards (events keep them). */
  put(key: Buffer, value: Buffer, lease: bigint = 0n, opts?: PutOptions): PutResult {
    this.assertOpen();
    if (key.length === 0) throw new RangeError('mvcc: empty key');
    const c = this.core.counters;
    c.put++;
    c.putBytes += key.length + value.length;
    const r = this.core.put(this.rev, this.sub++, key, value, lease, opts?.prevKv === true);
    const ev: MvccEvent = { type: 'put', kv: r.kv, prevLease: r.prevLease };
    if (r.prevKv) ev.prevKv = r.prevKv;
    this.events.push(ev);
    return r.prevKv ? { prevKv: r.prevKv, prevLease: r.prevLease } : { prevLease: r.prevLease };
  }

  /** Deletes the keys in [key, end) (end null or empty = the single key) that exist. */
  deleteRange(key: Buffer, end: Buffer | null, opts?: DeleteOptions): DeleteResult {
    this.assertOpen();
    const core = this.core;
    core.counters.delete++;
    const targets: KeyEntry[] = [];
    if (end === null || end.length === 0) {
      const e = core.index.get(key.toString('latin1'));
      if (e?.live) targets.push(e);
    } else {
      const b = rangeBounds(key, end);
      if (b) core.index.forRange(b[0], b[1], (e) => void (e.live && targets.push(e)));
    }
    const wantPrev = opts?.prevKv === true;
    const prevKvs: KeyValue[] = [];
    for (const e of targets) {
      const r = core.tombstone(this.rev, this.sub++, e, wantPrev);
      const ev: MvccEvent = { type: 'delete', kv: r.kv, prevLease: r.prevLease };
      if (r.prevKv) {
        ev.prevKv = r.prevKv;
        prevKvs.push(r.prevKv);
      }
      this.events.push(ev);
    }
    return { deleted: targets.length, prevKvs };
  }

  /** @internal Marks the transaction finished; later calls throw. */
  close(): void {
    this.closed = true;
  }

  private read<T extends KeyValue | Buffer>(
    key: Buffer,
    end: Buffer | null,
    opts: RangeOptions | undefined,
    raw: boolean,
  ): RangeResult<T> {
    this.assertOpen();
    const current = this.sub > 0 ? this.rev : this.beginRev;
    const atRev = this.core.resolveRev(opts?.rev, current);
    const { kvs, count } = this.core.readRange<T>(key, end, atRev, opts, raw);
    return { kvs, count, rev: current };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('mvcc: write transaction already ended');
  }
}
