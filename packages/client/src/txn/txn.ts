// Transactions: `client.txn().if(...conditions).then(...ops).else(...ops).commit()`.
// Ops are `op.get`, `op.put`, `op.delete` and `op.txn` (nested). A transaction with no put or
// delete anywhere is a read and is retried like one; otherwise it is a write.

import type { etcdserverpb, PartialMessage } from '@conclave/api';
import type { Bytes } from '../util/bytes.js';
import * as kv from '../kv/requests.js';
import type { CallOptions } from '../rpc/rpc.js';
import { callOptions, invalid } from '../util/validate.js';
import { compareRequest, isCompare, type Compare } from './compare.js';

/** One operation of a transaction, made by `op.get`, `op.put`, `op.delete` or `op.txn`. */
export type Op =
  | { readonly type: 'get'; readonly key: Bytes; readonly query: kv.RangeQuery | undefined }
  | { readonly type: 'put'; readonly key: Bytes; readonly value: Bytes; readonly query: kv.PutQuery | undefined }
  | { readonly type: 'delete'; readonly key: Bytes; readonly query: kv.DeleteQuery | undefined }
  | {
      readonly type: 'txn';
      readonly compare: readonly Compare[];
      readonly success: readonly Op[];
      readonly failure: readonly Op[];
    };

/** Builders for transaction operations. */
export const op = {
  /** Reads a key or range (the options of `range`). */
  get: (key: Bytes, query?: kv.RangeQuery): Op => {
    kv.checkRange(key, query, 'op.get');
    return { type: 'get', key, query };
  },
  /** Writes a key (the options of `put`). */
  put: (key: Bytes, value: Bytes, query?: kv.PutQuery): Op => {
    kv.checkPut(key, value, query, 'op.put');
    return { type: 'put', key, value, query };
  },
  /** Deletes a key or range (the options of `delete`). */
  delete: (key: Bytes, query?: kv.DeleteQuery): Op => {
    kv.checkDelete(key, query, 'op.delete');
    return { type: 'delete', key, query };
  },
  /** A nested transaction (etcd 3.3+). */
  txn: (compare: readonly Compare[], success: readonly Op[], failure: readonly Op[] = []): Op => {
    checkList(compare, 'op.txn: compare', isCompare, 'cmp');
    checkList(success, 'op.txn: success', isOp, 'op');
    checkList(failure, 'op.txn: failure', isOp, 'op');
    return { type: 'txn', compare, success, failure };
  },
};

const OP_TYPES = new Set(['get', 'put', 'delete', 'txn']);

function isOp(v: unknown): boolean {
  return typeof v === 'object' && v !== null && OP_TYPES.has((v as { type?: string }).type as string);
}

function checkList(list: unknown, where: string, ok: (v: unknown) => boolean, builder: string): void {
  if (!Array.isArray(list)) invalid(where, 'an array', list);
  for (const v of list) if (!ok(v)) invalid(`${where}[]`, `made by ${builder}.*`, v);
}

function checkItems(items: unknown[], where: string, ok: (v: unknown) => boolean, builder: string): void {
  for (const v of items) if (!ok(v)) invalid(where, `made by ${builder}.*`, v);
}

/** The result of one operation of a transaction, tagged with its `type`. */
export type OpResult =
  | ({ type: 'get' } & kv.RangeResult)
  | ({ type: 'put' } & kv.PutResult)
  | ({ type: 'delete' } & kv.DeleteResult)
  | ({ type: 'txn' } & TxnResult);

/** The result of a committed transaction. */
export interface TxnResult {
  /** Whether the conditions held (the `then` branch ran). */
  succeeded: boolean;
  revision: bigint;
  /** One result per op of the branch that ran, in order. */
  responses: OpResult[];
}

export function hasWrites(ops: readonly Op[]): boolean {
  return ops.some(
    (o) =>
      o.type === 'put' || o.type === 'delete' || (o.type === 'txn' && (hasWrites(o.success) || hasWrites(o.failure))),
  );
}

function opRequest(prefix: Uint8Array, o: Op): PartialMessage<etcdserverpb.RequestOp> {
  switch (o.type) {
    case 'get':
      return { requestRange: kv.rangeRequest(prefix, o.key, o.query) };
    case 'put':
      return { requestPut: kv.putRequest(prefix, o.key, o.value, o.query) };
    case 'delete':
      return { requestDeleteRange: kv.deleteRequest(prefix, o.key, o.query) };
    case 'txn':
      return { requestTxn: txnRequest(prefix, o.compare, o.success, o.failure) };
  }
}

export function txnRequest(
  prefix: Uint8Array,
  compare: readonly Compare[],
  success: readonly Op[],
  failure: readonly Op[],
): PartialMessage<etcdserverpb.TxnRequest> {
  return {
    compare: compare.map((c) => compareRequest(prefix, c)),
    success: success.map((o) => opRequest(prefix, o)),
    failure: failure.map((o) => opRequest(prefix, o)),
  };
}

export function txnResult(
  res: etcdserverpb.TxnResponse,
  prefixLength: number,
  revision = res.header?.revision ?? 0n,
): TxnResult {
  const responses: OpResult[] = res.responses.map((r) => {
    if (r.responseRange) return { type: 'get', ...kv.rangeResult(r.responseRange, prefixLength), revision };
    if (r.responsePut) return { type: 'put', ...kv.putResult(r.responsePut, prefixLength), revision };
    if (r.responseDeleteRange)
      return { type: 'delete', ...kv.deleteResult(r.responseDeleteRange, prefixLength), revision };
    if (r.responseTxn) return { type: 'txn', ...txnResult(r.responseTxn, prefixLength, revision) };
    throw new TypeError('txn response with an empty op result');
  });
  return { succeeded: res.succeeded, revision, responses };
}

/**
 * A transaction under construction. `if`, `then` and `else` may each be called more than once (they
 * append); `commit()` sends it. (Because the builder has a `then` method, awaiting it by mistake
 * would make it look like a promise: in that case it commits instead of hanging.)
 */
export class Txn {
  private readonly compares: Compare[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];

  constructor(
    private readonly run: (
      compare: readonly Compare[],
      success: readonly Op[],
      failure: readonly Op[],
      opts: CallOptions,
    ) => Promise<TxnResult>,
  ) {}

  /** Conditions that must all hold for `then` to run (made by `cmp.*`). */
  if(...conditions: Compare[]): this {
    checkItems(conditions, 'txn.if: condition', isCompare, 'cmp');
    this.compares.push(...conditions);
    return this;
  }

  /** Ops to run when every condition holds. */
  // biome-ignore lint/suspicious/noThenProperty: etcd's If/Then/Else; the thenable protocol is handled below
  then(...ops: Op[]): this {
    const args: unknown[] = ops;
    if (args.length > 0 && args.some((a) => typeof a === 'function')) {
      // the thenable protocol (`await builder`): commit
      void this.commit().then(args[0] as (v: TxnResult) => unknown, args[1] as (e: unknown) => unknown);
      return this;
    }
    checkItems(ops, 'txn.then: op', isOp, 'op');
    this.success.push(...ops);
    return this;
  }

  /** Ops to run when some condition fails. */
  else(...ops: Op[]): this {
    checkItems(ops, 'txn.else: op', isOp, 'op');
    this.failure.push(...ops);
    return this;
  }

  /** Sends the transaction. */
  commit(opts?: CallOptions): Promise<TxnResult> {
    try {
      opts = callOptions(opts, 'txn.commit');
    } catch (e) {
      return Promise.reject(e);
    }
    return this.run(this.compares, this.success, this.failure, opts);
  }
}
