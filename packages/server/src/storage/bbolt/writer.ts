// Writes a bbolt database file as a stream of chunks, with bounded memory, from top-level buckets
// whose entries come from iterators that can be run twice over the same data (e.g. one read
// transaction). Pass 1 (`plan`) sizes every bucket's tree; pass 2 (`chunks`) emits the bytes in
// file order:
//
//   page 0, 1   meta (txid 0 and 1; root bucket page, freelist page 2, high-water mark)
//   page 2      the freelist (empty: every page is in use)
//   page 3 ...  each bucket's tree, buckets in name order, pages in the order they are finished
//   last pages the root bucket: one entry per bucket (its root page id, or the inline bucket)
//
// Both passes must see identical entries; the second checks that it did (counts and sizes) and
// fails otherwise rather than produce a file whose meta pages lie.

import {
  DEFAULT_PAGE_SIZE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  MAX_KEY_SIZE,
  MAX_VALUE_SIZE,
  PAGE_FREELIST,
  compareBytes,
  writeMetaPage,
  writePageHeader,
  writeU64,
} from './format.js';
import { TreeBuilder, type PageAllocator, type PageSink, type TreeResult } from './tree-builder.js';

export interface BoltEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export interface BucketInput {
  name: Uint8Array;
  /**
   * The bucket's entries in strictly ascending key order (bytewise). Called once per pass: both
   * calls must yield the same entries. Yielded buffers may be reused once the next one is asked for.
   */
  entries(): Iterable<BoltEntry>;
}

export interface BoltWriterOptions {
  /** Page size (default 4096). */
  pageSize?: number;
  /** Bytes per emitted chunk (a multiple of the page size; default 1 MiB). */
  chunkSize?: number;
  /**
   * Free bytes kept in front of every chunk, in the same buffer (`chunk.byteOffset - headroom` is
   * where they start): room to frame the chunk as a message without copying it. Default 0.
   */
  headroom?: number;
}

/** Entries between the plan pass's yields (a chance for the caller to let other work run). */
const PLAN_STEP = 8192;
const FIRST_DATA_PAGE = 3;

interface BucketPlan {
  entries: number;
  bytes: number;
  result: TreeResult;
}

export class BoltWriteError extends Error {
  override readonly name = 'BoltWriteError';
}

/** Collects pages into fixed-size chunks (after `headroom` free bytes); a full chunk is queued. */
class ChunkSink implements PageSink {
  private cur: Buffer;
  private pos: number;
  readonly ready: Buffer[] = [];
  written = 0;

  constructor(
    private readonly chunkSize: number,
    private readonly headroom: number,
  ) {
    this.cur = this.alloc(headroom + chunkSize);
    this.pos = headroom;
  }

  private alloc(n: number): Buffer {
    return Buffer.allocUnsafe(n);
  }

  reserve(n: number): { buf: Buffer; off: number } {
    if (this.pos + n > this.cur.length) {
      this.flush();
      if (this.headroom + n > this.cur.length) this.cur = this.alloc(this.headroom + n);
    }
    const off = this.pos;
    this.pos += n;
    this.written += n;
    return { buf: this.cur, off };
  }

  flush(): void {
    if (this.pos > this.headroom) this.ready.push(this.cur.subarray(this.headroom, this.pos));
    this.cur = this.alloc(this.headroom + this.chunkSize);
    this.pos = this.headroom;
  }
}

export class BoltWriter {
  private readonly buckets: BucketInput[];
  private readonly pageSize: number;
  private readonly chunkSize: number;
  private readonly headroom: number;
  private plans: BucketPlan[] | null = null;
  private rootPlan: TreeResult | null = null;
  private pages = 0;

  constructor(buckets: readonly BucketInput[], opts: BoltWriterOptions = {}) {
    this.pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (this.pageSize < 1024 || this.pageSize % 512 !== 0)
      throw new RangeError(`bbolt: bad page size ${this.pageSize}`);
    this.headroom = opts.headroom ?? 0;
    this.chunkSize = Math.max(this.pageSize, Math.floor((opts.chunkSize ?? 1 << 20) / this.pageSize) * this.pageSize);
    this.buckets = [...buckets].sort((a, b) => compareBytes(a.name, b.name));
    for (let i = 0; i < this.buckets.length; i++) {
      const n = this.buckets[i]!.name;
      if (n.length === 0 || n.length > MAX_KEY_SIZE) throw new BoltWriteError('bbolt: bad bucket name length');
      if (i > 0 && compareBytes(this.buckets[i - 1]!.name, n) === 0)
        throw new BoltWriteError(`bbolt: duplicate bucket ${Buffer.from(n).toString()}`);
    }
  }

  /** Total size of the file in bytes (after `plan`). */
  get byteSize(): number {
    if (!this.plans) throw new Error('bbolt: plan() first');
    return this.pages * this.pageSize;
  }

  /** Pass 1: sizes every tree. Yields now and then; run it to completion before `chunks()`. */
  *plan(): Generator<void, void, void> {
    const alloc: PageAllocator = { next: FIRST_DATA_PAGE };
    const plans: BucketPlan[] = [];
    let prev = Buffer.allocUnsafe(MAX_KEY_SIZE);
    for (const b of this.buckets) {
      const t = new TreeBuilder('plan', this.pageSize, alloc, null, true);
      let prevLen = -1;
      let n = 0;
      for (const { key, value } of b.entries()) {
        if (key.length === 0 || key.length > MAX_KEY_SIZE)
          throw new BoltWriteError(`bbolt: key of ${key.length} bytes`);
        if (value.length > MAX_VALUE_SIZE) throw new BoltWriteError(`bbolt: value of ${value.length} bytes`);
        if (prevLen >= 0 && compareBytes(prev.subarray(0, prevLen), key) >= 0) {
          throw new BoltWriteError(`bbolt: keys of bucket ${Buffer.from(b.name).toString()} not in ascending order`);
        }
        prev.set(key, 0);
        prevLen = key.length;
        t.add(key, value);
        if (++n % PLAN_STEP === 0) yield;
      }
      plans.push({ entries: t.entries, bytes: t.bytes, result: t.finish() });
    }
    prev = Buffer.alloc(0);
    const root = new TreeBuilder('plan', this.pageSize, alloc, null, false);
    // Only the sizes count in a plan: a blank value of the right length stands for each bucket's.
    const header = Buffer.alloc(BUCKET_HEADER_SIZE);
    for (let i = 0; i < this.buckets.length; i++) {
      const r = plans[i]!.result;
      root.add(this.buckets[i]!.name, r.inline ? Buffer.alloc(r.size) : header, BUCKET_LEAF_FLAG);
    }
    this.rootPlan = root.finish();
    this.plans = plans;
    this.pages = alloc.next;
  }

  /** Pass 2: the file's bytes, in order, as chunks of `chunkSize` (the last may be shorter). */
  *chunks(): Generator<Buffer, void, void> {
    if (!this.plans || !this.rootPlan || this.rootPlan.inline) throw new Error('bbolt: plan() first');
    const ps = this.pageSize;
    const sink = new ChunkSink(this.chunkSize, this.headroom);
    // Meta pages and the (empty) freelist.
    const head = sink.reserve(FIRST_DATA_PAGE * ps);
    head.buf.fill(0, head.off, head.off + FIRST_DATA_PAGE * ps);
    for (let id = 0; id < 2; id++) {
      writeMetaPage(head.buf, head.off + id * ps, id, {
        pageSize: ps,
        flags: 0,
        root: this.rootPlan.root,
        rootSequence: 0n,
        freelist: 2,
        pgid: this.pages,
        txid: id,
      });
    }
    writePageHeader(head.buf, head.off + 2 * ps, 2, PAGE_FREELIST, 0, 0);

    const alloc: PageAllocator = { next: FIRST_DATA_PAGE };
    const values: Buffer[] = [];
    for (let i = 0; i < this.buckets.length; i++) {
      const b = this.buckets[i]!;
      const plan = this.plans[i]!;
      const t = new TreeBuilder('write', ps, alloc, sink, true);
      for (const { key, value } of b.entries()) {
        t.add(key, value);
        while (sink.ready.length > 0) yield sink.ready.shift()!;
        if (t.entries > plan.entries) break;
      }
      const r = t.finish();
      if (t.entries !== plan.entries || t.bytes !== plan.bytes || r.inline !== plan.result.inline) {
        throw new BoltWriteError(`bbolt: bucket ${Buffer.from(b.name).toString()} changed between passes`);
      }
      if (r.inline) values.push(r.value!);
      else {
        const h = Buffer.alloc(BUCKET_HEADER_SIZE);
        writeU64(h, 0, r.root);
        values.push(h);
      }
      while (sink.ready.length > 0) yield sink.ready.shift()!;
    }
    const root = new TreeBuilder('write', ps, alloc, sink, false);
    for (let i = 0; i < this.buckets.length; i++) root.add(this.buckets[i]!.name, values[i]!, BUCKET_LEAF_FLAG);
    const r = root.finish();
    if (r.inline || r.root !== this.rootPlan.root || alloc.next !== this.pages) {
      throw new BoltWriteError('bbolt: layout differs from the plan');
    }
    sink.flush();
    while (sink.ready.length > 0) yield sink.ready.shift()!;
    if (sink.written !== this.pages * ps) throw new BoltWriteError('bbolt: size differs from the plan');
  }
}
