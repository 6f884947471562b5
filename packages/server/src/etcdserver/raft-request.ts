// The payload of a Normal Raft entry: one client request (or an internal one) to apply on every
// member. | u8 kind | u64 request id | username | auth revision | protobuf body |.
// The request id lets the member that proposed it hand the apply result back to the waiting caller.

import { ByteReader, ByteWriter } from '../raft/codec.js';

export const RequestKind = {
  Put: 1,
  DeleteRange: 2,
  Txn: 3,
  Compaction: 4,
  LeaseGrant: 5,
  LeaseRevoke: 6,
  LeaseCheckpoint: 7,
  Alarm: 8,
  AuthEnable: 10,
  AuthDisable: 11,
  Authenticate: 12,
  AuthUserAdd: 13,
  AuthUserDelete: 14,
  AuthUserChangePassword: 15,
  AuthUserGrantRole: 16,
  AuthUserRevokeRole: 17,
  AuthRoleAdd: 18,
  AuthRoleDelete: 19,
  AuthRoleGrantPermission: 20,
  AuthRoleRevokePermission: 21,
  /** Auth reads, through Raft as etcd serves them (once the cluster version is 3.5). */
  AuthStatus: 22,
  AuthUserGet: 23,
  AuthUserList: 24,
  AuthRoleGet: 25,
  AuthRoleList: 26,
  /** A member publishes its name and client URLs (etcd's publish through Raft). */
  MemberAttributes: 40,
  /** Sets the cluster version. */
  ClusterVersion: 41,
  /** Starts or ends a downgrade job (etcd 3.5's DowngradeInfoSet; cluster-version/downgrade.ts). */
  DowngradeInfoSet: 42,
} as const;
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind];

export interface InternalRequest {
  kind: RequestKind;
  id: bigint;
  /** The authenticated user that sent it ('' when auth is off or for internal requests). */
  username: string;
  /** The auth store revision the user's token was checked at (stale → re-check on apply). */
  authRevision: number;
  body: Uint8Array;
}

const writer = new ByteWriter(1024);
const EMPTY_USER = new Uint8Array(0);

/**
 * Encoded requests are carved out of shared slabs: an entry stays in the in-memory Raft log until a
 * snapshot compacts it (up to --snapshot-count entries), and an ArrayBuffer of its own per entry
 * cost about 500 bytes of overhead on top of a 300-byte put (docs/benchmarks.md, "Where the memory
 * goes"). The log drops entries in order, so a slab is freed once the log has moved past it.
 */
const SLAB = 64 * 1024;
/** Requests larger than this get a buffer of their own (a slab holds at least eight). */
const SLAB_MAX = SLAB / 8;
let slab = new Uint8Array(SLAB);
let slabPos = 0;

function copyOut(src: Uint8Array, n: number): Uint8Array {
  if (n > SLAB_MAX) return src.slice(0, n);
  if (slabPos + n > SLAB) {
    slab = new Uint8Array(SLAB);
    slabPos = 0;
  }
  const out = slab.subarray(slabPos, slabPos + n);
  out.set(src.subarray(0, n));
  slabPos = (slabPos + n + 7) & ~7;
  return out;
}

export function encodeRequest(r: InternalRequest): Uint8Array {
  const w = writer;
  w.pos = 0;
  w.u8(r.kind);
  w.u64(r.id);
  w.bytes(r.username === '' ? EMPTY_USER : Buffer.from(r.username, 'utf8'));
  w.uvarint(r.authRevision);
  w.bytes(r.body);
  return copyOut(w.buf, w.pos);
}

export function decodeRequest(data: Uint8Array): InternalRequest {
  const rd = new ByteReader(data);
  const kind = rd.u8() as RequestKind;
  const id = rd.u64();
  const user = rd.bytes();
  const authRevision = rd.uvarint();
  const body = rd.bytes();
  return {
    kind,
    id,
    username: user.length === 0 ? '' : Buffer.from(user.buffer, user.byteOffset, user.length).toString('utf8'),
    authRevision,
    body,
  };
}

/** etcd's InternalRaftRequest field number for each request kind (its size decides "request is too large"). */
const ETCD_FIELD: Record<number, number> = {
  [RequestKind.Put]: 4,
  [RequestKind.DeleteRange]: 5,
  [RequestKind.Txn]: 6,
  [RequestKind.Compaction]: 7,
  [RequestKind.LeaseGrant]: 8,
  [RequestKind.LeaseRevoke]: 9,
  [RequestKind.Alarm]: 10,
  [RequestKind.LeaseCheckpoint]: 11,
  [RequestKind.AuthEnable]: 1000,
  [RequestKind.AuthDisable]: 1011,
  [RequestKind.Authenticate]: 1012,
  [RequestKind.AuthUserAdd]: 1100,
  [RequestKind.AuthUserDelete]: 1101,
  [RequestKind.AuthUserChangePassword]: 1103,
  [RequestKind.AuthUserGrantRole]: 1104,
  [RequestKind.AuthUserRevokeRole]: 1105,
  [RequestKind.AuthRoleAdd]: 1200,
  [RequestKind.AuthRoleDelete]: 1201,
  [RequestKind.AuthRoleGrantPermission]: 1203,
  [RequestKind.AuthRoleRevokePermission]: 1204,
};

function varintLen(v: number | bigint): number {
  let n = BigInt(v);
  let len = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    len++;
  }
  return len;
}

/**
 * The size etcd's marshalled InternalRaftRequest would have for this request: etcd compares that
 * with --max-request-bytes, so using it gives the same boundary for "request is too large".
 */
export function etcdRequestSize(r: InternalRequest): number {
  const user = Buffer.byteLength(r.username, 'utf8');
  const header =
    (r.id !== 0n ? 1 + varintLen(r.id) : 0) +
    (user > 0 ? 1 + varintLen(user) + user : 0) +
    (r.authRevision > 0 ? 1 + varintLen(r.authRevision) : 0);
  const field = ETCD_FIELD[r.kind] ?? 15;
  return 2 + varintLen(header) + header + varintLen(field << 3) + varintLen(r.body.length) + r.body.length;
}
