// The lease requests applied from committed Raft entries on every member (etcd's applierV3
// LeaseGrant / LeaseRevoke / LeaseCheckpoint). The results carry only the header revision; the
// service fills the rest of the header.

import { decodeMessage, encodeMessage, etcdError, etcdserverpb, type PartialMessage } from '@conclave/api';
import { RequestKind, type InternalRequest } from '../etcdserver/raft-request.js';
import type { MvccStore } from '../mvcc/index.js';
import type { Checkpoint, Lessor } from './lessor.js';

export interface LeaseApplierDeps {
  lessor: Lessor;
  store: MvccStore;
  /** True while NOSPACE is raised: LeaseGrant fails with "database space exceeded" (etcd's capped applier). */
  capped(): boolean;
  register(kind: RequestKind, fn: (req: InternalRequest) => unknown): void;
}

export function registerLeaseAppliers(d: LeaseApplierDeps): void {
  d.register(RequestKind.LeaseGrant, (req): PartialMessage<etcdserverpb.LeaseGrantResponse> => {
    if (d.capped()) throw etcdError('NoSpace');
    const r = decodeMessage(etcdserverpb.LeaseGrantRequest, req.body);
    const l = d.lessor.grant(r.ID, Number(r.TTL));
    return { header: { revision: d.store.currentRevision }, ID: l.id, TTL: l.ttl };
  });
  d.register(RequestKind.LeaseRevoke, (req): PartialMessage<etcdserverpb.LeaseRevokeResponse> => {
    const r = decodeMessage(etcdserverpb.LeaseRevokeRequest, req.body);
    d.lessor.revoke(r.ID);
    return { header: { revision: d.store.currentRevision } };
  });
  d.register(RequestKind.LeaseCheckpoint, (req): PartialMessage<etcdserverpb.LeaseCheckpointResponse> => {
    const r = decodeMessage(etcdserverpb.LeaseCheckpointRequest, req.body);
    for (const c of r.checkpoints) d.lessor.checkpoint(c.ID, Number(c.remainingTTL));
    return { header: { revision: d.store.currentRevision } };
  });
}

/** The Raft body of a LeaseCheckpoint request. */
export function encodeCheckpoints(cps: readonly Checkpoint[]): Uint8Array {
  return encodeMessage(etcdserverpb.LeaseCheckpointRequest, {
    checkpoints: cps.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl })),
  });
}
