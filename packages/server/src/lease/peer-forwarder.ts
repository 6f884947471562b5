// LeaseForwarder over the member's leader-forwarding routes (ForwardRoutes, carried by the peer
// transport): keep-alives and TimeToLive travel to the leader as protobuf LeaseKeepAliveRequest /
// LeaseTimeToLiveRequest bodies, as etcd's leasehttp does.

import { decodeMessage, encodeMessage, etcdError, etcdserverpb, GrpcCode, GrpcStatusError } from '@conclave/api';
import type { ForwardRoutes } from '../etcdserver/ports.js';
import { LEASE_RENEW_ROUTE, LEASE_TTL_ROUTE, type LeaseForwarder, type LeaseTimeToLive } from './forward.js';
import { LeaseNotFoundError, NotPrimaryError } from './lessor.js';

const NOT_FOUND = 'etcdserver: requested lease not found';

interface LeaderSide {
  renewAsLeader(id: bigint): Promise<number>;
  timeToLiveAsLeader(id: bigint, keys: boolean): Promise<LeaseTimeToLive>;
}

function toWire(e: unknown): unknown {
  if (e instanceof LeaseNotFoundError) return etcdError('LeaseNotFound');
  if (e instanceof NotPrimaryError) return new GrpcStatusError(GrpcCode.UNAVAILABLE, e.message);
  return e;
}

function fromWire(e: unknown): unknown {
  return e instanceof GrpcStatusError && e.message === NOT_FOUND ? new LeaseNotFoundError() : e;
}

/** Serves forwarded lease requests when this member leads; returns the forwarder for the others. */
export function peerLeaseForwarder(routes: ForwardRoutes, host: LeaderSide, timeoutMs: number): LeaseForwarder {
  routes.handle(LEASE_RENEW_ROUTE, async (body) => {
    const r = decodeMessage(etcdserverpb.LeaseKeepAliveRequest, body);
    try {
      return encodeMessage(etcdserverpb.LeaseKeepAliveResponse, { ID: r.ID, TTL: await host.renewAsLeader(r.ID) });
    } catch (e) {
      throw toWire(e);
    }
  });
  routes.handle(LEASE_TTL_ROUTE, async (body) => {
    const r = decodeMessage(etcdserverpb.LeaseTimeToLiveRequest, body);
    try {
      const t = await host.timeToLiveAsLeader(r.ID, r.keys);
      return encodeMessage(etcdserverpb.LeaseTimeToLiveResponse, {
        ID: t.id,
        TTL: t.ttl,
        grantedTTL: t.grantedTtl,
        keys: t.keys,
      });
    } catch (e) {
      throw toWire(e);
    }
  });
  const forwardRenew = async (id: bigint): Promise<number> => {
    try {
      const out = await routes.forwardToLeader(
        LEASE_RENEW_ROUTE,
        encodeMessage(etcdserverpb.LeaseKeepAliveRequest, { ID: id }),
        timeoutMs,
      );
      return Number(decodeMessage(etcdserverpb.LeaseKeepAliveResponse, out).TTL);
    } catch (e) {
      throw fromWire(e);
    }
  };
  /**
   * Renewals of one lease that arrive in the same event-loop turn share one forward: it is sent at
   * the end of the turn, so the leader renews after every one of them arrived (none is answered
   * with a renewal older than itself), and many clients keeping one lease alive cost the leader one
   * renewal per turn instead of one each.
   */
  const batch = new Map<bigint, Promise<number>>();
  return {
    renew(_leader, id) {
      const joined = batch.get(id);
      if (joined) return joined;
      const p = new Promise<number>((resolve, reject) => {
        setImmediate(() => {
          batch.delete(id);
          forwardRenew(id).then(resolve, reject);
        });
      });
      batch.set(id, p);
      return p;
    },
    async timeToLive(_leader, id, keys) {
      try {
        const out = await routes.forwardToLeader(
          LEASE_TTL_ROUTE,
          encodeMessage(etcdserverpb.LeaseTimeToLiveRequest, { ID: id, keys }),
          timeoutMs,
        );
        const r = decodeMessage(etcdserverpb.LeaseTimeToLiveResponse, out);
        return {
          id: r.ID,
          ttl: Number(r.TTL),
          grantedTtl: Number(r.grantedTTL),
          keys: r.keys.map((k) => Buffer.from(k)),
        };
      } catch (e) {
        throw fromWire(e);
      }
    },
  };
}
