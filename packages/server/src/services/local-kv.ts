// The member's own KV, as the server-side Lock and Election services use it (etcd builds them on its
// Go client pointed at itself): transactions through Raft, linearizable reads, and waiting for keys to
// be deleted by following committed MVCC events on this member.

import {
  encodeMessage,
  etcdserverpb,
  GrpcCode,
  GrpcStatusError,
  type PartialMessage,
  type mvccpb,
} from '@conclave/api';
import { applyRange } from '../apply/kv.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { ServiceContext } from './context.js';
import type { CallContext } from '../grpc/call.js';

type PbKv = PartialMessage<mvccpb.KeyValue>;
type TxnResult = PartialMessage<etcdserverpb.TxnResponse> & { header: { revision: number | bigint } };

/** The key just after every key with this prefix (etcd's prefix range end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * The member's KV on behalf of one caller: with auth on, every operation is checked with the
 * caller's credentials, as etcd's services calling etcd through its client with the caller's token.
 */
/** The member's ports the local KV uses. */
export type LocalKvPorts = Pick<ServiceContext, 'auth' | 'proposer' | 'reads' | 'store'>;

export class LocalKv {
  constructor(
    private readonly server: LocalKvPorts,
    private readonly call?: CallContext,
  ) {}

  /** The same KV acting for `call`. */
  as(call: CallContext): LocalKv {
    return new LocalKv(this.server, call);
  }

  async txn(t: PartialMessage<etcdserverpb.TxnRequest>, signal?: AbortSignal): Promise<TxnResult> {
    const auth = this.call ? await this.server.auth.proposeOptions(this.call) : {};
    return this.server.proposer.propose<TxnResult>(RequestKind.Txn, encodeMessage(etcdserverpb.TxnRequest, t), {
      ...auth,
      ...(signal ? { signal } : {}),
    });
  }

  /** A linearizable range read. */
  async range(r: PartialMessage<etcdserverpb.RangeRequest>): Promise<{ kvs: PbKv[]; revision: number }> {
    await this.server.reads.linearizableRead();
    const req = etcdserverpb.RangeRequest.create(r);
    if (this.call && this.server.auth.involved(this.call))
      this.server.auth.checkRange(await this.server.auth.identifyAsync(this.call), req);
    const res = applyRange(this.server.store, req);
    return { kvs: (res.kvs ?? []) as PbKv[], revision: Number(res.header?.revision ?? 0) };
  }

  /** The key with the smallest create revision under the prefix (etcd's WithFirstCreate). */
  async firstCreated(prefix: Buffer): Promise<{ kv: PbKv | undefined; revision: number }> {
    const r = await this.range({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: etcdserverpb.RangeRequest_SortTarget.CREATE,
      sortOrder: etcdserverpb.RangeRequest_SortOrder.ASCEND,
      limit: 1,
    });
    return { kv: r.kvs[0], revision: r.revision };
  }

  async delete(key: Buffer): Promise<number> {
    const r = await this.txn({ success: [{ requestDeleteRange: { key } }] });
    return Number(r.header.revision);
  }

  /** Calls `fn` for every committed change under `prefix` on this member until the returned function is called. */
  follow(prefix: Buffer, fn: () => void): () => void {
    const end = prefixEnd(prefix);
    return this.server.store.onCommit((_rev, events) => {
      for (const e of events) {
        if (Buffer.compare(e.kv.key, prefix) >= 0 && Buffer.compare(e.kv.key, end) < 0) {
          fn();
          return;
        }
      }
    });
  }

  /**
   * etcd's waitDeletes: returns once no key under `prefix` has a create revision ≤ maxCreateRev,
   * i.e. every earlier waiter is gone. Rejects with the signal's reason when aborted.
   */
  async waitDeletes(prefix: Buffer, maxCreateRev: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      // Subscribe before reading so no deletion between the read and the subscription is missed.
      let changed: () => void = () => {};
      const woke = new Promise<void>((resolve) => (changed = resolve));
      const stop = this.follow(prefix, () => changed());
      try {
        const r = await this.range({
          key: prefix,
          rangeEnd: prefixEnd(prefix),
          maxCreateRevision: maxCreateRev,
          sortTarget: etcdserverpb.RangeRequest_SortTarget.CREATE,
          sortOrder: etcdserverpb.RangeRequest_SortOrder.DESCEND,
          limit: 1,
        });
        if (r.kvs.length === 0) return;
        const onAbort = (): void => changed();
        signal.addEventListener('abort', onAbort, { once: true });
        await woke;
        signal.removeEventListener('abort', onAbort);
      } finally {
        stop();
      }
    }
  }
}

/**
 * etcd's Lock and Election services call etcd through its Go client, so every error they return is a
 * plain error and reaches the caller as UNKNOWN with etcd's message: do the same.
 */
export function asPlainErrors<T extends Record<string, (...args: never[]) => unknown>>(handlers: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers)) {
    out[name] = (...args: never[]) => {
      const r = fn(...args);
      return r instanceof Promise ? r.catch((e: unknown) => Promise.reject(plain(e))) : r;
    };
  }
  return out as T;
}

function plain(e: unknown): unknown {
  if (e instanceof GrpcStatusError && e.code !== GrpcCode.CANCELLED && e.code !== GrpcCode.DEADLINE_EXCEEDED) {
    return new GrpcStatusError(GrpcCode.UNKNOWN, e.message, { cause: e });
  }
  return e;
}
