// Request builders and response converters for KV operations, shared by direct calls and
// transactions. Every builder takes the namespace prefix; every converter strips it.

import type { etcdserverpb, PartialMessage } from '@conclave/api';
import { EMPTY, prefixRange, resolveRange, toBytes, type Bytes, type RangeSpec } from '../util/bytes.js';
import { checkBytes, checkChoice, checkCount, checkInt, options } from '../util/validate.js';
import { keyValueFrom, type KeyValue } from './key-value.js';

/** What a range is sorted by: the key, its version, create or mod revision, or its value. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
/** Sort direction of a range (`none`: the server's key order). */
export type SortOrder = 'none' | 'ascend' | 'descend';

/** Options of a read (`get`, `range`, `paginate`, and `op.get` in transactions). */
export interface RangeQuery extends RangeSpec {
  /** Most keys to return (0 = no limit). With sorting or filters, applied after them. */
  limit?: number;
  /** Read at this revision (0 = latest). */
  revision?: bigint | number;
  sort?: { target?: SortTarget; order?: SortOrder };
  /** Return keys without values. */
  keysOnly?: boolean;
  /** Return only the count. */
  countOnly?: boolean;
  /** Serve from the contacted member's local state (may be stale) instead of a linearizable read. */
  serializable?: boolean;
  minModRevision?: bigint | number;
  maxModRevision?: bigint | number;
  minCreateRevision?: bigint | number;
  maxCreateRevision?: bigint | number;
}

/** Options of a put (`put`, `op.put`). */
export interface PutQuery {
  /** Attach the key to this lease (0 or absent: no lease). */
  lease?: bigint | number;
  /** Return the previous key-value in `prevKv`. */
  prevKv?: boolean;
  /** Keep the current value (the key must exist; pass '' as value). */
  ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  ignoreLease?: boolean;
}

/** Options of a delete (`delete`, `op.delete`): a range spec and `prevKv`. */
export interface DeleteQuery extends RangeSpec {
  /** Return the deleted key-values in `prevKvs`. */
  prevKv?: boolean;
}

/** The result of a read (`range`, `op.get`). */
export interface RangeResult {
  /** The key-values in range (after `limit`), keys without the namespace prefix. */
  kvs: KeyValue[];
  /** More keys were in range than `limit` allowed. */
  more: boolean;
  /** Number of keys in range (before `limit`). */
  count: number;
  /** The store revision the read was served at. */
  revision: bigint;
}

/** The result of a put. */
export interface PutResult {
  /** The store revision of the write. */
  revision: bigint;
  prevKv: KeyValue | undefined;
}

/** The result of a delete. */
export interface DeleteResult {
  /** The store revision of the write. */
  revision: bigint;
  deleted: number;
  prevKvs: KeyValue[];
}

const SORT_TARGET: Record<SortTarget, etcdserverpb.RangeRequest_SortTarget> = {
  key: 0,
  version: 1,
  create: 2,
  mod: 3,
  value: 4,
};
const SORT_ORDER: Record<SortOrder, etcdserverpb.RangeRequest_SortOrder> = { none: 0, ascend: 1, descend: 2 };
const SORT_TARGETS = Object.keys(SORT_TARGET);
const SORT_ORDERS = Object.keys(SORT_ORDER);

/** Checks a range spec (`prefix`, `end`, `fromKey`) given as options. */
export function checkRangeSpec(spec: RangeSpec, where: string): void {
  if (spec.end !== undefined) checkBytes(spec.end, `${where}.end`);
}

/** Checks a read's key and options; throws TypeError naming the bad argument. */
export function checkRange(key: unknown, q: RangeQuery | undefined, where: string): void {
  checkBytes(key, `${where}: key`);
  const o = options(q, `${where}: options`);
  checkRangeSpec(o, `${where}: options`);
  if (o.limit !== undefined) checkCount(o.limit, `${where}: options.limit`, 0);
  for (const f of ['revision', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const)
    if (o[f] !== undefined) checkInt(o[f], `${where}: options.${f}`);
  if (o.sort !== undefined) {
    options(o.sort, `${where}: options.sort`);
    if (o.sort.target !== undefined) checkChoice(o.sort.target, `${where}: options.sort.target`, SORT_TARGETS);
    if (o.sort.order !== undefined) checkChoice(o.sort.order, `${where}: options.sort.order`, SORT_ORDERS);
  }
}

/** Checks a put's key, value and options. */
export function checkPut(key: unknown, value: unknown, q: PutQuery | undefined, where: string): void {
  checkBytes(key, `${where}: key`);
  checkBytes(value, `${where}: value`);
  const o = options(q, `${where}: options`);
  if (o.lease !== undefined) checkInt(o.lease, `${where}: options.lease`);
}

/** Checks a delete's key and options. */
export function checkDelete(key: unknown, q: DeleteQuery | undefined, where: string): void {
  checkBytes(key, `${where}: key`);
  checkRangeSpec(options(q, `${where}: options`), `${where}: options`);
}

export function wireRange(
  prefix: Uint8Array,
  key: Bytes,
  spec: RangeSpec | undefined,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  const r = resolveRange(key, spec);
  return prefixRange(prefix, r.key, r.rangeEnd);
}

export function rangeRequest(
  prefix: Uint8Array,
  key: Bytes,
  q: RangeQuery = {},
): PartialMessage<etcdserverpb.RangeRequest> {
  const r = wireRange(prefix, key, q);
  const req: PartialMessage<etcdserverpb.RangeRequest> = { key: r.key, rangeEnd: r.rangeEnd };
  if (q.limit) req.limit = q.limit;
  if (q.revision) req.revision = q.revision;
  if (q.sort) {
    req.sortTarget = SORT_TARGET[q.sort.target ?? 'key'];
    req.sortOrder = SORT_ORDER[q.sort.order ?? 'ascend'];
  }
  if (q.serializable) req.serializable = true;
  if (q.keysOnly) req.keysOnly = true;
  if (q.countOnly) req.countOnly = true;
  if (q.minModRevision) req.minModRevision = q.minModRevision;
  if (q.maxModRevision) req.maxModRevision = q.maxModRevision;
  if (q.minCreateRevision) req.minCreateRevision = q.minCreateRevision;
  if (q.maxCreateRevision) req.maxCreateRevision = q.maxCreateRevision;
  return req;
}

export function putRequest(
  prefix: Uint8Array,
  key: Bytes,
  value: Bytes,
  q: PutQuery = {},
): PartialMessage<etcdserverpb.PutRequest> {
  const k = toBytes(key);
  const req: PartialMessage<etcdserverpb.PutRequest> = {
    key: prefix.length ? prefixRange(prefix, k, EMPTY).key : k,
    value: toBytes(value),
  };
  if (q.lease) req.lease = q.lease;
  if (q.prevKv) req.prevKv = true;
  if (q.ignoreValue) req.ignoreValue = true;
  if (q.ignoreLease) req.ignoreLease = true;
  return req;
}

export function deleteRequest(prefix: Uint8Array, key: Bytes, q: DeleteQuery = {}): etcdserverpb.DeleteRangeRequest {
  return { ...wireRange(prefix, key, q), prevKv: q.prevKv ?? false };
}

export function rangeResult(res: etcdserverpb.RangeResponse, prefixLength: number): RangeResult {
  return {
    kvs: res.kvs.map((kv) => keyValueFrom(kv, prefixLength)),
    more: res.more,
    count: Number(res.count),
    revision: res.header?.revision ?? 0n,
  };
}

export function putResult(res: etcdserverpb.PutResponse, prefixLength: number): PutResult {
  return {
    revision: res.header?.revision ?? 0n,
    prevKv: res.prevKv ? keyValueFrom(res.prevKv, prefixLength) : undefined,
  };
}

export function deleteResult(res: etcdserverpb.DeleteRangeResponse, prefixLength: number): DeleteResult {
  return {
    revision: res.header?.revision ?? 0n,
    deleted: Number(res.deleted),
    prevKvs: res.prevKvs.map((kv) => keyValueFrom(kv, prefixLength)),
  };
}
