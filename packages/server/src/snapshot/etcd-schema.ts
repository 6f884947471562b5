// etcd's backend schema (3.4 and 3.5): the bbolt buckets of an etcd data file / snapshot and how
// each value is encoded, as etcd writes them. Observed on real etcd 3.4 and 3.5 snapshots:
//
//   key              revision (8-byte BE main | '_' | 8-byte BE sub [| 't' tombstone]) → mvccpb.KeyValue
//                    (a tombstone's value carries only the key)
//   meta             "consistent_index" → 8-byte BE; "term" (3.5) → 8-byte BE;
//                    "scheduledCompactRev" / "finishedCompactRev" → 17-byte revision (sub 0);
//                    "confState" (3.5) → JSON {"voters":[...],"learners":[...],"auto_leave":false}
//   lease            8-byte BE lease ID → leasepb.Lease {ID=1, TTL=2, RemainingTTL=3}
//   auth             "authEnabled" → 0x00 | 0x01; "authRevision" → 8-byte BE
//   authUsers        user name → authpb.User        authRoles   role name → authpb.Role
//   members          member ID in hex (no leading zeros) → JSON
//                    {"id":<decimal>,"peerURLs":[...],"isLearner":true?,"name":"..."?,"clientURLs":[...]?}
//   members_removed  member ID in hex → "removed"
//   cluster          "clusterVersion" → "3.4.0"
//   alarm            etcdserverpb.AlarmMember {memberID=1, alarm=2} bytes → empty value
//
// Conclave's own backend (storage/backend/schema.ts) uses the same key, lease, meta and auth
// encodings on purpose; users and roles are keyed by a hash of the name there, members by an
// 8-byte ID with Conclave's JSON, alarms by ID + type.

export const BUCKET = {
  key: 'key',
  meta: 'meta',
  lease: 'lease',
  auth: 'auth',
  authUsers: 'authUsers',
  authRoles: 'authRoles',
  members: 'members',
  membersRemoved: 'members_removed',
  cluster: 'cluster',
  alarm: 'alarm',
} as const;

export const META_KEY = {
  consistentIndex: 'consistent_index',
  term: 'term',
  scheduledCompactRev: 'scheduledCompactRev',
  finishedCompactRev: 'finishedCompactRev',
  confState: 'confState',
} as const;

export const AUTH_KEY = { enabled: 'authEnabled', revision: 'authRevision' } as const;
export const CLUSTER_VERSION_KEY = 'clusterVersion';
export const MEMBER_REMOVED_VALUE = 'removed';

/** etcd's member record (membership.Member) as JSON, with the uint64 ID as a bare decimal number. */
export function encodeMemberJson(m: {
  id: bigint;
  name: string;
  peerUrls: readonly string[];
  clientUrls: readonly string[];
  isLearner: boolean;
}): Buffer {
  let s = `{"id":${BigInt.asUintN(64, m.id).toString(10)},"peerURLs":${JSON.stringify(m.peerUrls)}`;
  if (m.isLearner) s += ',"isLearner":true';
  if (m.name !== '') s += `,"name":${JSON.stringify(m.name)}`;
  if (m.clientUrls.length > 0) s += `,"clientURLs":${JSON.stringify(m.clientUrls)}`;
  return Buffer.from(`${s}}`, 'utf8');
}

/** The key of a member in `members` / `members_removed`: its ID in lower-case hex. */
export function memberKey(id: bigint): Buffer {
  return Buffer.from(BigInt.asUintN(64, id).toString(16), 'latin1');
}

/** raftpb.ConfState as etcd 3.5 stores it in meta (encoding/json of the generated struct). */
export function encodeConfStateJson(voters: readonly bigint[], learners: readonly bigint[]): Buffer {
  const list = (ids: readonly bigint[]) => `[${ids.map((id) => BigInt.asUintN(64, id).toString(10)).join(',')}]`;
  let s = '{';
  if (voters.length > 0) s += `"voters":${list(voters)},`;
  if (learners.length > 0) s += `"learners":${list(learners)},`;
  return Buffer.from(`${s}"auto_leave":false}`, 'latin1');
}

function varint(out: number[], v: bigint): void {
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
}

/** An alarm's key: the AlarmMember message's bytes (zero fields omitted, as protobuf encodes them). */
export function alarmKey(memberId: bigint, alarm: number): Buffer {
  const out: number[] = [];
  if (memberId !== 0n) {
    out.push(0x08);
    varint(out, memberId);
  }
  if (alarm !== 0) {
    out.push(0x10);
    varint(out, BigInt(alarm));
  }
  return Buffer.from(out);
}

/** 8 bytes big-endian of a non-negative safe integer. */
export function u64be(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
