// etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact. Writes go through Raft; linearizable reads
// wait for a ReadIndex round; serializable reads are served from this member's store at once.

import { encodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import { checkDelete, checkPut, checkRange, checkTxn, isTxnReadOnly } from '../apply/check.js';
import { compactText, rangeResponseText } from '../apply/slow-apply.js';
import { applyRange, applyTxn } from '../apply/kv.js';
import { costPut, costTxn } from '../etcdserver/quota.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { CallContext } from '../grpc/call.js';
import { StreamedResponse, type ServiceHandlers } from '../grpc/grpc-server.js';
import { streamRange, streamedRangeText, type RangeBody } from '../range-stream/index.js';
import { header, proposeAsCaller, type ServiceContext } from './context.js';

type Header = PartialMessage<etcdserverpb.ResponseHeader>;
type WithHeader = { header?: Header };

function withHeader<T extends WithHeader>(ctx: ServiceContext, res: T): T {
  res.header = header(ctx, res.header?.revision ?? 0);
  return res;
}

/** True when every range in the txn (at any depth) asks for a serializable read. */
function txnSerializable(t: etcdserverpb.TxnRequest): boolean {
  const ok = (ops: etcdserverpb.RequestOp[]): boolean =>
    ops.every((op) =>
      op.requestRange ? op.requestRange.serializable : op.requestTxn ? txnSerializable(op.requestTxn) : true,
    );
  return ok(t.success) && ok(t.failure);
}

export function kvService(ctx: ServiceContext): ServiceHandlers<typeof etcdserverpb.KVService> {
  const { reads, store } = ctx;
  // auth: reads are checked here (etcd's doSerialize); writes carry the caller into the log and are
  // checked when applied (auth/apply.ts), where a token checked at an older auth revision is refused.
  const auth = ctx.auth;
  const kvEnv = { leaseExists: (id: bigint) => ctx.leases.lessor.has(id) };
  const propose = <Res>(call: CallContext, kind: RequestKind, body: Uint8Array) =>
    proposeAsCaller<PartialMessage<Res>>(ctx, call, kind, body);
  return {
    Range: async (req, call) => {
      const start = performance.now();
      let res: PartialMessage<etcdserverpb.RangeResponse> | undefined;
      let body: RangeBody | null = null;
      // A large response is planned here (one view of the store) and sent in chunks as the client
      // reads it (range-stream/); a small one is built whole.
      const range = () => {
        body = streamRange(store, req, (rev) => header(ctx, rev));
        if (body) return new StreamedResponse(body);
        res = applyRange(store, req);
        return withHeader(ctx, res);
      };
      try {
        checkRange(req);
        if (!req.serializable) await reads.linearizableRead();
        if (!auth.involved(call)) return range();
        const info = await auth.identifyAsync(call);
        return auth.serialize(info, () => auth.checkRange(info, req), range);
      } catch (err) {
        res = undefined;
        body = null;
        throw err;
      } finally {
        // etcd's warnOfExpensiveReadOnlyRangeRequest: from the request's arrival to its answer
        const streamed: RangeBody | null = body;
        ctx.slowApply?.check(
          performance.now() - start,
          'read-only range ',
          () => compactText(req),
          () => (streamed ? streamedRangeText(streamed) : res ? rangeResponseText(res) : ''),
        );
      }
    },
    Put: async (req, call) => {
      // etcd's quota interceptor runs before the request is validated
      const overQuota = ctx.alarms.checkQuota(costPut(req));
      if (overQuota) await overQuota;
      checkPut(req);
      const body = encodeMessage(etcdserverpb.PutRequest, req);
      return withHeader(ctx, await propose<etcdserverpb.PutResponse>(call, RequestKind.Put, body));
    },
    DeleteRange: async (req, call) => {
      checkDelete(req);
      const body = encodeMessage(etcdserverpb.DeleteRangeRequest, req);
      return withHeader(ctx, await propose<etcdserverpb.DeleteRangeResponse>(call, RequestKind.DeleteRange, body));
    },
    Txn: async (req, call) => {
      const overQuota = ctx.alarms.checkQuota(costTxn(req));
      if (overQuota) await overQuota;
      checkTxn(req, ctx.maxTxnOps);
      if (isTxnReadOnly(req)) {
        if (!txnSerializable(req)) await reads.linearizableRead();
        if (!auth.involved(call)) return withHeader(ctx, applyTxn(store, req, kvEnv, true));
        const info = await auth.identifyAsync(call);
        return auth.serialize(
          info,
          () => auth.checkTxn(info, req),
          () => withHeader(ctx, applyTxn(store, req, kvEnv, true)),
        );
      }
      const body = encodeMessage(etcdserverpb.TxnRequest, req);
      return withHeader(ctx, await propose<etcdserverpb.TxnResponse>(call, RequestKind.Txn, body));
    },
    Compact: async (req, call) => {
      const res = await proposeAsCaller<{ header: Header; done: Promise<void> }>(
        ctx,
        call,
        RequestKind.Compaction,
        encodeMessage(etcdserverpb.CompactionRequest, req),
      );
      if (req.physical) {
        await res.done;
        await ctx.backend.sync();
      }
      return { header: header(ctx, res.header.revision ?? 0) };
    },
  };
}
