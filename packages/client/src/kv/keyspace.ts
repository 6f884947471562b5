// KV, Watch and Lease operations over a keyspace: the whole store for the Client itself, or the keys
// under a prefix for a namespace view (`client.namespace('app/')`), where every key given is
// prefixed and every key returned has the prefix removed.

import { etcdserverpb, type PartialMessage } from '@conclave/api';
import type { KeepAliveManager } from '../lease/keepalive.js';
import { LeaseApi } from '../lease/lease.js';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import { Txn, hasWrites, txnRequest, txnResult, type Op, type TxnResult } from '../txn/txn.js';
import type { Compare } from '../txn/compare.js';
import { concatBytes, nextKey, toBytes, type Bytes, type RangeSpec } from '../util/bytes.js';
import type { WatchManager } from '../watch/watch-manager.js';
import { Watcher } from '../watch/watcher.js';
import type { WatchOptions } from '../watch/types.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { keyValueFrom, type KeyValue } from './key-value.js';
import {
  callOptions,
  checkBool,
  checkBytes,
  checkChoice,
  checkCount,
  checkInt,
  checkSignal,
  options,
} from '../util/validate.js';
import {
  checkDelete,
  checkPut,
  checkRange,
  checkRangeSpec,
  deleteRequest,
  deleteResult,
  putRequest,
  putResult,
  rangeRequest,
  rangeResult,
  wireRange,
  type DeleteQuery,
  type DeleteResult,
  type PutQuery,
  type PutResult,
  type RangeQuery,
  type RangeResult,
} from './requests.js';

const KV = etcdserverpb.KVService;

/** A key, or a key with a range spec: `{ key: 'a/', prefix: true }`, `{ key: 'a', end: 'c' }`, `{ key: 'a', fromKey: true }`. */
export type KeyRange = Bytes | ({ key: Bytes } & RangeSpec);

/** Options of `get`: read at a revision, serializable, keys only, and the call options. */
export type GetOptions = Pick<RangeQuery, 'revision' | 'serializable' | 'keysOnly'> & CallOptions;

/** Options of `paginate`. */
export interface PaginateOptions extends RangeSpec, Pick<RangeQuery, 'revision' | 'serializable' | 'keysOnly'> {
  /** Keys per request (default 1000). */
  pageSize?: number;
  /** Aborts the iteration (it throws AbortedError). */
  signal?: AbortSignal;
  /** Deadline of each page request. */
  timeoutMs?: number;
}

/** The parts of a client every keyspace view shares. */
export interface ClientCore {
  rpc: Rpc;
  watches: WatchManager;
  keepalives: KeepAliveManager;
}

const FILTERS = ['noPut', 'noDelete'];

function checkWatch(key: Bytes, o: WatchOptions): void {
  checkBytes(key, 'watch: key');
  checkRangeSpec(o, 'watch: options');
  if (o.startRevision !== undefined) checkInt(o.startRevision, 'watch: options.startRevision');
  if (o.signal !== undefined) checkSignal(o.signal, 'watch: options.signal');
  if (o.filters !== undefined) {
    if (!Array.isArray(o.filters)) checkChoice(o.filters, 'watch: options.filters', FILTERS);
    for (const f of o.filters) checkChoice(f, 'watch: options.filters[]', FILTERS);
  }
  if (o.onCompacted !== undefined) checkChoice(o.onCompacted, 'watch: options.onCompacted', ['error', 'resync']);
  for (const f of ['prevKv', 'progressNotify'] as const) if (o[f] !== undefined) checkBool(o[f], `watch: options.${f}`);
}

function splitKey(k: KeyRange, opts: RangeSpec | undefined, where: string): { key: Bytes; spec: RangeSpec } {
  const pick = (s: RangeSpec | undefined): RangeSpec => {
    const out: RangeSpec = {};
    if (s?.prefix) out.prefix = true;
    if (s?.fromKey) out.fromKey = true;
    if (s?.end !== undefined) out.end = s.end;
    return out;
  };
  if (typeof k === 'string' || k instanceof Uint8Array) return { key: k, spec: pick(opts) };
  if (typeof k !== 'object' || k === null || Array.isArray(k)) checkBytes(k, `${where}: key`);
  checkBytes(k.key, `${where}: key.key`);
  checkRangeSpec(k, `${where}: key`);
  const a = pick(k);
  const b = pick(opts);
  const n = Object.keys(a).length + Object.keys(b).length;
  if (n > 1) throw new TypeError('at most one of prefix, end and fromKey may be given');
  return { key: k.key, spec: { ...a, ...b } };
}

/** The telemetry (logger, tracer, histograms) of the client a keyspace belongs to. */
export function telemetryOf(kv: KeySpace): Telemetry {
  return (kv as unknown as { core: ClientCore }).core.rpc.settings.telemetry;
}

/**
 * The KV, Watch and Lease operations over a keyspace: the whole store (a Client is one), or the
 * keys under a prefix (`client.namespace('app/')`), where every key given is prefixed and every key
 * returned comes back without the prefix.
 */
export class KeySpace {
  /** Leases (grant, revoke, timeToLive, leases, keepAlive). */
  readonly lease: LeaseApi;

  constructor(
    protected readonly core: ClientCore,
    /** The namespace prefix (empty for the whole keyspace). */
    readonly prefix: Uint8Array,
  ) {
    this.lease = new LeaseApi(core.rpc, core.keepalives, prefix);
  }

  /** Writes a key. */
  async put(key: Bytes, value: Bytes, opts?: PutQuery & CallOptions): Promise<PutResult> {
    opts = callOptions(opts, 'put');
    checkPut(key, value, opts, 'put');
    const res = await this.core.rpc.unary(KV.Put, putRequest(this.prefix, key, value, opts), {
      ...opts,
      kind: 'write',
    });
    return putResult(res, this.prefix.length);
  }

  /** Reads one key; `undefined` when it does not exist. */
  async get(key: Bytes, opts?: GetOptions): Promise<KeyValue | undefined> {
    opts = callOptions(opts, 'get');
    checkBytes(key, 'get: key');
    if (opts.revision !== undefined) checkInt(opts.revision, 'get: options.revision');
    const req = rangeRequest(this.prefix, key, { ...opts, prefix: false, end: undefined, fromKey: false });
    const res = await this.core.rpc.unary(KV.Range, req, { ...opts, kind: 'read' });
    const kv = res.kvs[0];
    return kv ? keyValueFrom(kv, this.prefix.length) : undefined;
  }

  /** Reads a key or a range (prefix, `[key, end)`, from key), with limit, sort, revision, keysOnly, countOnly, serializable. */
  async range(key: KeyRange, opts?: RangeQuery & CallOptions): Promise<RangeResult> {
    opts = callOptions(opts, 'range');
    const { key: k, spec } = splitKey(key, opts, 'range');
    checkRange(k, opts, 'range');
    const res = await this.core.rpc.unary(KV.Range, rangeRequest(this.prefix, k, { ...opts, ...specOnly(spec) }), {
      ...opts,
      kind: 'read',
    });
    return rangeResult(res, this.prefix.length);
  }

  /**
   * Iterates over a large range in pages of `pageSize` keys, in key order. Every page is read at the
   * revision of the first (or `revision`), so the iteration sees one consistent snapshot; if that
   * revision is compacted meanwhile, it throws CompactedError.
   */
  paginate(key: KeyRange, opts?: PaginateOptions): AsyncGenerator<KeyValue, void, undefined> {
    // checked here, not inside the generator: a bad argument throws at the call, not at the first next()
    const o = callOptions(opts, 'paginate');
    const { key: k, spec } = splitKey(key, o, 'paginate');
    checkRange(k, o, 'paginate');
    if (o.pageSize !== undefined) checkCount(o.pageSize, 'paginate: options.pageSize');
    return this.pages(k, spec, o);
  }

  private async *pages(k: Bytes, spec: RangeSpec, opts: PaginateOptions): AsyncGenerator<KeyValue, void, undefined> {
    const wire = wireRange(this.prefix, k, spec);
    const pageSize = opts.pageSize ?? 1000;
    let revision = opts.revision ? BigInt(opts.revision) : 0n;
    let start = wire.key;
    const call: CallOptions = {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    };
    for (;;) {
      const req: PartialMessage<etcdserverpb.RangeRequest> = {
        key: start,
        rangeEnd: wire.rangeEnd,
        limit: pageSize,
        revision,
        serializable: opts.serializable ?? false,
        keysOnly: opts.keysOnly ?? false,
      };
      const res = await this.core.rpc.unary(KV.Range, req, { ...call, kind: 'read' });
      if (revision === 0n) revision = res.header?.revision ?? 0n;
      for (const kv of res.kvs) yield keyValueFrom(kv, this.prefix.length);
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last || wire.rangeEnd.length === 0) return;
      start = nextKey(last.key);
    }
  }

  /** Deletes a key or a range. */
  async delete(key: KeyRange, opts?: DeleteQuery & CallOptions): Promise<DeleteResult> {
    opts = callOptions(opts, 'delete');
    const { key: k, spec } = splitKey(key, opts, 'delete');
    checkDelete(k, opts, 'delete');
    const res = await this.core.rpc.unary(
      KV.DeleteRange,
      deleteRequest(this.prefix, k, { ...specOnly(spec), prevKv: opts.prevKv ?? false }),
      {
        ...opts,
        kind: 'write',
      },
    );
    return deleteResult(res, this.prefix.length);
  }

  /** Starts a transaction: `.if(...).then(...).else(...).commit()`. */
  txn(): Txn {
    return new Txn((compare, success, failure, opts) => this.commit(compare, success, failure, opts));
  }

  private async commit(
    compare: readonly Compare[],
    success: readonly Op[],
    failure: readonly Op[],
    opts: CallOptions,
  ): Promise<TxnResult> {
    const kind = hasWrites(success) || hasWrites(failure) ? 'write' : 'read';
    const res = await this.core.rpc.unary(KV.Txn, txnRequest(this.prefix, compare, success, failure), {
      ...opts,
      kind,
    });
    return txnResult(res, this.prefix.length);
  }

  /** Compacts the key-value history up to `revision`; `physical` waits until the space is reclaimed. */
  async compact(revision: bigint | number, opts?: CallOptions & { physical?: boolean }): Promise<void> {
    opts = callOptions(opts, 'compact');
    checkInt(revision, 'compact: revision', 1);
    await this.core.rpc.unary(KV.Compact, { revision, physical: opts.physical ?? false }, { ...opts, kind: 'write' });
  }

  /** Watches a key or a range; see Watcher. Many watches share one stream. */
  watch(key: KeyRange, opts?: WatchOptions): Watcher {
    opts = options(opts, 'watch: options');
    const { key: k, spec } = splitKey(key, opts, 'watch');
    checkWatch(k, opts);
    if (this.core.rpc.isClosed) throw this.core.rpc.closedError();
    const wire = wireRange(this.prefix, k, spec);
    const filters: etcdserverpb.WatchCreateRequest_FilterType[] = [];
    for (const f of opts.filters ?? []) filters.push(f === 'noPut' ? 0 : 1);
    const request: PartialMessage<etcdserverpb.WatchCreateRequest> = {
      key: wire.key,
      rangeEnd: wire.rangeEnd,
      prevKv: opts.prevKv ?? false,
      progressNotify: opts.progressNotify ?? false,
      filters,
      fragment: true,
    };
    const relist = (): Promise<RangeResult> => this.range(k, specOnly(spec));
    const w = new Watcher(
      this.core.watches,
      request,
      opts.startRevision ? BigInt(opts.startRevision) : 0n,
      this.prefix.length,
      opts.progressNotify ?? false,
      opts.onCompacted ?? 'error',
      relist,
      opts.signal,
      this.core.rpc.settings.telemetry,
    );
    this.core.watches.add(w);
    return w;
  }

  /** A view of the keys under `prefix` (relative to this view's own prefix). */
  namespace(prefix: Bytes): KeySpace {
    return new KeySpace(this.core, concatBytes(this.prefix, toBytes(prefix, 'namespace: prefix')));
  }
}

function specOnly(s: RangeSpec): RangeSpec {
  return {
    ...(s.prefix ? { prefix: true } : {}),
    ...(s.fromKey ? { fromKey: true } : {}),
    ...(s.end !== undefined ? { end: s.end } : {}),
  };
}
