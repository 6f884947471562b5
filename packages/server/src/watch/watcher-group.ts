// A set of watchers indexed for "who watches this key?" (etcd's watcherGroup): single-key
// watchers in a map by key; range watchers in an index of distinct intervals sorted by start, with
// a lazily maintained running maximum of interval ends so that a stabbing query stops as soon as no
// earlier interval can reach the key. Keys are latin1 strings of the key bytes, so string order is
// byte order.

import type { Watcher } from './watcher.js';

interface Interval {
  start: string;
  /** Exclusive end; null = unbounded (a "from key" watch). */
  end: string | null;
  watchers: Set<Watcher>;
}

/** Interval end a ≥ b, with null = +∞. */
const endGte = (a: string | null, b: string | null): boolean => a === null || (b !== null && a >= b);

class RangeIndex {
  private readonly byBounds = new Map<string, Interval>();
  private readonly sorted: Interval[] = [];
  /** maxEnd[i] = the largest end among sorted[0..i]; valid below `dirtyFrom`. */
  private readonly maxEnd: Array<string | null> = [];
  private dirtyFrom = 0;

  get size(): number {
    return this.sorted.length;
  }

  add(w: Watcher): void {
    const id = boundsId(w.key, w.end);
    let iv = this.byBounds.get(id);
    if (!iv) {
      iv = { start: w.key, end: w.end, watchers: new Set() };
      this.byBounds.set(id, iv);
      const i = this.upperBound(w.key);
      this.sorted.splice(i, 0, iv);
      this.maxEnd.splice(i, 0, null);
      if (i < this.dirtyFrom) this.dirtyFrom = i;
    }
    iv.watchers.add(w);
  }

  delete(w: Watcher): boolean {
    const id = boundsId(w.key, w.end);
    const iv = this.byBounds.get(id);
    if (!iv?.watchers.delete(w)) return false;
    if (iv.watchers.size === 0) {
      this.byBounds.delete(id);
      let i = this.upperBound(iv.start) - 1;
      while (this.sorted[i] !== iv) i--;
      this.sorted.splice(i, 1);
      this.maxEnd.splice(i, 1);
      if (i < this.dirtyFrom) this.dirtyFrom = i;
    }
    return true;
  }

  /** Calls `fn` for every watcher whose interval contains `key`. */
  stab(key: string, fn: (w: Watcher) => void): void {
    const n = this.sorted.length;
    if (n === 0) return;
    this.refresh();
    for (let i = this.upperBound(key) - 1; i >= 0; i--) {
      const m = this.maxEnd[i]!;
      if (m !== null && m <= key) break;
      const iv = this.sorted[i]!;
      if (iv.end === null || key < iv.end) for (const w of iv.watchers) fn(w);
    }
  }

  /** True if any interval contains `key`. */
  contains(key: string): boolean {
    let hit = false;
    this.stab(key, () => void (hit = true));
    return hit;
  }

  /** Index of the first interval whose start is > key. */
  private upperBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.start <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private refresh(): void {
    const n = this.sorted.length;
    if (this.dirtyFrom >= n) return;
    let m: string | null = this.dirtyFrom > 0 ? this.maxEnd[this.dirtyFrom - 1]! : '';
    for (let i = this.dirtyFrom; i < n; i++) {
      const e = this.sorted[i]!.end;
      if (m !== null && endGte(e, m)) m = e;
      this.maxEnd[i] = m;
    }
    this.dirtyFrom = n;
  }
}

/** A unique id for an interval; U+0100 cannot occur in a latin1 key string. */
function boundsId(start: string, end: string | null): string {
  return end === null ? `${start}\u0100` : `${start}\u0100${end}\u0100`;
}

export class WatcherGroup {
  readonly watchers = new Set<Watcher>();
  private readonly keys = new Map<string, Set<Watcher>>();
  private readonly ranges = new RangeIndex();

  get size(): number {
    return this.watchers.size;
  }

  has(w: Watcher): boolean {
    return this.watchers.has(w);
  }

  add(w: Watcher): void {
    if (this.watchers.has(w)) return;
    this.watchers.add(w);
    if (w.single) {
      let set = this.keys.get(w.key);
      if (!set) this.keys.set(w.key, (set = new Set()));
      set.add(w);
    } else {
      this.ranges.add(w);
    }
  }

  delete(w: Watcher): boolean {
    if (!this.watchers.delete(w)) return false;
    if (w.single) {
      const set = this.keys.get(w.key);
      if (set) {
        set.delete(w);
        if (set.size === 0) this.keys.delete(w.key);
      }
    } else {
      this.ranges.delete(w);
    }
    return true;
  }

  /** Calls `fn` once for every watcher whose key or range includes `key`. */
  forEachWatching(key: string, fn: (w: Watcher) => void): void {
    const set = this.keys.get(key);
    if (set) for (const w of set) fn(w);
    if (this.ranges.size > 0) this.ranges.stab(key, fn);
  }

  /** True if some watcher's key or range includes `key`. */
  contains(key: string): boolean {
    return this.keys.has(key) || (this.ranges.size > 0 && this.ranges.contains(key));
  }
}
