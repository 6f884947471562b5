// Auth checks around services that do not check permissions themselves, applied by wrapping their
// handlers where they are registered (so gRPC and the JSON gateway both go through them), with
// etcd 3.5.30's behaviour (its authMaintenanceServer and the checks 3.5.28-3.5.29 added in front of
// the lease, member list and compaction calls):
//   Maintenance  Defragment, Hash, HashKV, Snapshot need the root role; their errors go out unmapped,
//                as etcd returns them (UNKNOWN "auth: permission denied"). Status, MoveLeader,
//                Downgrade and Alarm ACTIVATE/DEACTIVATE need the root role, Alarm GET a user; these
//                errors are mapped ("etcdserver: user name is empty", "etcdserver: permission denied").
//   Cluster      MemberAdd/Remove/Update/Promote need the root role; MemberList a user.
//   KV           Compact needs the root role.
//   Lease        LeaseGrant, LeaseRevoke and LeaseTimeToLive need a user; LeaseRevoke also write
//                permission on every key attached to the lease, LeaseTimeToLive with keys read
//                permission on them, each keep-alive write permission on them (the stream ends with
//                the error), LeaseLeases read permission on the keys of every lease; root passes all.
// "Needs a user" applies only while auth is on: a call then fails without a token or certificate.

import { etcdError, etcdserverpb } from '@conclave/api';
import type { CallContext } from '../grpc/call.js';
import type { ServerCall, ServiceHandlers, UnaryHandler } from '../grpc/grpc-server.js';
import type { Auth } from './auth.js';
import { unmappedAuthError } from './errors.js';
import type { AuthInfo } from './token-provider.js';

type Maintenance = ServiceHandlers<typeof etcdserverpb.MaintenanceService>;
type Cluster = ServiceHandlers<typeof etcdserverpb.ClusterService>;
type Lease = ServiceHandlers<typeof etcdserverpb.LeaseService>;
type KV = ServiceHandlers<typeof etcdserverpb.KVService>;
type KeepAliveCall = ServerCall<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>;

const NONE = new Uint8Array(0);

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

/** The root role (etcd's IsAdminPermitted); passes while auth is off. */
const admin = (auth: Auth) => async (_req: unknown, call: CallContext) =>
  auth.checkAdmin(await auth.identifyAsync(call));

/** A caller must be known while auth is on (etcd's requireAuthInfo): "user name is empty" otherwise. */
async function requireUser(auth: Auth, call: CallContext): Promise<AuthInfo | null> {
  if (!auth.store.enabled) return null;
  const info = await auth.identifyAsync(call);
  if (!info || info.username === '') throw etcdError('UserEmpty');
  return info;
}

/**
 * etcd's lease permission checks: a user is required; root passes; anyone else needs `op`
 * permission on every key attached to each lease; an auth change meanwhile fails the call.
 */
function checkLeaseKeys(auth: Auth, info: AuthInfo, op: 'read' | 'write', leaseIds: Iterable<bigint>): void {
  const store = auth.store;
  const rev = store.revision;
  try {
    auth.checkAdmin(info);
    return;
  } catch {
    // not root: check the keys
  }
  for (const id of leaseIds) for (const key of auth.leaseKeys(id)) store.checkOp(info, op, key, NONE);
  if (rev !== store.revision) throw etcdError('AuthOldRevision');
}

export function guardMaintenanceService(auth: Auth, h: Maintenance): Maintenance {
  const adminUnmapped = async (_req: unknown, call: CallContext): Promise<void> => {
    try {
      auth.checkAdmin(await auth.identifyAsync(call));
    } catch (err) {
      throw unmappedAuthError(err);
    }
  };
  const snapshot = h.Snapshot;
  return {
    ...h,
    Status: before(h.Status, admin(auth)),
    MoveLeader: before(h.MoveLeader, admin(auth)),
    Downgrade: before(h.Downgrade, admin(auth)),
    Alarm: before(h.Alarm, async (req, call) => {
      if (req.action === etcdserverpb.AlarmRequest_AlarmAction.GET) await requireUser(auth, call);
      else await admin(auth)(req, call);
    }),
    Defragment: before(h.Defragment, adminUnmapped),
    Hash: before(h.Hash, adminUnmapped),
    HashKV: before(h.HashKV, adminUnmapped),
    Snapshot: (
      req: etcdserverpb.SnapshotRequest,
      call: ServerCall<etcdserverpb.SnapshotRequest, etcdserverpb.SnapshotResponse>,
    ) => {
      adminUnmapped(req, call).then(
        () => snapshot(req, call),
        (err: unknown) => call.finish(err),
      );
    },
  };
}

export function guardClusterService(auth: Auth, h: Cluster): Cluster {
  return {
    ...h,
    // etcd serves the (linearizable) read first, then checks the caller.
    MemberList: async (req, call) => {
      const res = await h.MemberList(req, call);
      await requireUser(auth, call);
      return res;
    },
    MemberAdd: before(h.MemberAdd, admin(auth)),
    MemberRemove: before(h.MemberRemove, admin(auth)),
    MemberUpdate: before(h.MemberUpdate, admin(auth)),
    MemberPromote: before(h.MemberPromote, admin(auth)),
  };
}

export function guardKVService(auth: Auth, h: KV): KV {
  return { ...h, Compact: before(h.Compact, admin(auth)) };
}

/** `leaseIds`: every lease this member knows (for LeaseLeases). */
export function guardLeaseService(auth: Auth, h: Lease, leaseIds: () => Iterable<bigint>): Lease {
  return {
    ...h,
    LeaseGrant: before(h.LeaseGrant, async (_req, call) => {
      await requireUser(auth, call);
    }),
    LeaseRevoke: before(h.LeaseRevoke, async (req, call) => {
      await requireUser(auth, call);
      auth.checkLeaseRevoke(await auth.identifyAsync(call), req.ID);
    }),
    LeaseTimeToLive: before(h.LeaseTimeToLive, async (req, call) => {
      const info = await requireUser(auth, call);
      if (info && req.keys) checkLeaseKeys(auth, info, 'read', [req.ID]);
    }),
    LeaseLeases: before(h.LeaseLeases, async (_req, call) => {
      const info = await requireUser(auth, call);
      if (info) checkLeaseKeys(auth, info, 'read', leaseIds());
    }),
    LeaseKeepAlive: (call: KeepAliveCall) => guardKeepAlive(auth, h.LeaseKeepAlive, call),
  };
}

/**
 * Each renewal of a keep-alive stream is checked (etcd's checkLeaseRenew) before the service sees
 * it; a refused one ends the stream with the error. While auth is off renewals pass straight
 * through; otherwise they are checked in order, one after another.
 */
function guardKeepAlive(auth: Auth, inner: (call: KeepAliveCall) => void, call: KeepAliveCall): void {
  inner(call);
  const onMessage = call.onMessage;
  const onHalfClose = call.onHalfClose;
  let chain: Promise<void> | null = null;
  const later = (fn: () => void | Promise<void>): void => {
    chain = (chain ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      if (!call.isFinished) call.finish(err);
    });
  };
  call.onMessage = (req) => {
    if (chain === null && !auth.store.enabled) return onMessage(req);
    later(async () => {
      const info = await requireUser(auth, call);
      if (info) checkLeaseKeys(auth, info, 'write', [req.ID]);
      if (!call.isFinished) onMessage(req);
    });
  };
  call.onHalfClose = () => {
    if (chain === null) return onHalfClose();
    later(() => onHalfClose());
  };
}
