// Which kvs a large Range returns and in which order, with the semantics of apply/kv.ts applyRange
// (etcd's applierV3backend.Range: limit + 1 keys read unless sorting or filtering, the revision
// filters, Go's unstable sort.Sort, the cut to the limit and `more`) computed over compact revision
// arrays (mvcc/range-refs.ts) instead of KeyValue objects: 20 bytes a key in range, plus 4 (and 8
// to sort by version) a key returned. Values are read later, a chunk at a time, by the encoder.
// Sorting by value needs every value at once: those ranges stay on the plain path.

import { etcdserverpb } from '@conclave/api';
import { goSort } from '../apply/go-sort.js';
import { buf, mapMvccError } from '../apply/kv.js';
import { decodeKvHeader, type KvHeader } from '../mvcc/kv-codec.js';
import type { MvccStore, RangeRefs, RefReader } from '../mvcc/index.js';

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;

export interface RangePlan {
  refs: RangeRefs;
  /** Indexes into refs of the kvs to send, in order; null: refs 0 … n-1 (key order). */
  order: Uint32Array | null;
  /** Number of kvs to send. */
  n: number;
  more: boolean;
  /** Reads the stored kvs at the plan's revision; release it when done. */
  reader: RefReader;
}

function hasRevisionFilter(r: etcdserverpb.RangeRequest): boolean {
  return r.minModRevision !== 0n || r.maxModRevision !== 0n || r.minCreateRevision !== 0n || r.maxCreateRevision !== 0n;
}

/**
 * The plan of `r`, or null when the plain path should answer it: a count-only or single-key
 * range, a sort by value, or a response of at most `minKvs` kvs. Throws etcd's errors for a
 * compacted or future revision. Must run in one synchronous turn (the refs and the reader are one
 * view of the store).
 */
export function planRange(store: MvccStore, r: etcdserverpb.RangeRequest, minKvs: number): RangePlan | null {
  if (r.countOnly || r.rangeEnd.length === 0) return null;
  const limit = Number(r.limit);
  const filtered = hasRevisionFilter(r);
  const readAll = r.sortOrder !== SortOrder.NONE || filtered;
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  const sorted = order === SortOrder.ASCEND || order === SortOrder.DESCEND;
  if (sorted && r.sortTarget === SortTarget.VALUE) return null;
  if (limit > 0 && limit <= minKvs) return null;
  let refs: RangeRefs;
  let open: () => RefReader;
  try {
    const rev = r.revision > 0n ? Number(r.revision) : 0;
    ({ refs, open } = store.rangeRefs(buf(r.key), buf(r.rangeEnd), rev, readAll || limit === 0 ? Infinity : limit + 1));
  } catch (e) {
    throw mapMvccError(e);
  }
  let idx: Uint32Array | null = null;
  let n = refs.n;
  if (filtered) {
    const minMod = Number(r.minModRevision);
    const maxMod = Number(r.maxModRevision);
    const minCreate = Number(r.minCreateRevision);
    const maxCreate = Number(r.maxCreateRevision);
    idx = new Uint32Array(refs.n);
    n = 0;
    for (let i = 0; i < refs.n; i++) {
      const mod = refs.main[i]!;
      const create = refs.create[i]!;
      if ((maxMod !== 0 && mod > maxMod) || (minMod !== 0 && mod < minMod)) continue;
      if ((maxCreate !== 0 && create > maxCreate) || (minCreate !== 0 && create < minCreate)) continue;
      idx[n++] = i;
    }
  }
  if ((limit > 0 ? Math.min(n, limit) : n) <= minKvs) return null;
  const reader = open();
  try {
    if (sorted) idx = sortRefs(refs, idx, n, r.sortTarget, order === SortOrder.DESCEND, reader);
  } catch (e) {
    reader.release();
    throw e;
  }
  let more = false;
  if (limit > 0 && n > limit) {
    n = limit;
    more = true;
  }
  return { refs, order: idx, n, more, reader };
}

/** The order of the first `n` entries of `idx` (or of refs 0 … n-1) sorted as etcd sorts the kvs. */
function sortRefs(
  refs: RangeRefs,
  idx: Uint32Array | null,
  n: number,
  target: number,
  descending: boolean,
  reader: RefReader,
): Uint32Array | null {
  if (target === SortTarget.KEY) {
    // keys are unique and in ascending order: every sort gives the same answer
    if (!descending) return idx;
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = idx ? idx[n - 1 - i]! : n - 1 - i;
    return out;
  }
  let vals: Float64Array;
  if (target === SortTarget.CREATE) vals = refs.create;
  else if (target === SortTarget.MOD) vals = refs.main;
  else if (target === SortTarget.VERSION) vals = versions(refs, idx, n, reader);
  else throw new Error(`range-stream: sort target ${target} is not planned`);
  // Go's sort takes its steps from Less alone: sorting positions gives the order it gives the kvs.
  const a: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = idx ? idx[i]! : i;
  const less = (x: number, y: number): boolean => vals[x]! < vals[y]!;
  goSort(a, descending ? (x, y) => less(y, x) : less);
  return Uint32Array.from(a);
}

/** Version of each kv, read from its stored bytes (the index keeps revisions only). */
function versions(refs: RangeRefs, idx: Uint32Array | null, n: number, reader: RefReader): Float64Array {
  const out = new Float64Array(refs.n);
  const h: KvHeader = { key: Buffer.alloc(0), createRevision: 0, version: 0, lease: 0n };
  for (let k = 0; k < n; k++) {
    const i = idx ? idx[k]! : k;
    out[i] = decodeKvHeader(reader.fetch(refs.main[i]!, refs.sub[i]!), h).version;
  }
  return out;
}
