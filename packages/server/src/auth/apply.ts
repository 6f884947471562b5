// Auth at apply time, on every member (apply/dispatch.ts calls these): user, role and permission
// changes need the root role, Authenticate issues the token at the entry's index, and KV and lease
// requests are checked against their sender's permissions before they are applied (etcd's
// authApplierV3, which also refuses requests whose token was checked at an older auth revision).

import { decodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import { RequestKind, type InternalRequest } from '../etcdserver/raft-request.js';
import { checkDelete, checkLeaseKeys, checkPut, checkTxn, type LeaseKeys } from './authorize.js';
import { type AuthStore, decodeInternalAuthenticate } from './store.js';
import type { AuthInfo } from './token-provider.js';

/** A change to users, roles or permissions: only by a user with the root role. */
export function asRoot(
  store: AuthStore,
  req: InternalRequest,
  change: () => void,
): PartialMessage<{ header?: unknown }> {
  store.checkAdmin({ username: req.username, revision: req.authRevision });
  change();
  return {};
}

export function applyUserAdd(store: AuthStore, r: etcdserverpb.AuthUserAddRequest): void {
  const noPassword = r.options?.noPassword ?? false;
  store.userAdd(r.name, noPassword ? new Uint8Array(0) : Buffer.from(r.hashedPassword, 'base64'), r.options);
}

export function applyUserChangePassword(store: AuthStore, r: etcdserverpb.AuthUserChangePasswordRequest): void {
  store.userChangePassword(r.name, Buffer.from(r.hashedPassword, 'base64'));
}

/**
 * Auth reads, through Raft as etcd serves them (AuthStatus, user and role get and list): the
 * caller is checked when applied, as etcd's authApplierV3 does: the root role, except that anyone
 * may read their own user and the roles they have.
 */
export function applyAuthRead(store: AuthStore, req: InternalRequest): unknown {
  const info: AuthInfo = { username: req.username, revision: req.authRevision };
  const pb = etcdserverpb;
  switch (req.kind) {
    case RequestKind.AuthStatus:
      store.checkAdmin(info);
      return { enabled: store.enabled, authRevision: BigInt(store.revision) };
    case RequestKind.AuthUserList:
      store.checkAdmin(info);
      return { users: store.userNames() };
    case RequestKind.AuthRoleList:
      store.checkAdmin(info);
      return { roles: store.roleNames() };
    case RequestKind.AuthUserGet: {
      const name = decodeMessage(pb.AuthUserGetRequest, req.body).name;
      try {
        store.checkAdmin(info);
      } catch (err) {
        if (name !== info.username) throw err;
      }
      return { roles: store.userGet(name) };
    }
    case RequestKind.AuthRoleGet: {
      const role = decodeMessage(pb.AuthRoleGetRequest, req.body).role;
      try {
        store.checkAdmin(info);
      } catch (err) {
        if (!store.hasRole(info.username, role)) throw err;
      }
      return { perm: store.roleGet(role) };
    }
    default:
      throw new Error(`not an auth read: ${req.kind}`);
  }
}

/** Issues the token of an Authenticate entry (simple tokens carry the entry's index). */
export function applyAuthenticate(store: AuthStore, body: Uint8Array, index: number): { token: string } {
  const r = decodeInternalAuthenticate(body);
  return { token: store.authenticate(r.name, r.simpleToken, index) };
}

/**
 * Runs before every committed request is applied: refuses KV and lease requests the sender may not
 * make (throws etcd's permission errors). Other requests pass (auth changes check the root role
 * when applied).
 */
export function authorizeRequest(store: AuthStore, leaseKeys: LeaseKeys, req: InternalRequest): void {
  if (!store.enabled) return;
  const info: AuthInfo = { username: req.username, revision: req.authRevision };
  switch (req.kind) {
    case RequestKind.Put:
      checkPut(store, leaseKeys, info, decodeMessage(etcdserverpb.PutRequest, req.body));
      return;
    case RequestKind.DeleteRange:
      checkDelete(store, info, decodeMessage(etcdserverpb.DeleteRangeRequest, req.body));
      return;
    case RequestKind.Txn:
      checkTxn(store, leaseKeys, info, decodeMessage(etcdserverpb.TxnRequest, req.body));
      return;
    case RequestKind.LeaseRevoke:
      // The member's own revocations (lease expiry) carry no user and revision 0; etcd runs them as root.
      if (req.username === '' && req.authRevision === 0) return;
      checkLeaseKeys(store, leaseKeys, info, decodeMessage(etcdserverpb.LeaseRevokeRequest, req.body).ID);
      return;
    default:
      return;
  }
}
