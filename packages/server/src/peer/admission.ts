// Who may send Raft streams, snapshots and forwarded requests to this member: the cluster and member
// headers of a peer request, checked in the order and answered with the texts of etcd's stream handler
// (rafthttp): another cluster 412 "cluster ID mismatch", a removed sender 410 "removed member", a
// sender this member does not know 404 "error sender not found", another addressee 412 "to field
// mismatch". docs/hardening.md (the peer port) says which request gets which check.

import type http from 'node:http';
import type http2 from 'node:http2';
import type { Logger } from '../log/index.js';
import { formatId } from '../log/index.js';
import { PEER_HEADERS } from './frame.js';

/** What a member knows of the cluster, for the checks. */
export interface Admission {
  readonly memberId: bigint;
  clusterId(): bigint;
  isRemoved(id: bigint): boolean;
  /** A member this one has a peer for (etcd's peer getter). */
  knows(id: bigint): boolean;
}

/** The status and text a refused request is answered with. */
export interface Refusal {
  status: number;
  body: string;
}

/** A member ID in hex (etcd's form), or null when absent or not one. */
export function hexHeader(v: string | string[] | undefined): bigint | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s || !/^[0-9a-f]{1,16}$/i.test(s)) return null;
  return BigInt(`0x${s}`);
}

/**
 * The sending member's ID, or the refusal. `anySender` skips the unknown-sender check (snapshots, as
 * etcd: a member that fell behind learns the members added since from the snapshot a new leader sends).
 */
export function checkSender(
  headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders,
  h: Admission,
  logger: Logger,
  anySender = false,
): bigint | Refusal {
  const cid = hexHeader(headers[PEER_HEADERS.clusterId]);
  const from = hexHeader(headers[PEER_HEADERS.from]);
  const to = hexHeader(headers[PEER_HEADERS.to]);
  if (cid === null || from === null || to === null) return { status: 400, body: 'missing member headers\n' };
  if (cid !== h.clusterId()) {
    logger.warn('rejected stream from a member of another cluster', {
      'remote-cluster-id': formatId(cid),
      'local-cluster-id': formatId(h.clusterId()),
    });
    return { status: 412, body: 'cluster ID mismatch\n' };
  }
  if (h.isRemoved(from)) {
    logger.warn('rejected stream from a removed member', { 'remote-peer-id': formatId(from) });
    return { status: 410, body: 'removed member\n' };
  }
  if (!anySender && !h.knows(from)) {
    logger.warn('failed to find remote peer in cluster', {
      'local-member-id': formatId(h.memberId),
      'remote-peer-id-from': formatId(from),
      'cluster-id': formatId(h.clusterId()),
    });
    return { status: 404, body: 'error sender not found\n' };
  }
  if (to !== h.memberId) {
    logger.warn('ignored streaming request; ID mismatch', {
      'local-member-id': formatId(h.memberId),
      'remote-peer-id-header': formatId(to),
      'remote-peer-id-from': formatId(from),
    });
    return { status: 412, body: 'to field mismatch\n' };
  }
  return from;
}
