// v3lockpb.Lock: etcd's server-side lock service — the Mutex recipe (key `<name>/<lease id hex>`,
// queue by create revision, wait only for the keys created before ours), run by the member itself.

import { etcdError, GrpcCode, GrpcStatusError, type v3lockpb } from '@conclave/api';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { header, type ServiceContext } from './context.js';
import { asPlainErrors, LocalKv, prefixEnd } from './local-kv.js';

/** etcd's concurrency.ErrSessionExpired: the lease ended while waiting (plain error → UNKNOWN). */
export const SESSION_EXPIRED = 'session: session is expired';

export function waiterKey(name: Uint8Array, lease: bigint): Buffer {
  return Buffer.concat([Buffer.from(name), Buffer.from(`/${lease.toString(16)}`)]);
}

export function lockService(ctx: ServiceContext): ServiceHandlers<typeof v3lockpb.LockService> {
  const base = new LocalKv(ctx);
  return asPlainErrors({
    Lock: async (req, call) => {
      const kv = base.as(call);
      const pfx = Buffer.concat([Buffer.from(req.name), Buffer.from('/')]);
      const myKey = waiterKey(req.name, req.lease);
      const first = {
        requestRange: { key: pfx, rangeEnd: prefixEnd(pfx), sortTarget: 2, sortOrder: 1, limit: 1 },
      } as const;
      const t = await kv.txn(
        {
          compare: [{ key: myKey, target: 1, result: 0, createRevision: 0 }],
          success: [{ requestPut: { key: myKey, value: Buffer.alloc(0), lease: req.lease } }, first],
          failure: [{ requestRange: { key: myKey } }, first],
        },
        call.signal,
      );
      const myRev = t.succeeded
        ? Number(t.header.revision)
        : Number(t.responses?.[0]?.responseRange?.kvs?.[0]?.createRevision ?? 0);
      const owner = t.responses?.[1]?.responseRange?.kvs?.[0];
      let rev = Number(t.header.revision);
      if (owner && Number(owner.createRevision) !== myRev) {
        try {
          await kv.waitDeletes(pfx, myRev - 1, call.signal);
        } catch (err) {
          // Given up (cancelled): leave the queue, as etcd's Mutex does.
          await kv.delete(myKey).catch(() => {});
          throw err;
        }
        // The session may have expired while waiting: our key is gone then.
        const mine = await kv.range({ key: myKey });
        if (mine.kvs.length === 0) throw new GrpcStatusError(GrpcCode.UNKNOWN, SESSION_EXPIRED);
        rev = mine.revision;
      }
      return { header: header(ctx, rev), key: myKey };
    },
    Unlock: async (req, call) => {
      const kv = base.as(call);
      if (req.key.length === 0) throw etcdError('EmptyKey');
      const rev = await kv.delete(Buffer.from(req.key));
      return { header: header(ctx, rev) };
    },
  });
}
