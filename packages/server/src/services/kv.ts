// etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact. Writes go through Raft; linearizable reads
// wait for a ReadIndex round; serializable reads are served from this member's store at once.

import { encodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import { checkDelete, checkPut, checkRange, checkTxn, isTxnReadOnly } from '../apply/check.js';
import { compactText, rangeResponseText } from '../apply/slow-apply.js';
import { applyRange, applyTxn } from '../apply/kv.js';
import { costPut, costTxn } from '../etcdserver/quota.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, type ServiceContext } from './context.js';

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
  const { proposer, reads, store } = ctx;
  // auth: reads are checked here (etcd's doSerialize); writes carry the caller into the log and are
  // checked when applied (auth/apply.ts), where a token checked at an older auth revision is refused.
  const auth = ctx.auth;
  const kvEnv = { leaseExists: (id: bigint) => ctx.leases.lessor.has(id) };
  return {
    Range: async (req, call) => {
      const start = performance.now();
      let res: PartialMessage<etcdserverpb.RangeResponse> | undefined;
      const range = () => {
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
        throw err;
      } finally {
        // etcd's warnOfExpensiveReadOnlyRangeRequest: from the request's arrival to its answer
        ctx.slowApply?.check(
          performance.now() - start,
          'read-only range ',
          () => compactText(req),
          () => (res ? rangeResponseText(res) : ''),
        );
      }
    },
    Put: async (req, call) => {
      // etcd's quota interceptor runs before the request is validated
      const overQuota = ctx.alarms.checkQuota(costPut(req));
      if (overQuota) await overQuota;
      checkPut(req);
      const who = await auth.proposeOptions(call);
      const res = await proposer.propose<PartialMessage<etcdserverpb.PutResponse>>(
        RequestKind.Put,
        encodeMessage(etcdserverpb.PutRequest, req),
        { ...who, cancel: call },
      );
      return withHeader(ctx, res);
    },
    DeleteRange: async (req, call) => {
      checkDelete(req);
      const who = await auth.proposeOptions(call);
      const res = await proposer.propose<PartialMessage<etcdserverpb.DeleteRangeResponse>>(
        RequestKind.DeleteRange,
        encodeMessage(etcdserverpb.DeleteRangeRequest, req),
        { ...who, cancel: call },
      );
      return withHeader(ctx, res);
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
      const who = await auth.proposeOptions(call);
      const res = await proposer.propose<PartialMessage<etcdserverpb.TxnResponse>>(
        RequestKind.Txn,
        encodeMessage(etcdserverpb.TxnRequest, req),
        { ...who, cancel: call },
      );
      return withHeader(ctx, res);
    },
    Compact: async (req, call) => {
      const who = await auth.proposeOptions(call);
      const res = await proposer.propose<{ header: Header; done: Promise<void> }>(
        RequestKind.Compaction,
        encodeMessage(etcdserverpb.CompactionRequest, req),
        {
          ...who,
          cancel: call,
        },
      );
      if (req.physical) {
        await res.done;
        await ctx.backend.sync();
      }
      return { header: header(ctx, res.header.revision ?? 0) };
    },
  };
}
