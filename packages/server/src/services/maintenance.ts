// etcdserverpb.Maintenance: Status, Alarm, Defragment, Hash, HashKV, Snapshot, MoveLeader, Downgrade.
// Status and HashKV also fill the fields etcd 3.6 added (dbSizeQuota, downgradeInfo, hash_revision),
// which 3.5 clients skip; storageVersion stays empty, as from an etcd 3.5 member (docs/etcd-3.5.md).

import { encodeMessage, etcdError, etcdserverpb, GrpcCode, GrpcStatusError } from '@conclave/api';
import { crc32c } from '../checksum/crc32c.js';
import { CompactedError, FutureRevisionError } from '../mvcc/index.js';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, type ServiceContext } from './context.js';
import type { AlarmStore } from '../etcdserver/alarms.js';
import { frameChunk, openEtcdSnapshot } from '../snapshot/index.js';
import { GrpcCall } from '../grpc/grpc-call.js';
import { downgrade } from '../cluster-version/index.js';
import { DEFAULT_QUOTA_BYTES } from '../config/index.js';

/** Snapshot messages through the JSON gateway: etcd sends 32 KiB per message. */
const SNAPSHOT_CHUNK = 32 * 1024;

export function maintenanceService(
  ctx: ServiceContext,
  alarms: AlarmStore,
): ServiceHandlers<typeof etcdserverpb.MaintenanceService> {
  const m = ctx.member;
  return {
    Status: async () => {
      const errors: string[] = [];
      if (m.leader === 0n) errors.push('etcdserver: no leader');
      for (const a of alarms.list())
        errors.push(`memberID:${a.memberId} alarm:${etcdserverpb.AlarmType$names[a.alarm] ?? a.alarm} `);
      const me = ctx.cluster.membership.get(m.memberId);
      return {
        header: header(ctx, ctx.store.currentRevision),
        version: ctx.version,
        dbSize: await ctx.backend.size(),
        leader: m.leader,
        raftIndex: m.committedIndex,
        raftTerm: m.term,
        raftAppliedIndex: m.appliedIndex,
        errors,
        dbSizeInUse: ctx.backend.sizeInUse(),
        isLearner: me?.isLearner ?? false,
        // etcd 3.6 reports the flag's value, the default when it was not set (no quota: 0 here).
        dbSizeQuota: ctx.quotaBackendBytes === undefined ? DEFAULT_QUOTA_BYTES : (ctx.quotaBackendBytes ?? 0),
        downgradeInfo: ctx.downgrade.info,
      };
    },
    Alarm: async (req) => {
      const res = await alarms.handle(req);
      // etcd 3.5 fills the header at the current revision (3.4 left it out).
      return { header: header(ctx, ctx.store.currentRevision), alarms: res };
    },
    Defragment: async () => {
      await ctx.backend.defragment();
      // etcd (3.4 and 3.5) answers with an empty message: no header
      return {};
    },
    Hash: async () => {
      // A hash of everything the backend holds (etcd: of the whole bolt file), for tests.
      await ctx.reads.linearizableRead();
      const t = performance.now();
      let h = 0;
      for (const db of Object.values(ctx.backend.dbs)) {
        for (const { key, value } of db.getRange()) {
          h = crc32c(key, h);
          h = crc32c(value, h);
        }
      }
      ctx.metrics.hashSeconds((performance.now() - t) / 1000);
      return { header: header(ctx, ctx.store.currentRevision), hash: h >>> 0 };
    },
    HashKV: async (req) => {
      try {
        const r = ctx.store.hashKV(Number(req.revision));
        return {
          header: header(ctx, r.revision),
          hash: r.hash >>> 0,
          // -1 when nothing was compacted yet, as etcd answers
          compactRevision: r.compactRevision,
          hashRevision: req.revision > 0n ? req.revision : r.revision,
        };
      } catch (e) {
        if (e instanceof CompactedError) throw etcdError('Compacted');
        if (e instanceof FutureRevisionError) throw etcdError('FutureRev');
        throw e;
      }
    },
    Snapshot: (_req, call) => {
      // etcd's format (a bbolt file of etcd's buckets, then the SHA-256 of its bytes in a last
      // message, which etcdctl and etcdutl verify), from one read transaction taken together with
      // the membership and alarms, so writes may go on while it streams.
      const source = { view: ctx.backend.readView(), members: ctx.cluster.membership.list(), alarms: alarms.list() };
      const hdr = header(ctx, ctx.store.currentRevision);
      // On a gRPC stream each chunk goes out as one message framed in place (no copy); the JSON
      // gateway gets etcd's 32 KiB messages.
      const grpc = call instanceof GrpcCall ? call : null;
      const hdrBytes = encodeMessage(etcdserverpb.ResponseHeader, hdr ?? {});
      void (async () => {
        const snap = await openEtcdSnapshot(source, { framed: grpc !== null });
        try {
          let remaining = snap.size;
          // A congested client (send returned false) is waited for, so that the database is not
          // produced faster than it leaves; a cancel wakes the wait too.
          let wake: (() => void) | null = null;
          call.onCancel(() => wake?.());
          const drained = () =>
            new Promise<void>((resolve) => {
              wake = resolve;
              call.onDrain(resolve);
            }).then(() => {
              wake = null;
            });
          for await (const chunk of snap.chunks()) {
            if (call.isFinished) return;
            if (grpc) {
              remaining -= chunk.length;
              if (!grpc.sendFramed(frameChunk(chunk, hdrBytes, remaining)) && !call.isFinished) await drained();
              continue;
            }
            for (let off = 0; off < chunk.length; off += SNAPSHOT_CHUNK) {
              if (call.isFinished) return;
              const part = chunk.subarray(off, off + SNAPSHOT_CHUNK);
              remaining -= part.length;
              if (!call.send({ header: hdr, remainingBytes: remaining, blob: part }) && !call.isFinished)
                await drained();
            }
          }
          call.send({ header: hdr, remainingBytes: 0, blob: await snap.digest() });
          call.finish();
        } finally {
          snap.close();
        }
      })().catch((e: unknown) => {
        source.view.release();
        call.finish(new GrpcStatusError(GrpcCode.UNKNOWN, String((e as Error).message ?? e)));
      });
    },
    MoveLeader: async (req) => {
      if (!m.isLeader) throw etcdError('NotLeader');
      await ctx.cluster.moveLeader(req.targetID);
      return { header: header(ctx, ctx.store.currentRevision) };
    },
    Downgrade: async (req) => {
      const res = await downgrade(
        {
          downgrade: ctx.downgrade,
          clusterVersion: () => ctx.clusterVersion(),
          propose: (kind, body, opts) => ctx.proposer.propose(kind, body, opts),
          linearizableRead: () => ctx.reads.linearizableRead(),
        },
        req,
      );
      return { header: header(ctx, ctx.store.currentRevision), ...res };
    },
  };
}
