// Software transactional memory over etcd's Txn, with the four isolation levels of etcd's Go
// `concurrency.STM` and their exact conflict rules:
//
// - serializable-snapshot: every read is at the revision of the attempt's first read (one snapshot);
//   commit requires every key read to be unchanged *and* no key written to have been modified after
//   that snapshot (write-write conflicts on blind writes too). Serializable + snapshot isolation.
// - serializable: reads at the first read's revision; commit requires the keys read to be unchanged.
// - repeatable-reads: each key is read at the latest revision when first read (a member's local
//   state, possibly stale) and then cached; commit requires the keys read to be unchanged.
// - read-committed: reads of committed data, no conflict check: the writes are applied as they are.
//   Read-modify-write cycles can lose updates; use it only for blind writes or single-key logic.
//
// The function runs again from scratch (fresh read set) after a conflict, up to `retries` times. On
// a conflict at a serializable level the keys read are fetched in the failed commit's else branch,
// saving the re-reads of the next attempt (as in Go). A commit that fails ambiguously (the client
// cannot tell whether it was applied, e.g. the leader died mid-request) is not retried: the error is
// thrown, since running the function again could apply its effect twice.

import {
  CompactedError,
  FutureRevisionError,
  cmp,
  op,
  type Compare,
  type KeySpace,
  type KeyValue,
  type Op,
} from '@conclave/client';
import {
  callOptions,
  checkChoice,
  checkCount,
  checkFunction,
  checkInt,
  checkString,
  invalid,
  options,
} from '@conclave/client/internal';
import { checkKeySpace } from '../session/session.js';
import { throwIfAborted } from '../util/async.js';
import { STMConflictError } from '../util/errors.js';

/** The isolation levels of etcd's Go STM (see the table in the README). */
export type Isolation = 'serializable-snapshot' | 'serializable' | 'repeatable-reads' | 'read-committed';

const ISOLATIONS: readonly Isolation[] = [
  'serializable-snapshot',
  'serializable',
  'repeatable-reads',
  'read-committed',
];

/** Options of `runSTM`. */
export interface STMOptions {
  /** Default 'serializable-snapshot' (as etcd's NewSTM). */
  isolation?: Isolation;
  /** Most attempts before giving up with STMConflictError (default 100). */
  retries?: number;
  /** Keys read in one round trip at the start of every attempt (their reads join the read set). */
  prefetch?: string[];
  /** Aborts between steps (reads, attempts); a commit already sent is not withdrawn. */
  signal?: AbortSignal;
  /** Deadline of each call made by the STM. */
  timeoutMs?: number;
}

/** The transaction handle passed to the function given to runSTM. */
export interface STM {
  /** The key's value (this transaction's own write if any), or undefined if absent. Adds it to the read set. */
  get(key: string): Promise<string | undefined>;
  /** The key's mod revision as read (0n if absent). */
  rev(key: string): Promise<bigint>;
  /** Buffers a write, applied at commit. */
  put(key: string, value: string, opts?: { lease?: bigint }): void;
  /** Buffers a delete, applied at commit. */
  del(key: string): void;
}

interface Read {
  kv: KeyValue | undefined;
  /** Header revision of the read. */
  revision: bigint;
}

type Write = { type: 'put'; value: string; lease: bigint | undefined } | { type: 'delete' };

class Attempt implements STM {
  readonly reads = new Map<string, Read>();
  readonly writes = new Map<string, Write>();
  /** Snapshot revision (serializable levels), set by the first read. */
  base: bigint | undefined;

  constructor(
    private readonly kv: KeySpace,
    private readonly isolation: Isolation,
    private readonly prefetched: Map<string, Read>,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {}

  private get snapshot(): boolean {
    return this.isolation === 'serializable-snapshot' || this.isolation === 'serializable';
  }

  async get(key: string): Promise<string | undefined> {
    checkString(key, 'stm.get: key');
    const w = this.writes.get(key);
    if (w) return w.type === 'put' ? w.value : undefined;
    return (await this.read([key]))[0]!.kv?.valueString;
  }

  async rev(key: string): Promise<bigint> {
    checkString(key, 'stm.rev: key');
    return (await this.read([key]))[0]!.kv?.modRevision ?? 0n;
  }

  put(key: string, value: string, opts?: { lease?: bigint }): void {
    checkString(key, 'stm.put: key');
    checkString(value, 'stm.put: value');
    opts = options(opts, 'stm.put: options');
    if (opts.lease !== undefined) checkInt(opts.lease, 'stm.put: options.lease');
    this.writes.set(key, { type: 'put', value, lease: opts.lease });
  }

  del(key: string): void {
    checkString(key, 'stm.del: key');
    this.writes.set(key, { type: 'delete' });
  }

  /** Reads keys not read yet in one transaction (at the snapshot revision if one is set). */
  async read(keys: string[]): Promise<Read[]> {
    throwIfAborted(this.signal);
    const missing: string[] = [];
    for (const k of keys) {
      if (this.reads.has(k)) continue;
      const p = this.snapshot ? this.prefetched.get(k) : undefined;
      if (p) {
        this.prefetched.delete(k);
        this.record(k, p);
      } else if (!missing.includes(k)) missing.push(k);
    }
    if (missing.length > 0) {
      const fetched = await this.fetch(missing);
      missing.forEach((k, i) => this.record(k, fetched[i]!));
    }
    return keys.map((k) => this.reads.get(k)!);
  }

  private record(key: string, r: Read): void {
    if (this.snapshot && this.base === undefined) this.base = r.revision;
    this.reads.set(key, r);
  }

  private async fetch(keys: string[]): Promise<Read[]> {
    const call = {
      ...(this.signal ? { signal: this.signal } : {}),
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
    };
    const run = async (serializable: boolean): Promise<Read[]> => {
      const q = {
        ...(this.base !== undefined ? { revision: this.base } : {}),
        ...(serializable ? { serializable: true } : {}),
      };
      const r = await this.kv
        .txn()
        .then(...keys.map((k) => op.get(k, q)))
        .commit(call);
      return r.responses.map((res) => ({
        kv: res.type === 'get' ? res.kvs[0] : undefined,
        revision: this.base ?? r.revision,
      }));
    };
    // as in Go: local (serializable) reads, except the snapshot's first read, which must be current
    const local =
      this.isolation === 'repeatable-reads' || this.isolation === 'read-committed' || this.base !== undefined;
    if (!local) return run(false);
    try {
      return await run(true);
    } catch (e) {
      // a member behind the snapshot revision: read it through the leader instead
      if (e instanceof FutureRevisionError) return run(false);
      throw e;
    }
  }

  conditions(): Compare[] {
    if (this.isolation === 'read-committed') return [];
    const out: Compare[] = [];
    for (const [k, r] of this.reads) out.push(cmp.modRevision(k, '=', r.kv?.modRevision ?? 0n));
    if (this.isolation === 'serializable-snapshot' && this.base !== undefined) {
      for (const k of this.writes.keys()) out.push(cmp.modRevision(k, '<', this.base + 1n));
    }
    return out;
  }

  ops(): Op[] {
    const out: Op[] = [];
    for (const [k, w] of this.writes)
      out.push(w.type === 'put' ? op.put(k, w.value, w.lease !== undefined ? { lease: w.lease } : {}) : op.delete(k));
    return out;
  }
}

/**
 * Runs `fn` as a transaction at the chosen isolation level, retrying it on conflict; resolves with
 * its result once its writes are committed. An error thrown by `fn` aborts without writing.
 *
 * ```ts
 * // move 10 from alice to bob: both balances change, or neither
 * await runSTM(client, async (stm) => {
 *   const from = Number(await stm.get('accounts/alice'));
 *   const to = Number(await stm.get('accounts/bob'));
 *   stm.put('accounts/alice', String(from - 10));
 *   stm.put('accounts/bob', String(to + 10));
 * });
 * ```
 */
export async function runSTM<T>(client: KeySpace, fn: (stm: STM) => Promise<T> | T, opts?: STMOptions): Promise<T> {
  checkKeySpace(client, 'runSTM: client');
  checkFunction(fn, 'runSTM: fn');
  opts = callOptions(opts, 'runSTM');
  if (opts.isolation !== undefined) checkChoice(opts.isolation, 'runSTM: options.isolation', ISOLATIONS);
  if (opts.retries !== undefined) checkCount(opts.retries, 'runSTM: options.retries');
  if (opts.prefetch !== undefined) {
    if (!Array.isArray(opts.prefetch)) invalid('runSTM: options.prefetch', 'an array of keys', opts.prefetch);
    for (const k of opts.prefetch) checkString(k, 'runSTM: options.prefetch[]');
  }
  const isolation = opts.isolation ?? 'serializable-snapshot';
  const retries = opts.retries ?? 100;
  const call = {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
  let prefetched = new Map<string, Read>();
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(opts.signal);
    const a = new Attempt(client, isolation, prefetched, opts.signal, opts.timeoutMs);
    prefetched = new Map();
    let result: T;
    try {
      if (opts.prefetch?.length) await a.read(opts.prefetch);
      result = await fn(a);
    } catch (e) {
      // the snapshot revision was compacted during the attempt: start over at a new one
      if (e instanceof CompactedError && attempt < retries) continue;
      throw e;
    }
    const conditions = a.conditions();
    const ops = a.ops();
    if (conditions.length === 0 && ops.length === 0) return result;
    const snapshot = isolation === 'serializable-snapshot' || isolation === 'serializable';
    const readKeys = [...a.reads.keys()];
    const r = await client
      .txn()
      .if(...conditions)
      .then(...ops)
      .else(...(snapshot ? readKeys.map((k) => op.get(k)) : []))
      .commit(call);
    if (r.succeeded) return result;
    if (attempt >= retries) throw new STMConflictError(attempt);
    if (snapshot) {
      r.responses.forEach((res, i) => {
        if (res.type === 'get') prefetched.set(readKeys[i]!, { kv: res.kvs[0], revision: r.revision });
      });
    }
  }
}
