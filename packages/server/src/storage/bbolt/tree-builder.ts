// Bulk-loads one bucket's B+tree from entries in key order, bottom-up, with pages numbered in the
// order they are written: a leaf is written when the next entry would not fit, and every written
// page becomes a child of a branch node on the level above. Runs in two modes over the same
// entries: 'plan' only counts (page ids, sizes, where the root lands), 'write' produces the page
// bytes; both take exactly the same decisions, so the plan tells the meta pages where everything
// will be before the first byte is written.
//
// Leaves are filled up to the page size (a leaf holding a single entry larger than a page spans
// 1 + overflow pages). Every branch node has at least two children, as bbolt requires of the trees
// it later modifies (a parent with one child trips its rebalancing): each level holds back its last
// full node until the next one is known to get two children, and at the end lends the last node a
// child from the held one (or merges them). A bucket whose entries fit in one small leaf
// (≤ pageSize/4) is inline: its page travels inside the parent's value, as bbolt stores small buckets.

import {
  BRANCH_ELEMENT_SIZE,
  BUCKET_HEADER_SIZE,
  LEAF_ELEMENT_SIZE,
  PAGE_BRANCH,
  PAGE_HEADER_SIZE,
  PAGE_LEAF,
  inlineLimit,
  writePageHeader,
  writeU32,
  writeU64,
} from './format.js';

/** Hands out page ids in emission order (shared by every builder of one file). */
export interface PageAllocator {
  next: number;
}

/** Receives finished pages in 'write' mode: `reserve(n)` returns where to write n contiguous bytes. */
export interface PageSink {
  reserve(n: number): { buf: Buffer; off: number };
}

export type TreeResult = { inline: false; root: number } | { inline: true; value: Buffer | null; size: number };

/** A branch node being built: its children's first keys ('write' mode only), key sizes and page ids. */
class BranchNode {
  size = PAGE_HEADER_SIZE;
  keys: Buffer;
  keysLen = 0;
  readonly klens: number[] = [];
  readonly pgids: number[] = [];

  constructor(capacity: number) {
    this.keys = Buffer.allocUnsafe(capacity);
  }

  get count(): number {
    return this.klens.length;
  }

  push(write: boolean, src: Buffer, off: number, len: number, pgid: number): void {
    if (write) {
      if (this.keysLen + len > this.keys.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.keysLen + len, this.keys.length * 2));
        this.keys.copy(grown, 0, 0, this.keysLen);
        this.keys = grown;
      }
      src.copy(this.keys, this.keysLen, off, off + len);
      this.keysLen += len;
    }
    this.klens.push(len);
    this.pgids.push(pgid);
    this.size += BRANCH_ELEMENT_SIZE + len;
  }

  /** Moves this node's last child to the front of `to`. */
  lendLast(write: boolean, to: BranchNode): void {
    const len = this.klens.pop()!;
    const pgid = this.pgids.pop()!;
    this.size -= BRANCH_ELEMENT_SIZE + len;
    if (write) {
      this.keysLen -= len;
      const rest = Buffer.from(to.keys.subarray(0, to.keysLen));
      if (len + rest.length > to.keys.length) to.keys = Buffer.allocUnsafe(len + rest.length);
      this.keys.copy(to.keys, 0, this.keysLen, this.keysLen + len);
      rest.copy(to.keys, len);
      to.keysLen = len + rest.length;
    }
    to.klens.unshift(len);
    to.pgids.unshift(pgid);
    to.size += BRANCH_ELEMENT_SIZE + len;
  }

  reset(): void {
    this.size = PAGE_HEADER_SIZE;
    this.keysLen = 0;
    this.klens.length = 0;
    this.pgids.length = 0;
  }
}

interface Level {
  /** A full node waiting until the node after it is sure to have two children. */
  held: BranchNode | null;
  pending: BranchNode;
  spare: BranchNode;
}

export class TreeBuilder {
  // The leaf being filled: its entries' bytes (key, value, key, value, ... exactly as they sit in
  // the page's data area), their sizes and flags.
  private data: Buffer;
  private dataLen = 0;
  private readonly ks: number[] = [];
  private readonly vs: number[] = [];
  private readonly fl: number[] = [];
  private count = 0;
  private size = PAGE_HEADER_SIZE;
  private firstKeyLen = 0;
  private leaves = 0;
  private hasSubBucket = false;
  private readonly levels: Level[] = [];
  private readonly write: boolean;
  /** Entries and key+value bytes added so far (to check that both passes saw the same data). */
  entries = 0;
  bytes = 0;

  constructor(
    mode: 'plan' | 'write',
    private readonly pageSize: number,
    private readonly alloc: PageAllocator,
    private readonly sink: PageSink | null,
    /** The root bucket is never inline (the meta page points at a page). */
    private readonly allowInline: boolean,
  ) {
    this.write = mode === 'write';
    this.data = Buffer.allocUnsafe(this.write ? pageSize * 2 : 0);
  }

  /** Adds the next entry (keys must come in strictly ascending order). `flags` 1 marks a sub-bucket. */
  add(key: Uint8Array, value: Uint8Array, flags = 0): void {
    const elem = LEAF_ELEMENT_SIZE + key.length + value.length;
    if (this.count > 0 && this.size + elem > this.pageSize) this.flushLeaf();
    if (this.count === 0) this.firstKeyLen = key.length;
    if (this.write) {
      const need = this.dataLen + key.length + value.length;
      if (need > this.data.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, this.data.length * 2));
        this.data.copy(grown, 0, 0, this.dataLen);
        this.data = grown;
      }
      this.data.set(key, this.dataLen);
      this.data.set(value, this.dataLen + key.length);
      this.dataLen = need;
      this.ks.push(key.length);
      this.vs.push(value.length);
      this.fl.push(flags);
    }
    if (flags !== 0) this.hasSubBucket = true;
    this.count++;
    this.size += elem;
    this.entries++;
    this.bytes += key.length + value.length;
  }

  /** Ends the bucket: where its root is, or its inline value. */
  finish(): TreeResult {
    if (this.allowInline && this.leaves === 0 && !this.hasSubBucket && this.size <= inlineLimit(this.pageSize)) {
      const size = BUCKET_HEADER_SIZE + this.size;
      if (!this.write) return { inline: true, value: null, size };
      const value = Buffer.alloc(size);
      this.writeLeaf(value, BUCKET_HEADER_SIZE, 0, 1);
      return { inline: true, value, size };
    }
    if (this.count > 0 || this.leaves === 0) this.flushLeaf();
    for (let l = 0; ; l++) {
      const lvl = this.levels[l]!;
      const top = l === this.levels.length - 1;
      const { held, pending } = lvl;
      if (!held && top && pending.count === 1) return { inline: false, root: pending.pgids[0]! };
      if (!held && pending.count < 2) throw new Error('bbolt: branch level with a single child');
      if (held) {
        // The last node needs two children: borrow one from the held node, or join it.
        if (pending.count === 1 && held.count >= 3) held.lendLast(this.write, pending);
        else if (pending.count === 1) {
          held.push(this.write, pending.keys, 0, pending.klens[0]!, pending.pgids[0]!);
          pending.reset();
        }
        this.emitBranch(l, held);
        lvl.held = null;
      }
      if (pending.count > 0) this.emitBranch(l, pending);
    }
  }

  private span(size: number): number {
    return Math.ceil(size / this.pageSize);
  }

  private flushLeaf(): void {
    const span = this.span(this.size);
    const pgid = this.alloc.next;
    this.alloc.next += span;
    if (this.write) {
      const { buf, off } = this.sink!.reserve(span * this.pageSize);
      this.writeLeaf(buf, off, pgid, span);
    }
    this.leaves++;
    this.addChild(0, this.data, 0, this.firstKeyLen, pgid);
    this.count = 0;
    this.size = PAGE_HEADER_SIZE;
    this.dataLen = 0;
    this.ks.length = 0;
    this.vs.length = 0;
    this.fl.length = 0;
  }

  /** Writes the pending leaf node as a page of `span` pages at `off` (id 0 for an inline page). */
  private writeLeaf(buf: Buffer, off: number, pgid: number, span: number): void {
    const { ks, vs, fl } = this;
    const data = this.data.subarray(0, this.dataLen);
    const pos = writePage(buf, off, pgid, span, PAGE_LEAF, data, this.count, (i, at, dataAt) => {
      writeU32(buf, at, fl[i]!);
      writeU32(buf, at + 4, dataAt - at);
      writeU32(buf, at + 8, ks[i]!);
      writeU32(buf, at + 12, vs[i]!);
      return ks[i]! + vs[i]!;
    });
    const end = pgid === 0 ? off + this.size : off + span * this.pageSize;
    if (pos < end) buf.fill(0, pos, end);
  }

  private addChild(l: number, keySrc: Buffer, keyOff: number, keyLen: number, pgid: number): void {
    let lvl = this.levels[l];
    if (!lvl) {
      const cap = this.write ? this.pageSize : 0;
      lvl = { held: null, pending: new BranchNode(cap), spare: new BranchNode(cap) };
      this.levels[l] = lvl;
    }
    const p = lvl.pending;
    if (p.count >= 2 && p.size + BRANCH_ELEMENT_SIZE + keyLen > this.pageSize) {
      // `pending` is full: write the node held before it, and hold this one in its place.
      const old = lvl.held;
      if (old) this.emitBranch(l, old);
      lvl.held = p;
      lvl.pending = old ?? lvl.spare;
      lvl.pending.reset();
    }
    lvl.pending.push(this.write, keySrc, keyOff, keyLen, pgid);
  }

  /** Writes a branch node as the next page(s) and makes it a child of the level above. */
  private emitBranch(l: number, node: BranchNode): void {
    const span = this.span(node.size);
    const pgid = this.alloc.next;
    this.alloc.next += span;
    if (this.write) {
      const { buf, off } = this.sink!.reserve(span * this.pageSize);
      const keys = node.keys.subarray(0, node.keysLen);
      const pos = writePage(buf, off, pgid, span, PAGE_BRANCH, keys, node.count, (i, at, dataAt) => {
        writeU32(buf, at, dataAt - at);
        writeU32(buf, at + 4, node.klens[i]!);
        writeU64(buf, at + 8, node.pgids[i]!);
        return node.klens[i]!;
      });
      const end = off + span * this.pageSize;
      if (pos < end) buf.fill(0, pos, end);
    }
    // The node's first key moves up (the parent copies it before this node is reused).
    this.addChild(l + 1, node.keys, 0, node.klens[0]!, pgid);
    node.reset();
  }
}

/**
 * Writes a leaf or branch page of `count` elements at `off`, spanning `span` pages: its header, each
 * element (`element(i, at, dataAt)` writes element i at `at`, its data starting at `dataAt`, and
 * returns the data's size) and `data`, the elements' data in order. Returns where the data ends.
 */
function writePage(
  buf: Buffer,
  off: number,
  pgid: number,
  span: number,
  flags: typeof PAGE_LEAF | typeof PAGE_BRANCH,
  data: Buffer,
  count: number,
  element: (i: number, at: number, dataAt: number) => number,
): number {
  writePageHeader(buf, off, pgid, flags, count, span - 1);
  let at = off + PAGE_HEADER_SIZE;
  const elemSize = flags === PAGE_LEAF ? LEAF_ELEMENT_SIZE : BRANCH_ELEMENT_SIZE;
  const dataStart = at + count * elemSize;
  let pos = dataStart;
  for (let i = 0; i < count; i++) {
    pos += element(i, at, pos);
    at += elemSize;
  }
  data.copy(buf, dataStart);
  return pos;
}
