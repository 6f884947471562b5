// v3electionpb.Election: etcd's server-side election service — the Election recipe (candidates are
// keys `<name>/<lease id hex>`; the one created first leads), run by the member itself.

import { etcdError, type v3electionpb, type PartialMessage, type mvccpb } from '@conclave/api';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, type ServiceContext } from './context.js';
import { asPlainErrors, LocalKv } from './local-kv.js';
import { waiterKey } from './lock.js';

type LeaderKey = v3electionpb.LeaderKey;

export function electionService(ctx: ServiceContext): ServiceHandlers<typeof v3electionpb.ElectionService> {
  const base = new LocalKv(ctx);
  const prefixOf = (name: Uint8Array) => Buffer.concat([Buffer.from(name), Buffer.from('/')]);

  /** Sets the leader's value if it still leads (etcd's Proclaim); false when it does not. */
  const proclaim = async (kv: LocalKv, l: LeaderKey, value: Uint8Array, signal?: AbortSignal) => {
    const t = await kv.txn(
      {
        compare: [{ key: l.key, target: 1, result: 0, createRevision: l.rev }],
        success: [{ requestPut: { key: l.key, value, lease: l.lease } }],
      },
      signal,
    );
    return t;
  };
  const resign = (kv: LocalKv, l: LeaderKey) =>
    kv.txn({
      compare: [{ key: l.key, target: 1, result: 0, createRevision: l.rev }],
      success: [{ requestDeleteRange: { key: l.key } }],
    });

  return asPlainErrors({
    Campaign: async (req, call) => {
      const kv = base.as(call);
      const pfx = prefixOf(req.name);
      const key = waiterKey(req.name, req.lease);
      const t = await kv.txn(
        {
          compare: [{ key, target: 1, result: 0, createRevision: 0 }],
          success: [{ requestPut: { key, value: req.value, lease: req.lease } }],
          failure: [{ requestRange: { key } }],
        },
        call.signal,
      );
      let rev = Number(t.header.revision);
      const leader: LeaderKey = { name: req.name, key, rev: BigInt(rev), lease: req.lease };
      if (!t.succeeded) {
        const kvs = t.responses?.[0]?.responseRange?.kvs?.[0];
        leader.rev = BigInt(kvs?.createRevision ?? 0);
        if (Buffer.compare(Buffer.from(kvs?.value ?? new Uint8Array(0)), Buffer.from(req.value)) !== 0) {
          const p = await proclaim(kv, leader, req.value, call.signal);
          if (!p.succeeded) {
            await resign(kv, leader).catch(() => {});
            throw etcdError('ElectionNotLeader');
          }
        }
      }
      try {
        await kv.waitDeletes(pfx, Number(leader.rev) - 1, call.signal);
      } catch (err) {
        if (call.signal.aborted) await resign(kv, leader).catch(() => {});
        throw err;
      }
      rev = Number(t.header.revision);
      return { header: header(ctx, rev), leader };
    },
    Proclaim: async (req, call) => {
      const kv = base.as(call);
      if (!req.leader) throw etcdError('ElectionMissingLeaderKey');
      const t = await proclaim(kv, req.leader, req.value, call.signal);
      if (!t.succeeded) throw etcdError('ElectionNotLeader');
      return { header: header(ctx, Number(t.header.revision)) };
    },
    Leader: async (req, call) => {
      const kv = base.as(call);
      const { kv: first, revision } = await kv.firstCreated(prefixOf(req.name));
      if (!first) throw etcdError('ElectionNoLeader');
      return { header: header(ctx, revision), kv: first };
    },
    Observe: (req, call) => {
      const kv = base.as(call);
      const pfx = prefixOf(req.name);
      let last: { key: string; mod: string } | null = null;
      let running = false;
      let again = false;
      const check = async (): Promise<void> => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            const { kv: first, revision } = await kv.firstCreated(pfx);
            if (call.isFinished) return;
            if (!first) continue; // etcd's Observe reports leaders only; it waits while there is none
            const now = { key: Buffer.from(first.key ?? []).toString('hex'), mod: String(first.modRevision) };
            if (last && last.key === now.key && last.mod === now.mod) continue;
            last = now;
            call.send({ header: header(ctx, revision), kv: first as PartialMessage<mvccpb.KeyValue> });
          } while (again && !call.isFinished);
        } catch (err) {
          call.finish(err);
        } finally {
          running = false;
        }
      };
      const stop = kv.follow(pfx, () => void check());
      call.onDone = stop;
      void check();
    },
    Resign: async (req, call) => {
      const kv = base.as(call);
      if (!req.leader) throw etcdError('ElectionMissingLeaderKey');
      const t = await resign(kv, req.leader);
      return { header: header(ctx, Number(t.header.revision)) };
    },
  });
}
