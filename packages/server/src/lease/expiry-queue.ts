// A min-heap of (lease ID, time) with one entry per ID and in-place update (etcd's
// LeaseExpiredNotifier, also used for the checkpoint schedule): peek the earliest, update or remove
// any entry in O(log n).

interface Item {
  id: bigint;
  time: number;
  index: number;
}

export class ExpiryQueue {
  private readonly heap: Item[] = [];
  private readonly byId = new Map<bigint, Item>();

  get size(): number {
    return this.heap.length;
  }

  /** Sets the time of `id` (inserting it if absent). */
  set(id: bigint, time: number): void {
    const it = this.byId.get(id);
    if (it) {
      const old = it.time;
      it.time = time;
      if (time < old) this.up(it.index);
      else this.down(it.index);
      return;
    }
    const item: Item = { id, time, index: this.heap.length };
    this.heap.push(item);
    this.byId.set(id, item);
    this.up(item.index);
  }

  /** The earliest entry, without removing it. */
  peek(): { id: bigint; time: number } | undefined {
    return this.heap[0];
  }

  /** Removes and returns the earliest entry. */
  pop(): { id: bigint; time: number } | undefined {
    const top = this.heap[0];
    if (top) this.remove(top.id);
    return top;
  }

  remove(id: bigint): void {
    const it = this.byId.get(id);
    if (!it) return;
    this.byId.delete(id);
    const last = this.heap.pop()!;
    if (last === it) return;
    this.heap[it.index] = last;
    last.index = it.index;
    this.up(last.index);
    this.down(last.index);
  }

  clear(): void {
    this.heap.length = 0;
    this.byId.clear();
  }

  private up(i: number): void {
    const h = this.heap;
    const it = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.time <= it.time) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = it;
    it.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const it = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.time < h[l]!.time ? r : l;
      const child = h[c]!;
      if (child.time >= it.time) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = it;
    it.index = i;
  }
}
