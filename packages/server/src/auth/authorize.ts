// Permission checks of KV and lease requests (etcd's authApplierV3 and the checks of its v3 server):
// ranges and txn compares need read permission; puts and deletes need write permission; prev_kv
// needs read permission as well; a put with a lease, and a lease revocation, need write permission
// on every key attached to that lease (whoever can attach a key to a lease can revoke it).
//
// Beyond etcd 3.4 (closing holes later etcd releases closed too): nested txns are checked like the
// outer one, and a put inside a txn gets the same lease and prev_kv checks as a plain put.

import type { etcdserverpb } from '@conclave/api';
import type { AuthStore } from './store.js';
import type { AuthInfo } from './token-provider.js';

const NONE = new Uint8Array(0);

/** The keys attached to a lease (empty for an unknown lease). */
export type LeaseKeys = (leaseId: bigint) => Iterable<Uint8Array>;

export function checkRange(
  store: AuthStore,
  info: AuthInfo | null,
  r: { key: Uint8Array; rangeEnd: Uint8Array },
): void {
  store.checkOp(info, 'read', r.key, r.rangeEnd);
}

/** Write permission on every key attached to `leaseId` (etcd's checkLeasePuts). */
export function checkLeaseKeys(store: AuthStore, leaseKeys: LeaseKeys, info: AuthInfo | null, leaseId: bigint): void {
  if (!store.enabled || leaseId === 0n) return;
  for (const key of leaseKeys(leaseId)) store.checkOp(info, 'write', key, NONE);
}

export function checkPut(
  store: AuthStore,
  leaseKeys: LeaseKeys,
  info: AuthInfo | null,
  p: etcdserverpb.PutRequest,
): void {
  store.checkOp(info, 'write', p.key, NONE);
  checkLeaseKeys(store, leaseKeys, info, p.lease);
  if (p.prevKv) store.checkOp(info, 'read', p.key, NONE);
}

export function checkDelete(store: AuthStore, info: AuthInfo | null, d: etcdserverpb.DeleteRangeRequest): void {
  store.checkOp(info, 'write', d.key, d.rangeEnd);
  if (d.prevKv) store.checkOp(info, 'read', d.key, d.rangeEnd);
}

function checkOps(
  store: AuthStore,
  leaseKeys: LeaseKeys,
  info: AuthInfo | null,
  ops: readonly etcdserverpb.RequestOp[],
): void {
  for (const op of ops) {
    if (op.requestRange) checkRange(store, info, op.requestRange);
    else if (op.requestPut) checkPut(store, leaseKeys, info, op.requestPut);
    else if (op.requestDeleteRange) checkDelete(store, info, op.requestDeleteRange);
    else if (op.requestTxn) checkTxn(store, leaseKeys, info, op.requestTxn);
  }
}

/** Every compare and every op of both branches (etcd checks the branch not taken as well). */
export function checkTxn(
  store: AuthStore,
  leaseKeys: LeaseKeys,
  info: AuthInfo | null,
  t: etcdserverpb.TxnRequest,
): void {
  if (!store.enabled) return;
  for (const c of t.compare) store.checkOp(info, 'read', c.key, c.rangeEnd);
  checkOps(store, leaseKeys, info, t.success);
  checkOps(store, leaseKeys, info, t.failure);
}
