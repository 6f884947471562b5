// The KV requests applied to the MVCC store with etcd's semantics (etcd's applierV3backend):
// Range (filters, sorting, limit/more), Put (prev_kv, ignore_value, ignore_lease), DeleteRange,
// Txn (compares evaluated up front for the whole tree, all-or-nothing), Compaction.

import { etcdError, etcdserverpb, type PartialMessage, type mvccpb } from '@conclave/api';
import { goSort } from './go-sort.js';
import {
  CompactedError,
  FutureRevisionError,
  type KeyValue,
  type MvccStore,
  type RangeOptions,
  type RangeResult,
  type RangeSelect,
  type WriteTxn,
} from '../mvcc/index.js';

type RangeRequest = etcdserverpb.RangeRequest;
type PutRequest = etcdserverpb.PutRequest;
type DeleteRangeRequest = etcdserverpb.DeleteRangeRequest;
type TxnRequest = etcdserverpb.TxnRequest;
type RequestOp = etcdserverpb.RequestOp;
type Compare = etcdserverpb.Compare;
type PbKv = PartialMessage<mvccpb.KeyValue>;

/** Anything that reads the store at a view: the store itself or a write transaction. */
export interface KvReader {
  range(key: Buffer, end: Buffer | null, opts?: RangeOptions): RangeResult;
}

export interface KvApplyEnv {
  /** True when the lease exists (for puts with a lease). */
  leaseExists(id: bigint): boolean;
}

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;
const CompareTarget = etcdserverpb.Compare_CompareTarget;
const CompareResult = etcdserverpb.Compare_CompareResult;

export const buf = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const endOf = (b: Uint8Array): Buffer | null => (b.length === 0 ? null : buf(b));

/** Maps MVCC errors to etcd's wire errors. */
export function mapMvccError(e: unknown): unknown {
  if (e instanceof CompactedError) return etcdError('Compacted', { cause: e });
  if (e instanceof FutureRevisionError) return etcdError('FutureRev', { cause: e });
  return e;
}

export function toPbKv(kv: KeyValue): PbKv {
  return {
    key: kv.key,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

const num = (v: bigint): number => Number(v);

/** Revision filters: etcd then reads every key in range, filters, sorts and cuts. */
function hasRevisionFilter(r: RangeRequest): boolean {
  return r.minModRevision !== 0n || r.maxModRevision !== 0n || r.minCreateRevision !== 0n || r.maxCreateRevision !== 0n;
}

/** etcd's Less of each sort target (kvSortByKey, ...ByVersion, ...ByCreate, ...ByMod, ...ByValue). */
function lessBy(target: number): (a: KeyValue, b: KeyValue) => boolean {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version < b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision < b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision < b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => Buffer.compare(a.value, b.value) < 0;
    default:
      return (a, b) => Buffer.compare(a.key, b.key) < 0;
  }
}

/**
 * Range exactly as etcd's applierV3backend.Range:
 *   - with a sort order or a revision filter every key in range is read; otherwise, with a limit,
 *     limit + 1 keys in key order (the extra one tells `more`);
 *   - the revision filters drop keys (count stays the number of keys in range);
 *   - a sort target other than KEY with order NONE sorts ascending, over what was read: with a
 *     limit and no filter that is the first limit + 1 keys, not the whole range;
 *   - sorting is Go's sort.Sort, which is not stable (go-sort.ts): keys with equal sort values come
 *     out in the order its steps leave them;
 *   - then the result is cut to the limit (`more` when something was cut).
 */
export function applyRange(view: KvReader, r: RangeRequest): PartialMessage<etcdserverpb.RangeResponse> {
  const limit = num(r.limit);
  const readAll = r.sortOrder !== SortOrder.NONE || hasRevisionFilter(r);
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  const rev = r.revision > 0n ? num(r.revision) : 0;
  try {
    if (readAll && limit > 0 && !r.countOnly) {
      const fast = selectTop(view, r, order, limit, rev);
      if (fast) return rangeResponse(r, fast, fast.kvs);
    }
    const rr = view.range(buf(r.key), endOf(r.rangeEnd), {
      rev,
      limit: readAll || limit === 0 ? 0 : limit + 1,
      countOnly: r.countOnly,
    });
    let kvs = rr.kvs;
    if (r.maxModRevision !== 0n) kvs = kvs.filter((kv) => kv.modRevision <= r.maxModRevision);
    if (r.minModRevision !== 0n) kvs = kvs.filter((kv) => kv.modRevision >= r.minModRevision);
    if (r.maxCreateRevision !== 0n) kvs = kvs.filter((kv) => kv.createRevision <= r.maxCreateRevision);
    if (r.minCreateRevision !== 0n) kvs = kvs.filter((kv) => kv.createRevision >= r.minCreateRevision);
    if (order === SortOrder.ASCEND || order === SortOrder.DESCEND) {
      kvs = kvs === rr.kvs ? [...kvs] : kvs;
      if (r.sortTarget === SortTarget.KEY) {
        // keys are unique and read in ascending order: every sort gives the same answer
        if (order === SortOrder.DESCEND) kvs.reverse();
      } else {
        const less = lessBy(r.sortTarget);
        goSort(kvs, order === SortOrder.ASCEND ? less : (a, b) => less(b, a));
      }
    }
    return rangeResponse(r, rr, kvs);
  } catch (e) {
    throw mapMvccError(e);
  }
}

/**
 * The faster path for a sorted or filtered range with a limit, when the sort target is one the key
 * index knows (key, create or mod revision): the index picks the first limit + 1 keys before any
 * value is read. Its answer is etcd's only when no two of those keys have equal sort values (equal
 * ones come out of Go's unstable sort in an order only the full sort decides): otherwise null, and
 * the caller reads everything as etcd does.
 */
function selectTop(view: KvReader, r: RangeRequest, order: number, limit: number, rev: number): RangeResult | null {
  const by =
    r.sortTarget === SortTarget.KEY
      ? 'key'
      : r.sortTarget === SortTarget.CREATE
        ? 'create'
        : r.sortTarget === SortTarget.MOD
          ? 'mod'
          : null;
  if (by === null) return null;
  const select: RangeSelect = {
    by,
    descending: order === SortOrder.DESCEND,
    minCreate: num(r.minCreateRevision),
    maxCreate: num(r.maxCreateRevision),
    minMod: num(r.minModRevision),
    maxMod: num(r.maxModRevision),
  };
  const rr = view.range(buf(r.key), endOf(r.rangeEnd), { rev, limit: limit + 1, select });
  if (by === 'key') return rr;
  const value = by === 'create' ? (kv: KeyValue) => kv.createRevision : (kv: KeyValue) => kv.modRevision;
  for (let i = 1; i < rr.kvs.length; i++) if (value(rr.kvs[i]!) === value(rr.kvs[i - 1]!)) return null;
  return rr;
}

function rangeResponse(r: RangeRequest, rr: RangeResult, kvs: KeyValue[]): PartialMessage<etcdserverpb.RangeResponse> {
  let more = false;
  if (r.limit > 0n && kvs.length > num(r.limit)) {
    kvs = kvs.slice(0, num(r.limit));
    more = true;
  }
  return {
    header: { revision: rr.rev },
    kvs: kvs.map((kv) => (r.keysOnly ? { ...toPbKv(kv), value: undefined } : toPbKv(kv))),
    more,
    count: rr.count,
  };
}

/** Pre-checks of a put inside a txn (or alone), before anything is written. */
function checkPutApply(view: KvReader, p: PutRequest, env: KvApplyEnv): void {
  if (p.lease !== 0n && !env.leaseExists(p.lease)) throw etcdError('LeaseNotFound');
  if (p.ignoreValue || p.ignoreLease) {
    if (view.range(buf(p.key), null).kvs.length === 0) throw etcdError('KeyNotFound');
  }
}

export function applyPut(txn: WriteTxn, p: PutRequest, env: KvApplyEnv): PartialMessage<etcdserverpb.PutResponse> {
  checkPutApply(txn, p, env);
  let value = buf(p.value);
  let lease = p.lease;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    prev = txn.range(buf(p.key), null).kvs[0];
    if (p.ignoreValue && prev) value = prev.value;
    if (p.ignoreLease && prev) lease = prev.lease;
  }
  txn.put(buf(p.key), value, lease);
  return { header: { revision: txn.rev }, prevKv: p.prevKv && prev ? toPbKv(prev) : undefined };
}

export function applyDelete(txn: WriteTxn, d: DeleteRangeRequest): PartialMessage<etcdserverpb.DeleteRangeResponse> {
  const res = txn.deleteRange(buf(d.key), endOf(d.rangeEnd), { prevKv: d.prevKv });
  return {
    header: { revision: txn.changed ? txn.rev : txn.beginRev },
    deleted: res.deleted,
    prevKvs: d.prevKv ? res.prevKvs.map(toPbKv) : [],
  };
}

function compareOne(c: Compare, kv: KeyValue | undefined): boolean {
  let result: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = Buffer.compare(kv ? kv.value : Buffer.alloc(0), buf(c.value ?? Buffer.alloc(0)));
      break;
    case CompareTarget.CREATE:
      result = Math.sign((kv?.createRevision ?? 0) - num(c.createRevision ?? 0n));
      break;
    case CompareTarget.MOD:
      result = Math.sign((kv?.modRevision ?? 0) - num(c.modRevision ?? 0n));
      break;
    case CompareTarget.VERSION:
      result = Math.sign((kv?.version ?? 0) - num(c.version ?? 0n));
      break;
    case CompareTarget.LEASE: {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      result = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      return true;
  }
}

export function applyCompare(view: KvReader, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = view.range(buf(c.key), endOf(c.rangeEnd)).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) return c.target === CompareTarget.VALUE ? false : compareOne(c, undefined);
  return kvs.every((kv) => compareOne(c, kv));
}

/** etcd's compareToPath: the branch taken at every level of the txn tree, decided against one view. */
function compareToPath(view: KvReader, t: TxnRequest, path: boolean[]): void {
  const ok = t.compare.every((c) => applyCompare(view, c));
  path.push(ok);
  for (const op of ok ? t.success : t.failure) if (op.requestTxn) compareToPath(view, op.requestTxn, path);
}

function checkPath(
  view: KvReader,
  t: TxnRequest,
  path: boolean[],
  at: { i: number },
  env: KvApplyEnv,
  rev: number,
  compactRev: number,
  writes: boolean,
): void {
  const ops = path[at.i++] ? t.success : t.failure;
  for (const op of ops) {
    if (op.requestRange) {
      const rv = num(op.requestRange.revision);
      if (rv > rev) throw etcdError('FutureRev');
      if (rv > 0 && rv < compactRev) throw etcdError('Compacted');
    } else if (op.requestPut && writes) {
      checkPutApply(view, op.requestPut, env);
    } else if (op.requestTxn) {
      checkPath(view, op.requestTxn, path, at, env, rev, compactRev, writes);
    }
  }
}

function execPath(
  txn: WriteTxn | null,
  view: KvReader,
  t: TxnRequest,
  path: boolean[],
  at: { i: number },
  env: KvApplyEnv,
): PartialMessage<etcdserverpb.TxnResponse> {
  const succeeded = path[at.i++]!;
  const responses: PartialMessage<RequestOpResponse>[] = [];
  for (const op of succeeded ? t.success : t.failure) responses.push(execOp(txn, view, op, path, at, env));
  return { succeeded, responses };
}

type RequestOpResponse = etcdserverpb.ResponseOp;

function execOp(
  txn: WriteTxn | null,
  view: KvReader,
  op: RequestOp,
  path: boolean[],
  at: { i: number },
  env: KvApplyEnv,
): PartialMessage<RequestOpResponse> {
  if (op.requestRange) return { responseRange: applyRange(txn ?? view, op.requestRange) };
  if (op.requestPut) return { responsePut: applyPut(txn!, op.requestPut, env) };
  if (op.requestDeleteRange) return { responseDeleteRange: applyDelete(txn!, op.requestDeleteRange) };
  if (op.requestTxn) {
    const r = execPath(txn, view, op.requestTxn, path, at, env);
    return { responseTxn: { header: { revision: txn ? (txn.changed ? txn.rev : txn.beginRev) : 0 }, ...r } };
  }
  return {};
}

/** Applies a txn; writes go through `store.write` (all-or-nothing), read-only txns read the store. */
export function applyTxn(
  store: MvccStore,
  t: TxnRequest,
  env: KvApplyEnv,
  readOnly: boolean,
): PartialMessage<etcdserverpb.TxnResponse> {
  // etcd counts a txn (etcd_mvcc_txn_total) when its compares and operations are more than one
  const c = store.counters;
  const ops = c.range + c.put + c.delete;
  try {
    return applyTxnOps(store, t, env, readOnly);
  } finally {
    if (c.range + c.put + c.delete - ops > 1) c.txn++;
  }
}

function applyTxnOps(
  store: MvccStore,
  t: TxnRequest,
  env: KvApplyEnv,
  readOnly: boolean,
): PartialMessage<etcdserverpb.TxnResponse> {
  const path: boolean[] = [];
  compareToPath(store, t, path);
  checkPath(store, t, path, { i: 0 }, env, store.currentRevision, store.compactRevision, !readOnly);
  try {
    if (readOnly) {
      const r = execPath(null, store, t, path, { i: 0 }, env);
      return { header: { revision: store.currentRevision }, ...r };
    }
    return store.write((txn) => {
      const r = execPath(txn, txn, t, path, { i: 0 }, env);
      return { header: { revision: txn.changed ? txn.rev : txn.beginRev }, ...r };
    });
  } catch (e) {
    throw mapMvccError(e);
  }
}

/** Schedules a compaction; `done` settles when it is physically complete (never rejects unobserved). */
export function applyCompaction(
  store: MvccStore,
  revision: bigint,
): { header: { revision: number }; done: Promise<void> } {
  try {
    const { done } = store.compact(num(revision));
    done.catch(() => {});
    return { header: { revision: store.currentRevision }, done };
  } catch (e) {
    throw mapMvccError(e);
  }
}
