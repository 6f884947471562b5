// The one place that names every LMDB sub-database of the backend and the well-known keys of `meta`.
//
// Every sub-database uses raw binary keys and raw binary values (Buffers in, Buffers out): no
// msgpack, no structured-clone surprises, and bytes that can be hashed or spliced into responses.
// LMDB keys are limited to ~1,978 bytes, so user data (etcd keys, user names, role names) must never
// be an LMDB key on its own when it can be long: the `key` db is keyed by revision; other dbs are
// keyed by small fixed ids or by names their owners bound in length.

/** Sub-database names, as stored in the LMDB environment. */
export const DB_NAMES = [
  /** revision (mvcc/revision.ts encoding) → protobuf mvccpb.KeyValue bytes. */
  'key',
  /** small named values: applied index, term, compaction revisions, cluster metadata. */
  'meta',
  /** lease id (8-byte big-endian) → lease record (owned by lease/). */
  'lease',
  /** auth-wide state: enabled flag, auth revision (owned by auth/). */
  'auth',
  /** user name → authpb.User (owned by auth/). */
  'authUsers',
  /** role name → authpb.Role (owned by auth/). */
  'authRoles',
  /** member id (8-byte big-endian) → member record (owned by membership). */
  'members',
  /** member id (8-byte big-endian) → removal marker (owned by membership). */
  'membersRemoved',
  /** member id + alarm type → marker (owned by the alarm store). */
  'alarm',
] as const;

export type DbName = (typeof DB_NAMES)[number];

/** Options every sub-database is opened with. */
export const DB_OPTIONS = { keyEncoding: 'binary', encoding: 'binary' } as const;

/** Well-known keys of the `meta` sub-database (stored as their ASCII bytes). */
export const META = {
  /** Raft index of the last entry applied to this state: 8-byte big-endian uint64. */
  appliedIndex: 'consistent_index',
  /** Raft term of that entry: 8-byte big-endian uint64. */
  appliedTerm: 'term',
  /** Revision of the last compaction scheduled (written before it starts): revision bytes. */
  scheduledCompactRev: 'scheduledCompactRev',
  /** Revision of the last compaction physically finished: revision bytes. */
  finishedCompactRev: 'finishedCompactRev',
  /** Cluster id, 8-byte big-endian. */
  clusterId: 'clusterId',
  /** Cluster version string ("3.4.0"). */
  clusterVersion: 'clusterVersion',
  /** The downgrade job, JSON { enabled, ver } (owned by cluster-version/downgrade.ts). */
  downgrade: 'downgrade',
  /** JSON list of Raft log indexes of membership changes refused when applied (owned by etcdserver/applier). */
  rejectedConfChanges: 'rejectedConfChanges',
  /** Written (constant value) by every open; works around an lmdb-js close() hang. */
  warmup: 'backendOpen',
} as const;

export type MetaKey = (typeof META)[keyof typeof META];

const metaKeyCache = new Map<string, Buffer>();

/** The LMDB key bytes of a meta entry. */
export function metaKey(name: string): Buffer {
  let k = metaKeyCache.get(name);
  if (!k) {
    k = Buffer.from(name, 'latin1');
    metaKeyCache.set(name, k);
  }
  return k;
}

/** Encodes a non-negative safe integer as 8 bytes big-endian. */
export function encodeUint64(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`uint64 out of range: ${n}`);
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}

/** Decodes 8 bytes big-endian (must fit a safe integer). */
export function decodeUint64(b: Uint8Array, offset = 0): number {
  if (b.length < offset + 8) throw new RangeError('uint64: truncated');
  const v = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const hi = v.readUInt32BE(offset);
  if (hi > 0x1fffff) throw new RangeError('uint64: exceeds 2^53');
  return hi * 0x1_0000_0000 + v.readUInt32BE(offset + 4);
}
