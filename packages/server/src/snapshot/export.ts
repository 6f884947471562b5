// Conclave's backend, seen through one read transaction, as etcd's buckets (etcd-schema.ts): the
// inputs of the bbolt writer. `key` and `lease` are streamed from LMDB unchanged (same encoding);
// the small buckets are rebuilt in etcd's layout (users and roles keyed by name, members as etcd's
// JSON keyed by hex ID, alarms keyed by AlarmMember bytes, etcd's meta keys only).

import { authpb, decodeMessage } from '@conclave/api';
import type { Alarm } from '../etcdserver/alarms.js';
import type { Member } from '../etcdserver/membership.js';
import type { BackendReadView } from '../storage/backend/index.js';
import { META, metaKey } from '../storage/backend/index.js';
import type { BoltEntry, BucketInput } from '../storage/bbolt/index.js';
import {
  AUTH_KEY,
  BUCKET,
  CLUSTER_VERSION_KEY,
  MEMBER_REMOVED_VALUE,
  META_KEY,
  alarmKey,
  encodeConfStateJson,
  encodeMemberJson,
  memberKey,
  u64be,
} from './etcd-schema.js';

/** What a snapshot is made of, all taken at the same moment (synchronously, between two applies). */
export interface ExportSource {
  view: BackendReadView;
  members: readonly Member[];
  alarms: readonly Alarm[];
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const byKey = (a: BoltEntry, b: BoltEntry): number => Buffer.compare(a.key, b.key);

function fixed(name: string, entries: BoltEntry[]): BucketInput {
  const sorted = [...entries].sort(byKey);
  return { name: latin1(name), entries: () => sorted };
}

const byId = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** The ten buckets of etcd's backend, read from `src`. */
export function etcdBuckets(src: ExportSource): BucketInput[] {
  const { dbs, txn } = src.view;
  // A fresh options object per call: lmdb-js's getKeys() writes into the one it is given.
  const opt = () => ({ transaction: txn });
  // The big buckets are read without copies: the writer copies each entry into its page at once.
  const FIRST = Buffer.from([0]);
  const stream = (name: string, db: typeof dbs.key): BucketInput => ({
    name: latin1(name),
    entries: () => db.getRange({ transaction: txn, start: FIRST }) as Iterable<BoltEntry>,
  });
  const meta = (name: string): Buffer | undefined => dbs.meta.get(metaKey(name), opt());

  const metaEntries: BoltEntry[] = [];
  const put = (into: BoltEntry[], key: string, value: Buffer | undefined): void => {
    if (value !== undefined) into.push({ key: latin1(key), value });
  };
  put(metaEntries, META_KEY.consistentIndex, meta(META.appliedIndex) ?? u64be(0));
  put(metaEntries, META_KEY.term, meta(META.appliedTerm));
  put(metaEntries, META_KEY.scheduledCompactRev, meta(META.scheduledCompactRev));
  put(metaEntries, META_KEY.finishedCompactRev, meta(META.finishedCompactRev));
  const voters = src.members.filter((m) => !m.isLearner).map((m) => m.id);
  const learners = src.members.filter((m) => m.isLearner).map((m) => m.id);
  put(metaEntries, META_KEY.confState, encodeConfStateJson(voters.sort(byId), learners.sort(byId)));

  const authEntries: BoltEntry[] = [];
  put(authEntries, AUTH_KEY.enabled, dbs.auth.get(latin1(AUTH_KEY.enabled), opt()) ?? Buffer.from([0]));
  put(authEntries, AUTH_KEY.revision, dbs.auth.get(latin1(AUTH_KEY.revision), opt()) ?? u64be(1));

  const users: BoltEntry[] = [];
  for (const { value } of dbs.authUsers.getRange(opt())) {
    users.push({ key: Buffer.from(decodeMessage(authpb.User, value).name), value });
  }
  const roles: BoltEntry[] = [];
  for (const { value } of dbs.authRoles.getRange(opt())) {
    roles.push({ key: Buffer.from(decodeMessage(authpb.Role, value).name), value });
  }

  const members = src.members.map((m) => ({ key: memberKey(m.id), value: encodeMemberJson(m) }));
  const removed: BoltEntry[] = [];
  for (const key of dbs.membersRemoved.getKeys(opt()) as Iterable<Buffer>) {
    removed.push({ key: memberKey(key.readBigUInt64BE(0)), value: latin1(MEMBER_REMOVED_VALUE) });
  }
  const cluster: BoltEntry[] = [];
  const version = meta(META.clusterVersion);
  if (version && version.length > 0) cluster.push({ key: latin1(CLUSTER_VERSION_KEY), value: version });
  const alarms = src.alarms.map((a) => ({ key: alarmKey(a.memberId, a.alarm), value: Buffer.alloc(0) }));

  return [
    stream(BUCKET.key, src.view.volatile.key),
    fixed(BUCKET.meta, metaEntries),
    stream(BUCKET.lease, src.view.volatile.lease),
    fixed(BUCKET.auth, authEntries),
    fixed(BUCKET.authUsers, users),
    fixed(BUCKET.authRoles, roles),
    fixed(BUCKET.members, members),
    fixed(BUCKET.membersRemoved, removed),
    fixed(BUCKET.cluster, cluster),
    fixed(BUCKET.alarm, alarms),
  ];
}
