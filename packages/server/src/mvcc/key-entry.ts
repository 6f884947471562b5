// One key of the key index, as etcd's keyIndex: its generations of revisions. A generation runs from
// the key's creation to its deletion (the tombstone is the last revision of a closed generation); a
// deleted key ends with an empty generation.
//
// Packed for memory (a million keys are held at once): the common case, a key whose history is one
// revision, is one object of plain number fields. The last generation's created revision, version and
// latest revision are fields; everything older is one flat number array `x`, allocated only when there
// is older history:
//
//   x = [closed, (created, ver, n, main₁, sub₁, …, mainₙ, subₙ) × closed, main, sub, …]
//
// first the number of closed generations, then each closed generation (its n revisions end with the
// tombstone), then the earlier revisions of the last generation (all but the latest, held in m/s).
// Small arrays are replaced by exact-size copies when they grow (V8's push over-allocates by 16 slots,
// which cost more than the data); large ones grow by push.

/** One generation, unpacked (for tests, compaction and the rare rewrites). */
export interface Generation {
  /** Puts in this generation (+1 for its tombstone), including compacted ones. */
  ver: number;
  /** Main revision of the put that created this generation. */
  created: number;
  /** Revisions, flat (main, sub) pairs in ascending order. */
  revs: number[];
}

/** Arrays shorter than this are copied to exact size when they grow; longer ones use push. */
const EXACT_BELOW = 64;

/** Scratch result of a lookup (at, keep): the revision found and its generation's created revision. */
export interface Hit {
  hitMain: number;
  hitSub: number;
  hitCreated: number;
}

/** Index (in pairs) of the last pair of `r` in [from, to) (pair-aligned offsets) with main ≤ atRev, or -1. */
function lastAtOrBefore(r: readonly number[], from: number, to: number, atRev: number): number {
  let lo = 0;
  let hi = (to - from) / 2 - 1;
  if (hi < 0 || r[from]! > atRev) return -1;
  if (r[from + hi * 2]! <= atRev) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (r[from + mid * 2]! <= atRev) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class KeyEntry {
  /** Lease of the latest revision (0n = none). */
  lease = 0n;
  /** Created main revision of the last generation (meaningless while it is empty). */
  c = 0;
  /** Version of the last generation (0 while it is empty). */
  v = 0;
  /** Latest revision of the last generation; m = 0 when that generation is empty. */
  m = 0;
  s = 0;
  /** Older history (see the file comment), or null. */
  x: number[] | null = null;

  constructor(
    /** Key bytes as a latin1 string. */
    readonly k: string,
  ) {}

  /** True when the key exists at the latest revision. */
  get live(): boolean {
    return this.m !== 0;
  }

  get key(): Buffer {
    return Buffer.from(this.k, 'latin1');
  }

  /** Main revision of the latest put of a live key. */
  get modRevision(): number {
    return this.m;
  }

  /** Appends revision (main, sub). Returns true when this (re)created the key. */
  put(main: number, sub: number): boolean {
    if (this.m === 0) {
      this.c = main;
      this.v++;
      this.m = main;
      this.s = sub;
      return true;
    }
    const x = this.x;
    if (x === null) this.x = [0, this.m, this.s];
    else if (x.length < EXACT_BELOW) this.x = x.concat(this.m, this.s);
    else x.push(this.m, this.s);
    this.m = main;
    this.s = sub;
    this.v++;
    return false;
  }

  /** Appends a tombstone at (main, sub) and opens an empty generation. The key must be live. */
  tombstone(main: number, sub: number): void {
    this.put(main, sub);
    const gens = this.generations();
    gens.push({ ver: 0, created: 0, revs: [] });
    this.pack(gens);
  }

  /** Removes the latest revision (the last put; its generation is the last one). */
  undoPut(): void {
    const x = this.x;
    const tail = x === null ? -1 : tailStart(x);
    if (x === null || tail === x.length) {
      this.m = 0;
      this.s = 0;
    } else {
      this.m = x[x.length - 2]!;
      this.s = x[x.length - 1]!;
      if (x.length === 3) this.x = null;
      else x.length -= 2;
    }
    this.v--;
  }

  /** Reopens the generation the last tombstone closed and removes the tombstone. */
  undoTombstone(): void {
    const gens = this.generations();
    gens.pop();
    this.pack(gens);
    this.undoPut();
  }

  /**
   * Finds the revision visible at `atRev` (as etcd's keyIndex.get): the latest revision ≤ atRev of
   * the last non-empty generation that started at or before atRev, unless that generation's
   * tombstone is ≤ atRev. On success fills `hit` and returns true.
   */
  at(atRev: number, hit: Hit): boolean {
    if (this.m !== 0 && this.m <= atRev) {
      hit.hitMain = this.m;
      hit.hitSub = this.s;
      hit.hitCreated = this.c;
      return true;
    }
    const x = this.x;
    if (x === null) return false; // empty, or one revision after atRev
    // The open generation (x[tail..], then m/s, which is > atRev here) when it started ≤ atRev.
    const tail = tailStart(x);
    if (tail < x.length && x[tail]! <= atRev) {
      const i = lastAtOrBefore(x, tail, x.length, atRev);
      hit.hitMain = x[tail + i * 2]!;
      hit.hitSub = x[tail + i * 2 + 1]!;
      hit.hitCreated = this.c;
      return true;
    }
    // Otherwise the last closed generation that started ≤ atRev, unless its tombstone is ≤ atRev.
    let found = -1;
    let o = 1;
    for (let g = x[0]!; g > 0; g--) {
      if (x[o + 3]! > atRev) break;
      found = o;
      o += 3 + x[o + 2]! * 2;
    }
    if (found === -1) return false;
    const revs = found + 3;
    const end = revs + x[found + 2]! * 2;
    if (x[end - 2]! <= atRev) return false; // deleted at or before atRev
    const i = lastAtOrBefore(x, revs, end, atRev);
    hit.hitMain = x[revs + i * 2]!;
    hit.hitSub = x[revs + i * 2 + 1]!;
    hit.hitCreated = x[found]!;
    return true;
  }

  /**
   * The revision that compacting at atRev keeps (as etcd's keyIndex.keep): the last one ≤ atRev of
   * the first generation not ended by a tombstone ≤ atRev, unless it is that tombstone. Fills `hit`.
   */
  keep(atRev: number, hit: Hit): boolean {
    if (this.x === null) {
      if (this.m === 0 || this.m > atRev) return false;
      hit.hitMain = this.m;
      hit.hitSub = this.s;
      hit.hitCreated = this.c;
      return true;
    }
    const gens = this.generations();
    const gi = firstGenAfter(gens, atRev);
    const r = gens[gi]!.revs;
    if (r.length === 0) return false;
    const i = lastAtOrBefore(r, 0, r.length, atRev);
    if (i < 0 || (i === r.length / 2 - 1 && gi !== gens.length - 1)) return false;
    hit.hitMain = r[i * 2]!;
    hit.hitSub = r[i * 2 + 1]!;
    hit.hitCreated = gens[gi]!.created;
    return true;
  }

  /**
   * Compacts at atRev (as etcd's keyIndex.compact): drops revisions older than the last one ≤ atRev,
   * and whole generations ended by a tombstone ≤ atRev. Returns true when the entry is left empty.
   */
  compact(atRev: number): boolean {
    if (this.x === null) return this.m === 0;
    const gens = this.generations();
    let gi = firstGenAfter(gens, atRev);
    const r = gens[gi]!.revs;
    if (r.length > 0) {
      const i = lastAtOrBefore(r, 0, r.length, atRev);
      if (i > 0) r.splice(0, i * 2);
      if (r.length === 2 && gi !== gens.length - 1) gi++;
    }
    if (gi > 0) gens.splice(0, gi);
    this.pack(gens);
    return this.x === null && this.m === 0;
  }

  /** True when (main, sub) is the first revision of the first generation (what compaction keeps on disk). */
  isFirst(main: number, sub: number): boolean {
    const x = this.x;
    if (x === null) return this.m === main && this.s === sub && main !== 0;
    const o = x[0]! > 0 ? 4 : 1;
    if (o < x.length) return x[o] === main && x[o + 1] === sub;
    return this.m === main && this.s === sub && main !== 0;
  }

  /** The generations, unpacked (a copy). */
  generations(): Generation[] {
    const gens: Generation[] = [];
    const x = this.x;
    let o = 1;
    if (x !== null) {
      for (let g = x[0]!; g > 0; g--) {
        const n = x[o + 2]!;
        gens.push({ created: x[o]!, ver: x[o + 1]!, revs: x.slice(o + 3, o + 3 + n * 2) });
        o += 3 + n * 2;
      }
    }
    const revs = x === null ? [] : x.slice(o);
    if (this.m !== 0) revs.push(this.m, this.s);
    gens.push({ created: revs.length > 0 ? this.c : 0, ver: this.v, revs });
    return gens;
  }

  /** Sets the packed form from unpacked generations (the last one is the open generation). */
  private pack(gens: readonly Generation[]): void {
    const last = gens[gens.length - 1]!;
    const lr = last.revs;
    this.c = lr.length > 0 ? last.created : 0;
    this.v = last.ver;
    this.m = lr.length > 0 ? lr[lr.length - 2]! : 0;
    this.s = lr.length > 0 ? lr[lr.length - 1]! : 0;
    if (gens.length === 1 && lr.length <= 2) {
      this.x = null;
      return;
    }
    const x: number[] = [gens.length - 1];
    for (let g = 0; g < gens.length - 1; g++) {
      const gen = gens[g]!;
      x.push(gen.created, gen.ver, gen.revs.length / 2);
      for (const n of gen.revs) x.push(n);
    }
    for (let i = 0; i < lr.length - 2; i++) x.push(lr[i]!);
    this.x = x.length < EXACT_BELOW ? x.slice() : x;
  }
}

/** Offset in x of the open generation's earlier revisions (after the closed generations). */
function tailStart(x: readonly number[]): number {
  let o = 1;
  for (let g = x[0]!; g > 0; g--) o += 3 + x[o + 2]! * 2;
  return o;
}

/** Index of the first generation whose tombstone is after atRev (or the last one), as etcd's doCompact. */
function firstGenAfter(gens: readonly Generation[], atRev: number): number {
  let gi = 0;
  while (gi < gens.length - 1) {
    const r = gens[gi]!.revs;
    if (r[r.length - 2]! > atRev) break;
    gi++;
  }
  return gi;
}
