// Request validation done before a request is proposed, as etcd's v3rpc layer does it:
// empty keys, ignore_value/ignore_lease conflicts, txn size limits and duplicate keys in a txn branch.

import { etcdError, etcdserverpb } from '@conclave/api';

type RangeRequest = etcdserverpb.RangeRequest;
type PutRequest = etcdserverpb.PutRequest;
type DeleteRangeRequest = etcdserverpb.DeleteRangeRequest;
type TxnRequest = etcdserverpb.TxnRequest;
type RequestOp = etcdserverpb.RequestOp;

const SORT_ORDERS = new Set<number>(Object.values(etcdserverpb.RangeRequest_SortOrder));
const SORT_TARGETS = new Set<number>(Object.values(etcdserverpb.RangeRequest_SortTarget));

export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
  if (!SORT_ORDERS.has(r.sortOrder) || !SORT_TARGETS.has(r.sortTarget)) throw etcdError('InvalidSortOption');
}

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
  if (r.ignoreValue && r.value.length !== 0) throw etcdError('ValueProvided');
  if (r.ignoreLease && r.lease !== 0n) throw etcdError('LeaseProvided');
}

export function checkDelete(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
}

/** etcd's checkRequestOp: an op that carries no request (an empty oneof) is "key not found". */
function checkOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) checkRange(op.requestRange);
  else if (op.requestPut) checkPut(op.requestPut);
  else if (op.requestDeleteRange) checkDelete(op.requestDeleteRange);
  else if (op.requestTxn) checkTxn(op.requestTxn, maxTxnOps);
  else throw etcdError('KeyNotFound');
}

/** etcd's checkTxnRequest: a nested txn may use only the ops its parents left (max-txn-ops minus their widest list). */
export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxTxnOps) throw etcdError('TooManyOps');
  for (const c of r.compare) if (c.key.length === 0) throw etcdError('EmptyKey');
  for (const op of r.success) checkOp(op, maxTxnOps - opc);
  for (const op of r.failure) checkOp(op, maxTxnOps - opc);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

/** A delete interval [start, end); end null = single key; end '' (from range_end "\0") = no upper bound. */
interface Interval {
  start: string;
  end: string | null;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  if (rangeEnd.length === 0) return { start: latin1(key), end: null };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: latin1(key), end: '' };
  return { start: latin1(key), end: latin1(rangeEnd) };
}

function covers(dels: Interval[], key: string): boolean {
  for (const d of dels) {
    if (d.end === null) {
      if (d.start === key) return true;
    } else if (key >= d.start && (d.end === '' || key < d.end)) {
      return true;
    }
  }
  return false;
}

/**
 * etcd's duplicate-key rule for one txn branch: a key may be put at most once, and never inside a range
 * the branch deletes; nested txns' then/else branches are mutually exclusive, so a key put in both is fine.
 * Returns the branch's puts and delete intervals for the enclosing level.
 */
export function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    const d = op.requestDeleteRange;
    if (d) dels.push(intervalOf(d.key, d.rangeEnd));
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    const t = op.requestTxn;
    if (!t) continue;
    const then = checkIntervals(t.success);
    const els = checkIntervals(t.failure);
    for (const k of then.puts) {
      if (puts.has(k) || covers(dels, k)) throw etcdError('DuplicateKey');
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw etcdError('DuplicateKey');
      if (covers(dels, k)) throw etcdError('DuplicateKey');
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const op of reqs) {
    const p = op.requestPut;
    if (!p) continue;
    const k = latin1(p.key);
    if (puts.has(k) || covers(dels, k)) throw etcdError('DuplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}

/** True when the txn contains no writes in either branch (at any depth). */
export function isTxnReadOnly(r: TxnRequest): boolean {
  const ro = (ops: RequestOp[]): boolean =>
    ops.every((op) => !op.requestPut && !op.requestDeleteRange && (!op.requestTxn || isTxnReadOnly(op.requestTxn)));
  return ro(r.success) && ro(r.failure);
}
