// The lease requests applied from committed Raft entries on every member (etcd's applierV3
// LeaseGrant / LeaseRevoke / LeaseCheckpoint; apply/dispatch.ts routes them here). The results
// carry only the header revision; the service fills the rest of the header.

import { encodeMessage, etcdserverpb, type PartialMessage } from '@conclave/api';
import type { MvccStore } from '../mvcc/index.js';
import type { Checkpoint, Lessor } from './lessor.js';

type Revision = Pick<MvccStore, 'currentRevision'>;

export function applyLeaseGrant(
  lessor: Lessor,
  store: Revision,
  r: etcdserverpb.LeaseGrantRequest,
): PartialMessage<etcdserverpb.LeaseGrantResponse> {
  const l = lessor.grant(r.ID, Number(r.TTL));
  return { header: { revision: store.currentRevision }, ID: l.id, TTL: l.ttl };
}

export function applyLeaseRevoke(
  lessor: Lessor,
  store: Revision,
  r: etcdserverpb.LeaseRevokeRequest,
): PartialMessage<etcdserverpb.LeaseRevokeResponse> {
  lessor.revoke(r.ID);
  return { header: { revision: store.currentRevision } };
}

export function applyLeaseCheckpoint(
  lessor: Lessor,
  store: Revision,
  r: etcdserverpb.LeaseCheckpointRequest,
): PartialMessage<etcdserverpb.LeaseCheckpointResponse> {
  for (const c of r.checkpoints) lessor.checkpoint(c.ID, Number(c.remainingTTL));
  return { header: { revision: store.currentRevision } };
}

/** The Raft body of a LeaseCheckpoint request. */
export function encodeCheckpoints(cps: readonly Checkpoint[]): Uint8Array {
  return encodeMessage(etcdserverpb.LeaseCheckpointRequest, {
    checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl })),
  });
}
