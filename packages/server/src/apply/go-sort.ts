// Go's sort.Sort (pattern-defeating quicksort, Go 1.19 and later), which etcd uses to order a Range
// by a sort target. It is not stable: keys with equal sort values (the same version, value, or
// create/mod revision of keys written in one txn) end up in an order that depends on the
// algorithm's exact steps, so matching etcd's answer means taking the same steps: insertion sort
// up to 12 elements, median-of-three / Tukey ninther pivots, the equal-elements partition, the
// partial insertion sort of nearly sorted input, the deterministic pattern breaking (xorshift
// seeded with the length) and heapsort after too many bad pivots.

/** Sorts `a` in place as Go's sort.Sort does with Less(i, j) = less(a[i], a[j]). */
export function goSort<T>(a: T[], less: (x: T, y: T) => boolean): void {
  const n = a.length;
  if (n <= 1) return;
  new GoSorter(a, less).pdqsort(0, n, bitLength(n));
}

function bitLength(n: number): number {
  return n === 0 ? 0 : 32 - Math.clz32(n);
}

const MAX_INSERTION = 12;
const SHORTEST_NINTHER = 50;
const MAX_SWAPS = 4 * 3;
const PARTIAL_MAX_STEPS = 5;
const PARTIAL_SHORTEST_SHIFTING = 50;

enum Hint {
  Unknown,
  Increasing,
  Decreasing,
}

class GoSorter<T> {
  /** Swaps made by the median steps of one choosePivot. */
  private swaps = 0;

  constructor(
    private readonly a: T[],
    private readonly lessFn: (x: T, y: T) => boolean,
  ) {}

  private less(i: number, j: number): boolean {
    return this.lessFn(this.a[i] as T, this.a[j] as T);
  }

  private swap(i: number, j: number): void {
    const t = this.a[i] as T;
    this.a[i] = this.a[j] as T;
    this.a[j] = t;
  }

  private insertionSort(lo: number, hi: number): void {
    for (let i = lo + 1; i < hi; i++) {
      for (let j = i; j > lo && this.less(j, j - 1); j--) this.swap(j, j - 1);
    }
  }

  private siftDown(lo: number, hi: number, first: number): void {
    let root = lo;
    for (;;) {
      let child = 2 * root + 1;
      if (child >= hi) return;
      if (child + 1 < hi && this.less(first + child, first + child + 1)) child++;
      if (!this.less(first + root, first + child)) return;
      this.swap(first + root, first + child);
      root = child;
    }
  }

  private heapSort(lo: number, hi: number): void {
    const first = lo;
    const size = hi - lo;
    for (let i = Math.floor((size - 1) / 2); i >= 0; i--) this.siftDown(i, size, first);
    for (let i = size - 1; i >= 0; i--) {
      this.swap(first, first + i);
      this.siftDown(0, i, first);
    }
  }

  pdqsort(lo: number, hi: number, limit: number): void {
    let wasBalanced = true;
    let wasPartitioned = true;
    for (;;) {
      const length = hi - lo;
      if (length <= MAX_INSERTION) {
        this.insertionSort(lo, hi);
        return;
      }
      if (limit === 0) {
        this.heapSort(lo, hi);
        return;
      }
      if (!wasBalanced) {
        this.breakPatterns(lo, hi);
        limit--;
      }
      let [pivot, hint] = this.choosePivot(lo, hi);
      if (hint === Hint.Decreasing) {
        this.reverseRange(lo, hi);
        pivot = hi - 1 - (pivot - lo);
        hint = Hint.Increasing;
      }
      if (wasBalanced && wasPartitioned && hint === Hint.Increasing && this.partialInsertionSort(lo, hi)) return;
      // many elements equal to the one before the range: put the equal ones first and go on with the rest
      if (lo > 0 && !this.less(lo - 1, pivot)) {
        lo = this.partitionEqual(lo, hi, pivot);
        continue;
      }
      const [mid, alreadyPartitioned] = this.partition(lo, hi, pivot);
      wasPartitioned = alreadyPartitioned;
      const leftLen = mid - lo;
      const rightLen = hi - mid;
      const balanceThreshold = Math.floor(length / 8);
      if (leftLen < rightLen) {
        wasBalanced = leftLen >= balanceThreshold;
        this.pdqsort(lo, mid, limit);
        lo = mid + 1;
      } else {
        wasBalanced = rightLen >= balanceThreshold;
        this.pdqsort(mid + 1, hi, limit);
        hi = mid;
      }
    }
  }

  /** One partition around a[pivot] (moved to lo first): [< p] p [>= p]. */
  private partition(lo: number, hi: number, pivot: number): [number, boolean] {
    this.swap(lo, pivot);
    let i = lo + 1;
    let j = hi - 1;
    while (i <= j && this.less(i, lo)) i++;
    while (i <= j && !this.less(j, lo)) j--;
    if (i > j) {
      this.swap(j, lo);
      return [j, true];
    }
    this.swap(i, j);
    i++;
    j--;
    for (;;) {
      while (i <= j && this.less(i, lo)) i++;
      while (i <= j && !this.less(j, lo)) j--;
      if (i > j) break;
      this.swap(i, j);
      i++;
      j--;
    }
    this.swap(j, lo);
    return [j, false];
  }

  /** Elements equal to a[pivot] first, then the greater ones; returns where the greater ones start. */
  private partitionEqual(lo: number, hi: number, pivot: number): number {
    this.swap(lo, pivot);
    let i = lo + 1;
    let j = hi - 1;
    for (;;) {
      while (i <= j && !this.less(lo, i)) i++;
      while (i <= j && this.less(lo, j)) j--;
      if (i > j) break;
      this.swap(i, j);
      i++;
      j--;
    }
    return i;
  }

  /** Fixes up to five out-of-order neighbours; true when [lo, hi) ends sorted. */
  private partialInsertionSort(lo: number, hi: number): boolean {
    let i = lo + 1;
    for (let step = 0; step < PARTIAL_MAX_STEPS; step++) {
      while (i < hi && !this.less(i, i - 1)) i++;
      if (i === hi) return true;
      if (hi - lo < PARTIAL_SHORTEST_SHIFTING) return false;
      this.swap(i, i - 1);
      // the smaller one moves left (Go bounds this walk by index 1, not by lo)
      if (i - lo >= 2) {
        for (let j = i - 1; j >= 1; j--) {
          if (!this.less(j, j - 1)) break;
          this.swap(j, j - 1);
        }
      }
      // the greater one moves right
      if (hi - i >= 2) {
        for (let j = i + 1; j < hi; j++) {
          if (!this.less(j, j - 1)) break;
          this.swap(j, j - 1);
        }
      }
    }
    return false;
  }

  /** Swaps three elements around the middle with pseudo-random ones (xorshift seeded by the length). */
  private breakPatterns(lo: number, hi: number): void {
    const length = hi - lo;
    if (length < 8) return;
    let random = BigInt(length);
    const mask64 = (1n << 64n) - 1n;
    const next = (): bigint => {
      random ^= (random << 13n) & mask64;
      random ^= random >> 17n;
      random ^= (random << 5n) & mask64;
      return random;
    };
    const modulus = BigInt(2 ** bitLength(length));
    const mid = lo + Math.floor(length / 4) * 2;
    for (let idx = mid - 1; idx <= mid + 1; idx++) {
      let other = Number(next() & (modulus - 1n));
      if (other >= length) other -= length;
      this.swap(idx, lo + other);
    }
  }

  private choosePivot(lo: number, hi: number): [number, Hint] {
    const l = hi - lo;
    this.swaps = 0;
    const q = Math.floor(l / 4);
    let i = lo + q;
    let j = lo + q * 2;
    let k = lo + q * 3;
    if (l >= 8) {
      if (l >= SHORTEST_NINTHER) {
        i = this.median(i - 1, i, i + 1);
        j = this.median(j - 1, j, j + 1);
        k = this.median(k - 1, k, k + 1);
      }
      j = this.median(i, j, k);
    }
    if (this.swaps === 0) return [j, Hint.Increasing];
    if (this.swaps === MAX_SWAPS) return [j, Hint.Decreasing];
    return [j, Hint.Unknown];
  }

  /** The index holding the median of a[x], a[y], a[z] (counting the swaps of the three comparisons). */
  private median(x: number, y: number, z: number): number {
    [x, y] = this.order2(x, y);
    [y, z] = this.order2(y, z);
    [x, y] = this.order2(x, y);
    return y;
  }

  private order2(x: number, y: number): [number, number] {
    if (this.less(y, x)) {
      this.swaps++;
      return [y, x];
    }
    return [x, y];
  }

  private reverseRange(lo: number, hi: number): void {
    for (let i = lo, j = hi - 1; i < j; i++, j--) this.swap(i, j);
  }
}
