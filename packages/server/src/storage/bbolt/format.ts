// The on-disk format of a bbolt database (go.etcd.io/bbolt, file format version 2), as documented by
// bbolt: a file of fixed-size pages, all integers little-endian.
//
//   page header (16 bytes): id u64 | flags u16 | count u16 | overflow u32
//     flags: branch 0x01, leaf 0x02, meta 0x04, freelist 0x10; `overflow` = extra pages this page
//     spans (a node larger than one page occupies 1 + overflow contiguous pages).
//   meta page (pages 0 and 1), after the header: magic u32 (0xED0CDAED) | version u32 (2) |
//     pageSize u32 | flags u32 | root bucket {root pgid u64, sequence u64} | freelist pgid u64 |
//     pgid u64 (high-water mark: pages in use) | txid u64 | checksum u64 (FNV-1a 64 of the 56 bytes
//     before it). A reader takes the valid meta with the higher txid.
//   leaf element (16 bytes): flags u32 (0x01 = the value is a sub-bucket) | pos u32 | ksize u32 |
//     vsize u32; the key starts `pos` bytes after the element itself, the value right after the key.
//   branch element (16 bytes): pos u32 | ksize u32 | pgid u64 (child page; the key is its first key).
//   freelist page: `count` page ids (u64) after the header; when count is 0xFFFF the first u64 holds
//     the real count. A meta freelist pgid of 2^64-1 means "not synced": readers rebuild it.
//   bucket value: bucket header {root pgid u64, sequence u64}; root 0 = an inline bucket whose
//     page (header + elements, no id) follows the header inside the value.

export const DEFAULT_PAGE_SIZE = 4096;
export const PAGE_HEADER_SIZE = 16;
export const LEAF_ELEMENT_SIZE = 16;
export const BRANCH_ELEMENT_SIZE = 16;
export const BUCKET_HEADER_SIZE = 16;
/** Bytes of the meta struct that the checksum covers (everything before the checksum). */
export const META_CHECKED_SIZE = 56;
export const META_SIZE = 64;

export const MAGIC = 0xed0cdaed;
export const VERSION = 2;

export const PAGE_BRANCH = 0x01;
export const PAGE_LEAF = 0x02;
export const PAGE_META = 0x04;
export const PAGE_FREELIST = 0x10;

/** Leaf element flag: the value is a (nested) bucket. */
export const BUCKET_LEAF_FLAG = 0x01;

/** The largest key and value bbolt accepts. */
export const MAX_KEY_SIZE = 32768;
export const MAX_VALUE_SIZE = 0x7fff_fffe;

/** A bucket small enough (page header + elements) is stored inline in its parent's value. */
export const inlineLimit = (pageSize: number): number => pageSize / 4;

/** Meta freelist value meaning "the freelist was not written" (bbolt's NoFreelistSync). */
export const NO_FREELIST = -1;

const TWO_32 = 0x1_0000_0000;

/** Reads a u64 that must fit a JS number (page ids, counts). */
export function readU64(b: Uint8Array, off: number): number {
  const lo = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
  const hi = (b[off + 4]! | (b[off + 5]! << 8) | (b[off + 6]! << 16) | (b[off + 7]! << 24)) >>> 0;
  if (hi > 0x1f_ffff) return hi === 0xffff_ffff && lo === 0xffff_ffff ? NO_FREELIST : Number.NaN;
  return hi * TWO_32 + lo;
}

export function writeU64(b: Uint8Array, off: number, v: number): void {
  if (v === NO_FREELIST) {
    writeU32(b, off, 0xffff_ffff);
    writeU32(b, off + 4, 0xffff_ffff);
    return;
  }
  writeU32(b, off, v >>> 0);
  writeU32(b, off + 4, Math.floor(v / TWO_32));
}

export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = v >>> 24;
}

export function readU16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}

export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = v >>> 8;
}

export interface PageHeader {
  id: number;
  flags: number;
  count: number;
  overflow: number;
}

export function writePageHeader(b: Uint8Array, off: number, id: number, flags: number, count: number, overflow = 0) {
  writeU64(b, off, id);
  writeU16(b, off + 8, flags);
  writeU16(b, off + 10, count);
  writeU32(b, off + 12, overflow);
}

export function readPageHeader(b: Uint8Array, off = 0): PageHeader {
  return {
    id: readU64(b, off),
    flags: readU16(b, off + 8),
    count: readU16(b, off + 10),
    overflow: readU32(b, off + 12),
  };
}

export function pageType(flags: number): string {
  if (flags & PAGE_BRANCH) return 'branch';
  if (flags & PAGE_LEAF) return 'leaf';
  if (flags & PAGE_META) return 'meta';
  if (flags & PAGE_FREELIST) return 'freelist';
  return `unknown<${flags.toString(16).padStart(2, '0')}>`;
}

export interface Meta {
  pageSize: number;
  flags: number;
  /** Root page of the root bucket. */
  root: number;
  rootSequence: bigint;
  /** Freelist page, or NO_FREELIST. */
  freelist: number;
  /** High-water mark: the number of pages the database uses. */
  pgid: number;
  txid: number;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bits. */
export function fnv1a64(b: Uint8Array, start: number, end: number): bigint {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = ((h ^ BigInt(b[i]!)) * FNV_PRIME) & U64;
  return h;
}

/** Writes a meta page (header and meta struct, checksum included) at `off`; the rest stays as it is. */
export function writeMetaPage(b: Uint8Array, off: number, id: number, m: Meta): void {
  writePageHeader(b, off, id, PAGE_META, 0, 0);
  const o = off + PAGE_HEADER_SIZE;
  writeU32(b, o, MAGIC);
  writeU32(b, o + 4, VERSION);
  writeU32(b, o + 8, m.pageSize);
  writeU32(b, o + 12, m.flags);
  writeU64(b, o + 16, m.root);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  view.setBigUint64(o + 24, m.rootSequence, true);
  writeU64(b, o + 32, m.freelist);
  writeU64(b, o + 40, m.pgid);
  writeU64(b, o + 48, m.txid);
  view.setBigUint64(o + 56, fnv1a64(b, o, o + META_CHECKED_SIZE), true);
}

/** Why a meta page is not valid (bbolt's error texts), or the meta it holds. */
export type MetaResult =
  | { ok: true; meta: Meta }
  | { ok: false; error: 'invalid database' | 'version mismatch' | 'checksum error' };

/** Decodes and validates the meta struct of the page at `off`. */
export function readMetaPage(b: Uint8Array, off: number): MetaResult {
  const o = off + PAGE_HEADER_SIZE;
  if (b.length < o + META_SIZE) return { ok: false, error: 'invalid database' };
  if (readU32(b, o) !== MAGIC) return { ok: false, error: 'invalid database' };
  if (readU32(b, o + 4) !== VERSION) return { ok: false, error: 'version mismatch' };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getBigUint64(o + 56, true) !== fnv1a64(b, o, o + META_CHECKED_SIZE))
    return { ok: false, error: 'checksum error' };
  return {
    ok: true,
    meta: {
      pageSize: readU32(b, o + 8),
      flags: readU32(b, o + 12),
      root: readU64(b, o + 16),
      rootSequence: view.getBigUint64(o + 24, true),
      freelist: readU64(b, o + 32),
      pgid: readU64(b, o + 40),
      txid: readU64(b, o + 48),
    },
  };
}

/** Compares byte strings as bbolt orders keys (bytes.Compare). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
