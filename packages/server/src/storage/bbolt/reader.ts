// Reads a bbolt database file (e.g. an etcd backend or snapshot) without mapping it: pages are read
// with positional reads as the B+trees are walked in key order. Validates what it touches — meta
// checksums, page ids and types, element bounds, pages inside the file and below the high-water mark
// — and fails with bbolt's error texts where bbolt has one ("invalid database", "version mismatch",
// "checksum error") and a precise one otherwise (e.g. a truncated file).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  BRANCH_ELEMENT_SIZE,
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  LEAF_ELEMENT_SIZE,
  PAGE_BRANCH,
  PAGE_FREELIST,
  PAGE_HEADER_SIZE,
  PAGE_LEAF,
  NO_FREELIST,
  pageType,
  readMetaPage,
  readU16,
  readU32,
  readU64,
  type Meta,
} from './format.js';

export class BoltReadError extends Error {
  override readonly name = 'BoltReadError';
}

/** One entry of a bucket. `key` and `value` are views valid until the iteration moves on. */
export interface BoltItem {
  key: Buffer;
  /** The value; for a sub-bucket, its raw bucket value (header and inline page). */
  value: Buffer;
  /** True when the entry is a nested bucket. */
  bucket: boolean;
}

/** Where a bucket's tree lives: a root page, or an inline page inside its parent's value. */
export interface BucketRef {
  root: number;
  sequence: bigint;
  /** The inline page (header + elements), when root is 0. */
  inline: Buffer | null;
}

export interface BoltReaderOptions {
  /**
   * Bytes at the end of the file that are not part of the database (etcd's snapshot trailer: a
   * 32-byte SHA-256). Pages must end before them.
   */
  trailerBytes?: number;
}

export class BoltReader {
  readonly meta: Meta;
  readonly pageSize: number;
  /** Bytes of the file that pages may occupy. */
  readonly dataSize: number;
  private fd: number | null;
  private scratch: Buffer;

  private constructor(fd: number, meta: Meta, dataSize: number) {
    this.fd = fd;
    this.meta = meta;
    this.pageSize = meta.pageSize;
    this.dataSize = dataSize;
    this.scratch = Buffer.allocUnsafe(meta.pageSize);
  }

  /** Opens `path` and picks the valid meta page with the higher transaction id. */
  static open(path: string, opts: BoltReaderOptions = {}): BoltReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const dataSize = size - (opts.trailerBytes ?? 0);
      // As bbolt: the page size comes from meta page 0 if it is valid (else 4096), the file must
      // hold two pages, and the valid meta with the higher transaction id wins.
      const head = Buffer.alloc(Math.min(size, DEFAULT_PAGE_SIZE));
      readSync(fd, head, 0, head.length, 0);
      const m0 = readMetaPage(head, 0);
      const pageSize = m0.ok ? m0.meta.pageSize : DEFAULT_PAGE_SIZE;
      if (size < pageSize * 2) throw new BoltReadError(`file size too small ${size}`);
      const metas = Buffer.alloc(pageSize * 2);
      readSync(fd, metas, 0, metas.length, 0);
      const a = readMetaPage(metas, 0);
      const b = readMetaPage(metas, pageSize);
      let meta: Meta;
      if (a.ok && b.ok) meta = a.meta.txid >= b.meta.txid ? a.meta : b.meta;
      else if (a.ok) meta = a.meta;
      else if (b.ok) meta = b.meta;
      else throw new BoltReadError(a.error);
      if (meta.pageSize !== pageSize) throw new BoltReadError('invalid database');
      if (!(meta.pageSize >= 512 && meta.pageSize <= 1 << 16) || !Number.isFinite(meta.pgid) || meta.pgid < 3) {
        throw new BoltReadError('invalid database');
      }
      if (meta.pgid * meta.pageSize > dataSize) {
        throw new BoltReadError(
          `database file truncated: ${dataSize} bytes hold ${Math.floor(dataSize / meta.pageSize)} of its ${meta.pgid} pages`,
        );
      }
      return new BoltReader(fd, meta, dataSize);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Bytes in use (bbolt's tx.Size(): high-water mark × page size). */
  get size(): number {
    return this.meta.pgid * this.pageSize;
  }

  /** The root bucket. */
  get root(): BucketRef {
    return { root: this.meta.root, sequence: this.meta.rootSequence, inline: null };
  }

  /** Reads page `id` (with its overflow pages) and checks its header. */
  page(id: number, expect?: number): Buffer {
    if (this.fd === null) throw new BoltReadError('bbolt: reader closed');
    if (!Number.isInteger(id) || id < 2 || id >= this.meta.pgid) {
      throw new BoltReadError(`page ${id}: out of bounds: ${this.meta.pgid}`);
    }
    const ps = this.pageSize;
    this.readInto(this.scratch, 0, ps, id * ps);
    const overflow = readU32(this.scratch, 12);
    let buf = this.scratch;
    if (overflow > 0) {
      if (id + overflow >= this.meta.pgid) throw new BoltReadError(`page ${id}: overflow beyond high-water mark`);
      buf = Buffer.allocUnsafe((overflow + 1) * ps);
      this.scratch.copy(buf, 0, 0, ps);
      this.readInto(buf, ps, overflow * ps, (id + 1) * ps);
    } else {
      // The next read reuses the scratch page: hand out a copy only when the caller keeps pages.
      buf = Buffer.from(this.scratch);
    }
    const pid = readU64(buf, 0);
    const flags = readU16(buf, 8);
    if (pid !== id) throw new BoltReadError(`page ${id}: invalid page id ${pid} (corrupted database?)`);
    if (expect !== undefined && (flags & expect) === 0) {
      throw new BoltReadError(`page ${id}: invalid page type: ${pageType(flags)}`);
    }
    return buf;
  }

  private readInto(buf: Buffer, off: number, len: number, pos: number): void {
    if (pos + len > this.dataSize) {
      throw new BoltReadError(`database file truncated: page at byte ${pos} ends past ${this.dataSize}`);
    }
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd!, buf, off + done, len - done, pos + done);
      if (n === 0) throw new BoltReadError(`database file truncated at byte ${pos + done}`);
      done += n;
    }
  }

  /** Page ids listed in the freelist page ([] when the freelist was not synced). */
  freelist(): number[] {
    if (this.meta.freelist === NO_FREELIST) return [];
    const p = this.page(this.meta.freelist, PAGE_FREELIST);
    let count = readU16(p, 10);
    let off = PAGE_HEADER_SIZE;
    if (count === 0xffff) {
      count = readU64(p, off);
      off += 8;
    }
    if (off + count * 8 > p.length) throw new BoltReadError(`page ${this.meta.freelist}: freelist overflows its page`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(readU64(p, off + i * 8));
    return ids;
  }

  /** Decodes a bucket value (header + optional inline page). */
  static bucketRef(value: Buffer): BucketRef {
    if (value.length < BUCKET_HEADER_SIZE) throw new BoltReadError(`bucket value of ${value.length} bytes`);
    const root = readU64(value, 0);
    const sequence = value.readBigUInt64LE(8);
    return { root, sequence, inline: root === 0 ? value.subarray(BUCKET_HEADER_SIZE) : null };
  }

  /** The bucket named `name` inside `parent` (default: the root bucket), or null. */
  bucket(name: Uint8Array, parent: BucketRef = this.root): BucketRef | null {
    for (const it of this.entries(parent)) {
      const c = Buffer.compare(it.key, name);
      if (c === 0) return it.bucket ? BoltReader.bucketRef(it.value) : null;
      if (c > 0) return null;
    }
    return null;
  }

  /** Every entry of the bucket, in key order. */
  *entries(ref: BucketRef): Generator<BoltItem, void, void> {
    if (ref.root === 0) {
      if (!ref.inline) throw new BoltReadError('bucket has neither root page nor inline page');
      yield* this.leafEntries(ref.inline, -1);
      return;
    }
    yield* this.walk(ref.root, 0);
  }

  private *walk(id: number, depth: number): Generator<BoltItem, void, void> {
    if (depth > 64) throw new BoltReadError(`page ${id}: tree deeper than 64 levels (corrupted database?)`);
    const p = this.page(id, PAGE_BRANCH | PAGE_LEAF);
    const flags = readU16(p, 8);
    if (flags & PAGE_LEAF) {
      yield* this.leafEntries(p, id);
      return;
    }
    const count = readU16(p, 10);
    if (PAGE_HEADER_SIZE + count * BRANCH_ELEMENT_SIZE > p.length)
      throw new BoltReadError(`page ${id}: elements overflow the page`);
    for (let i = 0; i < count; i++) {
      const e = PAGE_HEADER_SIZE + i * BRANCH_ELEMENT_SIZE;
      const pos = readU32(p, e);
      const ksize = readU32(p, e + 4);
      if (e + pos + ksize > p.length) throw new BoltReadError(`page ${id}: key ${i} overflows the page`);
      yield* this.walk(readU64(p, e + 8), depth + 1);
    }
  }

  /** Entries of a leaf page (`id` -1 for an inline page). */
  private *leafEntries(p: Buffer, id: number): Generator<BoltItem, void, void> {
    const flags = readU16(p, 8);
    if (!(flags & PAGE_LEAF)) throw new BoltReadError(`page ${id}: invalid page type: ${pageType(flags)}`);
    const count = readU16(p, 10);
    if (PAGE_HEADER_SIZE + count * LEAF_ELEMENT_SIZE > p.length)
      throw new BoltReadError(`page ${id}: elements overflow the page`);
    const item: BoltItem = { key: p, value: p, bucket: false };
    for (let i = 0; i < count; i++) {
      const e = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
      const eflags = readU32(p, e);
      const pos = readU32(p, e + 4);
      const ksize = readU32(p, e + 8);
      const vsize = readU32(p, e + 12);
      const k = e + pos;
      if (k + ksize + vsize > p.length) throw new BoltReadError(`page ${id}: entry ${i} overflows the page`);
      item.key = p.subarray(k, k + ksize);
      item.value = p.subarray(k + ksize, k + ksize + vsize);
      item.bucket = (eflags & BUCKET_LEAF_FLAG) !== 0;
      yield item;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
