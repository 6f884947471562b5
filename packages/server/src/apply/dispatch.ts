// The one place that says how each kind of committed request is applied (etcd's applierV3
// dispatch): it decodes the request body and calls the module that owns the request's semantics —
// KV in apply/kv.ts, leases in lease/apply.ts, auth in auth/apply.ts, alarms in
// etcdserver/alarms.ts, membership attributes and the cluster version in etcdserver/membership.ts,
// the downgrade job in cluster-version/downgrade.ts.
// While the NOSPACE alarm is raised, requests that add data are refused here (etcd's capped applier);
// while CORRUPT is raised, every write (etcd's corrupt applier). Writes are charged against the
// backend quota (etcd's quota applier).

import { decodeMessage, etcdError, etcdserverpb, type MessageCodec } from '@conclave/api';
import type { Entry } from '../raft/types.js';
import { RequestKind, type InternalRequest } from '../etcdserver/raft-request.js';
import type { Membership } from '../etcdserver/membership.js';
import { costPut, costTxn, LEASE_OVERHEAD } from '../etcdserver/quota.js';
import type { MvccStore } from '../mvcc/index.js';
import type { Lessor } from '../lease/lessor.js';
import { applyLeaseCheckpoint, applyLeaseGrant, applyLeaseRevoke } from '../lease/apply.js';
import type { AuthStore } from '../auth/store.js';
import { applyAuthenticate, applyAuthRead, applyUserAdd, applyUserChangePassword, asRoot } from '../auth/apply.js';
import { isTxnReadOnly } from './check.js';
import { applyCompaction, applyDelete, applyPut, applyTxn, type KvApplyEnv } from './kv.js';

/** The state each kind of request changes. */
export interface ApplyTargets {
  store: MvccStore;
  kvEnv: KvApplyEnv;
  /** True while the NOSPACE alarm is raised. */
  capped(): boolean;
  /** True while the CORRUPT alarm is raised. */
  corrupt(): boolean;
  /** Does a write of this quota cost fit --quota-backend-bytes (etcdserver/quota.ts)? */
  quotaAvailable(cost: number): boolean;
  membership: Membership;
  lessor: Lessor;
  auth: AuthStore;
  alarms: { apply(r: etcdserverpb.AlarmRequest): unknown };
  /** The downgrade job (cluster-version/downgrade.ts). */
  downgrade: { apply(body: Uint8Array): unknown };
}

/** What a member publishes about itself through Raft (etcd's publish). */
export interface MemberAttributes {
  id: string;
  name: string;
  clientURLs: string[];
}

const pb = etcdserverpb;

/** The requests etcd's corrupt applier refuses. */
const CORRUPT_REFUSED: ReadonlySet<number> = new Set([
  RequestKind.Put,
  RequestKind.DeleteRange,
  RequestKind.Txn,
  RequestKind.Compaction,
  RequestKind.LeaseGrant,
  RequestKind.LeaseRevoke,
]);

/** An auth change: the request decoded with `codec`, then applied to the auth store. */
const authChange =
  <T>(codec: MessageCodec<T>, apply: (s: AuthStore, r: T) => unknown) =>
  (s: AuthStore, body: Uint8Array): unknown =>
    apply(s, decodeMessage(codec, body));

const K = RequestKind;

/** The auth changes (each needs the root role; asRoot checks it first), by request kind. */
const AUTH_CHANGES: Partial<Record<RequestKind, (s: AuthStore, body: Uint8Array) => unknown>> = {
  [K.AuthEnable]: (s) => s.authEnable(),
  [K.AuthDisable]: (s) => s.authDisable(),
  [K.AuthUserAdd]: authChange(pb.AuthUserAddRequest, applyUserAdd),
  [K.AuthUserDelete]: authChange(pb.AuthUserDeleteRequest, (s, r) => s.userDelete(r.name)),
  [K.AuthUserChangePassword]: authChange(pb.AuthUserChangePasswordRequest, applyUserChangePassword),
  [K.AuthUserGrantRole]: authChange(pb.AuthUserGrantRoleRequest, (s, r) => s.userGrantRole(r.user, r.role)),
  [K.AuthUserRevokeRole]: authChange(pb.AuthUserRevokeRoleRequest, (s, r) => s.userRevokeRole(r.name, r.role)),
  [K.AuthRoleAdd]: authChange(pb.AuthRoleAddRequest, (s, r) => s.roleAdd(r.name)),
  [K.AuthRoleDelete]: authChange(pb.AuthRoleDeleteRequest, (s, r) => s.roleDelete(r.role)),
  [K.AuthRoleGrantPermission]: authChange(pb.AuthRoleGrantPermissionRequest, (s, r) =>
    s.roleGrantPermission(r.name, r.perm),
  ),
  [K.AuthRoleRevokePermission]: authChange(pb.AuthRoleRevokePermissionRequest, (s, r) =>
    s.roleRevokePermission(r.role, r.key, r.rangeEnd),
  ),
};

/**
 * etcd's quota applier: whether a write fits the quota is decided before it is applied; it is
 * applied either way (every member applies the same log), and when it did not fit its proposer gets
 * "database space exceeded".
 */
function charged<T>(t: ApplyTargets, cost: number, apply: () => T): T {
  const fits = t.quotaAvailable(cost);
  const result = apply();
  if (!fits) throw etcdError('NoSpace');
  return result;
}

/** Applies one committed request; returns its response or throws the etcd error its proposer gets. */
export function applyRequest(t: ApplyTargets, req: InternalRequest, e: Entry): unknown {
  const body = req.body;
  if (CORRUPT_REFUSED.has(req.kind) && t.corrupt()) throw etcdError('Corrupt');
  switch (req.kind) {
    // ---- KV ----
    case RequestKind.Put: {
      if (t.capped()) throw etcdError('NoSpace');
      const p = decodeMessage(pb.PutRequest, body);
      return charged(t, costPut(p), () => t.store.write((txn) => applyPut(txn, p, t.kvEnv)));
    }
    case RequestKind.DeleteRange: {
      const d = decodeMessage(pb.DeleteRangeRequest, body);
      return t.store.write((txn) => applyDelete(txn, d));
    }
    case RequestKind.Txn: {
      const r = decodeMessage(pb.TxnRequest, body);
      const readOnly = isTxnReadOnly(r);
      const cost = costTxn(r);
      // etcd's capped applier refuses a txn with Puts directly in a branch (nested ones cost nothing)
      if (!readOnly && cost > 0 && t.capped()) throw etcdError('NoSpace');
      return charged(t, cost, () => applyTxn(t.store, r, t.kvEnv, readOnly));
    }
    case RequestKind.Compaction:
      return applyCompaction(t.store, decodeMessage(pb.CompactionRequest, body).revision);

    // ---- leases ----
    case RequestKind.LeaseGrant:
      if (t.capped()) throw etcdError('NoSpace');
      return charged(t, LEASE_OVERHEAD, () =>
        applyLeaseGrant(t.lessor, t.store, decodeMessage(pb.LeaseGrantRequest, body)),
      );
    case RequestKind.LeaseRevoke:
      return applyLeaseRevoke(t.lessor, t.store, decodeMessage(pb.LeaseRevokeRequest, body));
    case RequestKind.LeaseCheckpoint:
      return applyLeaseCheckpoint(t.lessor, t.store, decodeMessage(pb.LeaseCheckpointRequest, body));

    // ---- alarms ----
    case RequestKind.Alarm:
      return t.alarms.apply(decodeMessage(pb.AlarmRequest, body));

    // ---- auth: Authenticate issues a token, reads answer as the caller; changes: AUTH_CHANGES (default) ----
    case RequestKind.Authenticate:
      return applyAuthenticate(t.auth, body, e.index);
    case RequestKind.AuthStatus:
    case RequestKind.AuthUserGet:
    case RequestKind.AuthUserList:
    case RequestKind.AuthRoleGet:
    case RequestKind.AuthRoleList:
      return applyAuthRead(t.auth, req);

    // ---- membership ----
    case RequestKind.MemberAttributes: {
      const a = JSON.parse(Buffer.from(body).toString('utf8')) as MemberAttributes;
      t.membership.setAttributes(BigInt(`0x${a.id}`), a.name, a.clientURLs);
      return undefined;
    }
    case RequestKind.ClusterVersion:
      t.membership.setVersion(Buffer.from(body).toString('utf8'));
      return undefined;
    case RequestKind.DowngradeInfoSet:
      return t.downgrade.apply(body);
    default: {
      const change = AUTH_CHANGES[req.kind];
      if (change) return asRoot(t.auth, req, () => change(t.auth, body));
      throw new Error(`unknown raft request kind ${req.kind}`);
    }
  }
}
