// etcdserverpb.Lease: LeaseGrant and LeaseRevoke go through Raft; LeaseKeepAlive (a stream of
// renewals) and LeaseTimeToLive are answered by the leader (forwarded there by other members);
// LeaseLeases lists this member's leases. Behaviour as etcd 3.4's v3rpc LeaseServer: an unknown
// lease gives TTL 0 on keep-alive and TTL -1 on TimeToLive rather than an error.

import { encodeMessage, etcdserverpb, Writer, type PartialMessage } from '@conclave/api';
import { LEASE_OVERHEAD } from '../etcdserver/quota.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import { LeaseNotFoundError, type LeaseHost } from '../lease/index.js';
import { GrpcCall } from '../grpc/grpc-call.js';
import type { ServerCall, ServiceHandlers } from '../grpc/grpc-server.js';
import { encodeHeaderField } from '../watch/index.js';
import { header, proposeAsCaller, requireLeaderIfAsked, type ServiceContext } from './context.js';
import type { StreamGuard } from './stream-guard.js';

type KeepAliveCall = ServerCall<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>;

export interface LeaseService {
  handlers: ServiceHandlers<typeof etcdserverpb.LeaseService>;
  /** Ends every keep-alive stream (server shutdown). */
  close(err: unknown): void;
}

/** Generates lease IDs as etcd does: the request ID generator with the sign bit cleared, never 0. */
function nextLeaseId(ctx: ServiceContext): bigint {
  for (;;) {
    const id = ctx.nextId() & 0x7fff_ffff_ffff_ffffn;
    if (id !== 0n) return id;
  }
}

export function leaseService(ctx: ServiceContext, guard: StreamGuard): LeaseService {
  const m = ctx.member;
  // Keep-alive responses are hot (one per renewal): the header is encoded once per revision and term.
  let hdrRev = -1;
  let hdrTerm = -1;
  let hdrCluster = -1n;
  let hdr: Buffer = Buffer.alloc(0);
  const w = new Writer(64);
  const keepAliveBody = (id: bigint, rev: number, ttl: number): Buffer => {
    const term = m.term;
    if (rev !== hdrRev || term !== hdrTerm || m.clusterId !== hdrCluster) {
      hdr = encodeHeaderField({ clusterId: m.clusterId, memberId: m.memberId, revision: rev, raftTerm: term });
      hdrRev = rev;
      hdrTerm = term;
      hdrCluster = m.clusterId;
    }
    w.reset();
    w.raw(hdr);
    if (id !== 0n) {
      w.uint32(16);
      w.int64(id);
    }
    if (ttl !== 0) {
      w.uint32(24);
      w.int64(ttl);
    }
    return w.finish();
  };
  const host: LeaseHost = ctx.leases;
  const streams = new Set<KeepAliveCall>();

  const keepAlive = (call: KeepAliveCall): void => {
    if (!guard.admit(call)) return;
    streams.add(call);
    // Requests are answered in order, one at a time (etcd's loop: recv, renew, send).
    const queue: bigint[] = [];
    let busy = false;
    let halfClosed = false;
    const fail = (err: unknown): void => {
      queue.length = 0;
      call.finish(err);
    };
    const respond =
      call instanceof GrpcCall
        ? (id: bigint, rev: number, ttl: number): void => void call.sendRaw(keepAliveBody(id, rev, ttl))
        : (id: bigint, rev: number, ttl: number): void =>
            void call.send({
              header: { clusterId: m.clusterId, memberId: m.memberId, revision: rev, raftTerm: m.term },
              ID: id,
              TTL: ttl,
            });
    const drain = (): void => {
      while (queue.length > 0 && !call.isFinished) {
        const id = queue.shift()!;
        // The header is taken before renewing: a revocation seen after it has a later revision.
        const rev = ctx.store.currentRevision;
        let r: number | Promise<number>;
        try {
          r = host.renew(id);
        } catch (e) {
          if (!(e instanceof LeaseNotFoundError)) return fail(e);
          r = 0;
        }
        if (typeof r === 'number') {
          respond(id, rev, r);
          continue;
        }
        busy = true;
        r.then(
          (ttl) => respond(id, rev, ttl),
          (e: unknown) => {
            if (e instanceof LeaseNotFoundError) respond(id, rev, 0);
            else fail(e);
          },
        ).finally(() => {
          busy = false;
          drain();
        });
        return;
      }
      if (halfClosed && !busy && queue.length === 0) call.finish();
    };
    call.onMessage = (req) => {
      queue.push(req.ID);
      if (!busy) drain();
    };
    call.onHalfClose = () => {
      halfClosed = true;
      if (!busy) drain();
    };
    call.onDone = () => {
      streams.delete(call);
      guard.release(call);
      queue.length = 0;
    };
  };

  const handlers: ServiceHandlers<typeof etcdserverpb.LeaseService> = {
    LeaseGrant: async (req, call) => {
      requireLeaderIfAsked(ctx, call);
      const overQuota = ctx.alarms.checkQuota(LEASE_OVERHEAD);
      if (overQuota) await overQuota;
      const body = encodeMessage(etcdserverpb.LeaseGrantRequest, {
        TTL: req.TTL,
        ID: req.ID === 0n ? nextLeaseId(ctx) : req.ID,
      });
      const res = await proposeAsCaller<PartialMessage<etcdserverpb.LeaseGrantResponse>>(
        ctx,
        call,
        RequestKind.LeaseGrant,
        body,
      );
      return { ...res, header: header(ctx, res.header?.revision ?? 0) };
    },
    LeaseRevoke: async (req, call) => {
      requireLeaderIfAsked(ctx, call);
      const res = await proposeAsCaller<PartialMessage<etcdserverpb.LeaseRevokeResponse>>(
        ctx,
        call,
        RequestKind.LeaseRevoke,
        encodeMessage(etcdserverpb.LeaseRevokeRequest, req),
      );
      return { header: header(ctx, res.header?.revision ?? 0) };
    },
    LeaseKeepAlive: keepAlive,
    LeaseTimeToLive: async (req, call) => {
      requireLeaderIfAsked(ctx, call);
      try {
        const t = await host.timeToLive(req.ID, req.keys);
        return {
          header: header(ctx, ctx.store.currentRevision),
          ID: t.id,
          TTL: t.ttl,
          grantedTTL: t.grantedTtl,
          keys: t.keys,
        };
      } catch (e) {
        if (!(e instanceof LeaseNotFoundError)) throw e;
        return { header: header(ctx, ctx.store.currentRevision), ID: req.ID, TTL: -1 };
      }
    },
    LeaseLeases: (_req, call) => {
      requireLeaderIfAsked(ctx, call);
      return { header: header(ctx, ctx.store.currentRevision), leases: host.lessor.list().map((l) => ({ ID: l.id })) };
    },
  };

  return {
    handlers,
    close: (err) => {
      for (const c of [...streams]) c.finish(err);
      streams.clear();
    },
  };
}
