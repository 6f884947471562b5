// Auth checks around services that do not check permissions themselves, applied by wrapping their
// handlers where they are registered (so gRPC and the JSON gateway both go through them), with
// etcd 3.4's behaviour:
//   Maintenance  Defragment, Hash, HashKV, Snapshot need the root role; Alarm only a valid token
//                (if any); Status and MoveLeader nothing. Errors go out unmapped, as etcd's
//                authMaintenanceServer returns them: UNKNOWN "auth: permission denied".
//   Cluster      MemberAdd/Remove/Update/Promote need the root role ("etcdserver: permission denied").
//   Lease        LeaseGrant and LeaseRevoke need a valid token (if any); LeaseRevoke also write
//                permission on every key attached to the lease. KeepAlive, TimeToLive and Leases
//                are not checked in etcd 3.4.

import type { etcdserverpb } from '@conclave/api';
import type { CallContext } from '../grpc/call.js';
import type { ServerCall, ServiceHandlers, UnaryHandler } from '../grpc/grpc-server.js';
import type { Auth } from './auth.js';
import { unmappedAuthError } from './errors.js';

type Maintenance = ServiceHandlers<typeof etcdserverpb.MaintenanceService>;
type Cluster = ServiceHandlers<typeof etcdserverpb.ClusterService>;
type Lease = ServiceHandlers<typeof etcdserverpb.LeaseService>;

/** A unary handler that runs `check` first. */
function before<Req, Res>(
  h: UnaryHandler<Req, Res>,
  check: (req: Req, call: CallContext) => void | Promise<void>,
): UnaryHandler<Req, Res> {
  return async (req, call) => {
    await check(req, call);
    return h(req, call);
  };
}

export function guardMaintenanceService(auth: Auth, h: Maintenance): Maintenance {
  const admin = async (_req: unknown, call: CallContext): Promise<void> => {
    try {
      auth.checkAdmin(await auth.identifyAsync(call));
    } catch (err) {
      throw unmappedAuthError(err);
    }
  };
  const tokenOnly = async (_req: unknown, call: CallContext): Promise<void> => {
    try {
      await auth.identifyAsync(call);
    } catch (err) {
      throw unmappedAuthError(err);
    }
  };
  const snapshot = h.Snapshot;
  return {
    ...h,
    Alarm: before(h.Alarm, tokenOnly),
    Defragment: before(h.Defragment, admin),
    Hash: before(h.Hash, admin),
    HashKV: before(h.HashKV, admin),
    Snapshot: (
      req: etcdserverpb.SnapshotRequest,
      call: ServerCall<etcdserverpb.SnapshotRequest, etcdserverpb.SnapshotResponse>,
    ) => {
      admin(req, call).then(
        () => snapshot(req, call),
        (err: unknown) => call.finish(err),
      );
    },
  };
}

export function guardClusterService(auth: Auth, h: Cluster): Cluster {
  const admin = async (_req: unknown, call: CallContext): Promise<void> =>
    auth.checkAdmin(await auth.identifyAsync(call));
  return {
    ...h,
    MemberAdd: before(h.MemberAdd, admin),
    MemberRemove: before(h.MemberRemove, admin),
    MemberUpdate: before(h.MemberUpdate, admin),
    MemberPromote: before(h.MemberPromote, admin),
  };
}

export function guardLeaseService(auth: Auth, h: Lease): Lease {
  return {
    ...h,
    LeaseGrant: before(h.LeaseGrant, async (_req, call) => {
      await auth.identifyAsync(call);
    }),
    LeaseRevoke: before(h.LeaseRevoke, async (req, call) =>
      auth.checkLeaseRevoke(await auth.identifyAsync(call), req.ID),
    ),
  };
}
