// Internal state and primitive operations of the MVCC store, shared by the store, its write
// transactions, the compactor, hashing and history: the key index, the current and compacted
// revisions, reads at a revision, writes of one revision, and the undo log that rolls the
// in-memory state back when a logical transaction or the surrounding batch fails.

import type { Backend, BinaryDb } from '../storage/backend/index.js';
import { CompactedError, FutureRevisionError } from './errors.js';
import { KeyIndex, type KeyEntry } from './key-index.js';
import { EMPTY, decodeKeyValue, encodeKeyValueWith, exactBuffer, stripValue } from './kv-codec.js';
import { TOMBSTONE_KEY_LEN, writeRevKey } from './revision.js';
import { newMvccCounters, type KeyValue, type MvccCounters, type RangeOptions, type RangeSelect } from './types.js';

const U_PUT = 0; // put on a live key
const U_CREATE = 1; // put that (re)created a key whose entry existed
const U_INSERT = 2; // put that inserted a new entry
const U_TOMB = 3; // tombstone

/** Key bounds of a range as index strings: [low, high) with high null = unbounded; null = empty. */
export function rangeBounds(key: Buffer, end: Buffer): [string, string | null] | null {
  const low = key.toString('latin1');
  if (end.length === 1 && end[0] === 0) return [low, null];
  const high = end.toString('latin1');
  return high > low ? [low, high] : null;
}

export class StoreCore {
  index = new KeyIndex();
  /** Current revision (1 for an empty store). */
  rev = 1;
  /** Compacted revision (-1 when never compacted, as etcd). */
  compactRev = -1;
  /** Bumped when the store reloads from a restored backend: stale background work stops. */
  epoch = 0;
  private readonly keyScratch = Buffer.allocUnsafe(TOMBSTONE_KEY_LEN);
  private valScratch = Buffer.allocUnsafe(16 * 1024);
  /** The value scratch buffer, grown to hold `size` bytes (the encoded value is copied by putSync). */
  private readonly valueBuffer = (size: number): Buffer => {
    if (size > this.valScratch.length) this.valScratch = Buffer.allocUnsafe(Math.max(size, this.valScratch.length * 2));
    return this.valScratch;
  };
  private readonly uEntry: KeyEntry[] = [];
  private readonly uKind: number[] = [];
  private readonly uLease: bigint[] = [];

  constructor(
    readonly backend: Backend,
    /** What etcd's mvcc metrics count (ranges here; puts and deletes in WriteTxn). */
    readonly counters: MvccCounters = newMvccCounters(),
  ) {}

  get kvDb(): BinaryDb {
    return this.backend.dbs.key;
  }

  /** Validates a requested read revision against `current`; returns the revision to read at. */
  resolveRev(rev: number | undefined, current: number): number {
    if (rev === undefined || rev <= 0) return current;
    if (rev > current) throw new FutureRevisionError(current);
    if (rev < this.compactRev) throw new CompactedError(this.compactRev);
    return rev;
  }

  /** The stored bytes of revision (main, sub). */
  fetch(main: number, sub: number): Buffer {
    const b = this.kvDb.get(writeRevKey(this.keyScratch, main, sub));
    if (b === undefined) throw new Error(`mvcc: revision ${main}_${sub} is in the index but not stored`);
    return b;
  }

  /** Reads [key, end) (end null or empty = the single key) at atRev. */
  readRange<T extends KeyValue | Buffer>(
    key: Buffer,
    end: Buffer | null,
    atRev: number,
    opts: RangeOptions | undefined,
    raw: boolean,
  ): { kvs: T[]; count: number } {
    this.counters.range++;
    const limit = opts?.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    const countOnly = opts?.countOnly === true;
    const keysOnly = opts?.keysOnly === true;
    if (opts?.select && !countOnly) return this.readSelected<T>(key, end, atRev, opts.select, limit, keysOnly, raw);
    const index = this.index;
    const kvs: T[] = [];
    let count = 0;
    const visit = (e: KeyEntry): void => {
      if (!index.at(e, atRev)) return;
      count++;
      if (countOnly || kvs.length >= limit) return;
      kvs.push(this.materialize<T>(index.hitMain, index.hitSub, keysOnly, raw));
    };
    this.visitRange(key, end, visit);
    return { kvs, count };
  }

  /** Calls `visit` for the index entry of `key` (end null or empty) or each entry in [key, end). */
  visitRange(key: Buffer, end: Buffer | null, visit: (e: KeyEntry) => void): void {
    if (end === null || end.length === 0) {
      const e = this.index.get(key.toString('latin1'));
      if (e) visit(e);
    } else {
      const b = rangeBounds(key, end);
      if (b) this.index.forRange(b[0], b[1], visit);
    }
  }

  /** Revision (main, sub) as a decoded KeyValue, or its stored bytes with `raw`. */
  private materialize<T extends KeyValue | Buffer>(main: number, sub: number, keysOnly: boolean, raw: boolean): T {
    const bytes = this.fetch(main, sub);
    if (raw) return (keysOnly ? stripValue(bytes) : bytes) as T;
    const kv = decodeKeyValue(bytes);
    if (keysOnly) kv.value = EMPTY;
    return kv as T;
  }

  /** readRange with a selection: filter and sort on index data, then fetch only the first `limit`. */
  private readSelected<T extends KeyValue | Buffer>(
    key: Buffer,
    end: Buffer | null,
    atRev: number,
    sel: RangeSelect,
    limit: number,
    keysOnly: boolean,
    raw: boolean,
  ): { kvs: T[]; count: number } {
    const index = this.index;
    const cands: Array<{ main: number; sub: number; create: number }> = [];
    let count = 0;
    const visit = (e: KeyEntry): void => {
      if (!index.at(e, atRev)) return;
      count++;
      const mod = index.hitMain;
      const create = index.hitCreated;
      if ((sel.minMod !== 0 && mod < sel.minMod) || (sel.maxMod !== 0 && mod > sel.maxMod)) return;
      if ((sel.minCreate !== 0 && create < sel.minCreate) || (sel.maxCreate !== 0 && create > sel.maxCreate)) return;
      cands.push({ main: mod, sub: index.hitSub, create });
    };
    this.visitRange(key, end, visit);
    // Array.prototype.sort is stable: equal revisions keep key order, as a sort of the full kvs did.
    if (sel.by === 'create') cands.sort(sel.descending ? (a, b) => b.create - a.create : (a, b) => a.create - b.create);
    else if (sel.by === 'mod') cands.sort(sel.descending ? (a, b) => b.main - a.main : (a, b) => a.main - b.main);
    else if (sel.descending) cands.reverse();
    const n = Math.min(limit, cands.length);
    const kvs: T[] = [];
    for (let i = 0; i < n; i++) kvs.push(this.materialize<T>(cands[i]!.main, cands[i]!.sub, keysOnly, raw));
    return { kvs, count };
  }

  /** The KeyValue of an index entry at atRev, if the key existed then. */
  readEntryAt(e: KeyEntry, atRev: number): KeyValue | undefined {
    return this.index.at(e, atRev) ? decodeKeyValue(this.fetch(this.index.hitMain, this.index.hitSub)) : undefined;
  }

  /** The KeyValue of `key` at atRev, if it existed then (no revision validation). */
  readAt(key: Buffer, atRev: number): KeyValue | undefined {
    const e = this.index.get(key.toString('latin1'));
    return e ? this.readEntryAt(e, atRev) : undefined;
  }

  /** Writes revision (rev, sub) putting `key`; returns the new KeyValue and what it replaced. */
  put(
    rev: number,
    sub: number,
    key: Buffer,
    value: Buffer,
    lease: bigint,
    wantPrev: boolean,
  ): { kv: KeyValue; prevKv?: KeyValue; prevLease: bigint } {
    const k = key.toString('latin1');
    let e = this.index.get(k);
    let kind: number;
    let prevKv: KeyValue | undefined;
    let prevLease = 0n;
    let created = rev;
    let version = 1;
    if (!e) {
      e = this.index.insert(k);
      kind = U_INSERT;
    } else if (e.live) {
      kind = U_PUT;
      prevLease = e.lease;
      created = e.c;
      version = e.v + 1;
      if (wantPrev) prevKv = this.readEntryAt(e, Number.MAX_SAFE_INTEGER);
    } else {
      kind = U_CREATE;
    }
    const bytes = encodeKeyValueWith(this.valueBuffer, key, created, rev, version, value, lease);
    this.kvDb.putSync(writeRevKey(this.keyScratch, rev, sub), bytes);
    if (e.put(rev, sub)) this.index.liveCount++;
    this.pushUndo(e, kind);
    e.lease = lease;
    const kv: KeyValue = { key, createRevision: created, modRevision: rev, version, value, lease };
    return prevKv ? { kv, prevKv, prevLease } : { kv, prevLease };
  }

  /** Writes a tombstone at (rev, sub) for a live key; returns the delete event's kv and what it replaced. */
  tombstone(
    rev: number,
    sub: number,
    e: KeyEntry,
    wantPrev: boolean,
  ): { kv: KeyValue; prevKv?: KeyValue; prevLease: bigint } {
    const prevKv = wantPrev ? this.readEntryAt(e, Number.MAX_SAFE_INTEGER) : undefined;
    const key = e.key;
    const bytes = encodeKeyValueWith(exactBuffer, key, 0, 0, 0, EMPTY, 0n);
    this.kvDb.putSync(writeRevKey(this.keyScratch, rev, sub, true), bytes);
    e.tombstone(rev, sub);
    this.index.liveCount--;
    this.pushUndo(e, U_TOMB);
    const kv: KeyValue = { key, createRevision: 0, modRevision: rev, version: 0, value: EMPTY, lease: 0n };
    return prevKv ? { kv, prevKv, prevLease: e.lease } : { kv, prevLease: e.lease };
  }

  /** Length of the undo log: a mark to roll back to. */
  get undoMark(): number {
    return this.uEntry.length;
  }

  /** Forgets the undo log (the batch committed). */
  clearUndo(): void {
    this.uEntry.length = 0;
    this.uKind.length = 0;
    this.uLease.length = 0;
  }

  /**
   * Rolls the index back to `mark`. With `rev`, also removes from LMDB the revisions written since
   * the mark (one logical transaction at revision `rev`, whose first write was sub 0).
   */
  undoTo(mark: number, rev: number | null): void {
    const db = this.kvDb;
    for (let i = this.uEntry.length - 1; i >= mark; i--) {
      const e = this.uEntry[i]!;
      const kind = this.uKind[i]!;
      if (rev !== null) db.removeSync(writeRevKey(this.keyScratch, rev, i - mark, kind === U_TOMB));
      if (kind === U_TOMB) {
        e.undoTombstone();
        this.index.liveCount++;
      } else {
        e.undoPut();
        if (kind === U_INSERT) this.index.remove(e);
        if (kind !== U_PUT) this.index.liveCount--;
      }
      e.lease = this.uLease[i]!;
    }
    this.uEntry.length = mark;
    this.uKind.length = mark;
    this.uLease.length = mark;
  }

  private pushUndo(e: KeyEntry, kind: number): void {
    this.uEntry.push(e);
    this.uKind.push(kind);
    this.uLease.push(e.lease);
  }
}
