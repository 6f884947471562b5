// etcd's buckets (a snapshot or an etcd data file, read with the bbolt reader) into Conclave's
// backend: `key` and `lease` copied unchanged (the same encodings, appended in key order), the
// compaction revisions, the auth flag and revision, users and roles re-keyed the way the auth store
// keys them, the cluster version. Membership, the applied index and alarms are not taken: a restore
// makes a new cluster (see data-dir.ts), as etcdutl's does.

import { authpb, decodeMessage, type MessageCodec } from '@conclave/api';
import { authNameKey, recordName } from '../auth/index.js';
import { decodeKvHeader, EMPTY, type KvHeader } from '../mvcc/kv-codec.js';
import { decodeRevKey, revKeyMain } from '../mvcc/revision.js';
import { decodeLeaseRecord } from '../lease/persist.js';
import { META, type Backend, type BinaryDb } from '../storage/backend/index.js';
import type { BoltReader, BucketRef } from '../storage/bbolt/index.js';
import { AUTH_KEY, BUCKET, CLUSTER_VERSION_KEY, META_KEY } from './etcd-schema.js';

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

export interface ImportResult {
  /** Entries of the `key` bucket (revisions, tombstones included). */
  revisions: number;
  /** The highest main revision stored (0 for an empty store). */
  revision: number;
  /** The finished compaction revision (0 if none). */
  compactRevision: number;
  leases: number;
  users: number;
  roles: number;
  /** The cluster version the snapshot records ('' if none). */
  clusterVersion: string;
}

/** Bytes of keys and values per backend transaction while copying. */
const BATCH_BYTES = 32 * 1024 * 1024;

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function bucketOf(reader: BoltReader, name: string, required: boolean): BucketRef | null {
  const ref = reader.bucket(latin1(name));
  if (!ref && required) throw new SnapshotFormatError(`snapshot has no "${name}" bucket: not an etcd backend`);
  return ref;
}

/** Copies etcd's state from `reader` into `backend` (a new, empty one). */
export function importEtcdBackend(reader: BoltReader, backend: Backend): ImportResult {
  const result: ImportResult = {
    revisions: 0,
    revision: 0,
    compactRevision: 0,
    leases: 0,
    users: 0,
    roles: 0,
    clusterVersion: '',
  };
  const keyRef = bucketOf(reader, BUCKET.key, true)!;
  const metaRef = bucketOf(reader, BUCKET.meta, true)!;

  // The key bucket, in batches (a restore has no reader to keep consistent; the data dir is only
  // published once complete).
  const hdr: KvHeader = { key: EMPTY, createRevision: 0, version: 0, lease: 0n };
  const it = reader.entries(keyRef);
  for (let done = false; !done; ) {
    backend.batch(() => {
      const db = backend.dbs.key;
      let bytes = 0;
      while (bytes < BATCH_BYTES) {
        const n = it.next();
        if (n.done) {
          done = true;
          return;
        }
        const { key, value, bucket } = n.value;
        if (bucket) throw new SnapshotFormatError('snapshot: nested bucket inside "key"');
        try {
          decodeRevKey(key);
          decodeKvHeader(value, hdr);
        } catch (e) {
          throw new SnapshotFormatError(`snapshot: bad entry in "key" (${(e as Error).message})`);
        }
        if (hdr.key.length === 0) throw new SnapshotFormatError('snapshot: a revision without a key');
        db.putSync(key, value, { append: true });
        result.revisions++;
        result.revision = revKeyMain(key);
        bytes += key.length + value.length;
      }
    });
  }

  backend.batch(() => {
    for (const { key, value } of reader.entries(metaRef)) {
      const name = key.toString('latin1');
      if (name === META_KEY.scheduledCompactRev || name === META_KEY.finishedCompactRev) {
        if (value.length !== 17) throw new SnapshotFormatError(`snapshot: meta ${name} of ${value.length} bytes`);
        backend.putMeta(name, Buffer.from(value));
        if (name === META_KEY.finishedCompactRev) result.compactRevision = revKeyMain(value);
      }
    }
    const lease = bucketOf(reader, BUCKET.lease, false);
    if (lease) {
      for (const { key, value } of reader.entries(lease)) {
        if (key.length !== 8) throw new SnapshotFormatError(`snapshot: lease key of ${key.length} bytes`);
        decodeLeaseRecord(value);
        backend.dbs.lease.putSync(key, value, { append: true });
        result.leases++;
      }
    }
    const auth = bucketOf(reader, BUCKET.auth, false);
    if (auth) {
      for (const { key, value } of reader.entries(auth)) {
        const name = key.toString('latin1');
        if (name === AUTH_KEY.enabled || name === AUTH_KEY.revision) backend.dbs.auth.putSync(Buffer.from(key), value);
      }
    }
    // users and roles: the same records, keyed by the SHA-256 of the name they carry
    const records: Array<[string, BinaryDb, MessageCodec<{ name: Uint8Array }>, 'users' | 'roles']> = [
      [BUCKET.authUsers, backend.dbs.authUsers, authpb.User, 'users'],
      [BUCKET.authRoles, backend.dbs.authRoles, authpb.Role, 'roles'],
    ];
    for (const [bucket, db, codec, count] of records) {
      const ref = bucketOf(reader, bucket, false);
      if (!ref) continue;
      for (const { value } of reader.entries(ref)) {
        db.putSync(authNameKey(recordName(decodeMessage(codec, value))), value);
        result[count]++;
      }
    }
    const cluster = bucketOf(reader, BUCKET.cluster, false);
    if (cluster) {
      for (const { key, value } of reader.entries(cluster)) {
        if (key.toString('latin1') === CLUSTER_VERSION_KEY) {
          result.clusterVersion = value.toString('utf8');
          backend.putMeta(META.clusterVersion, Buffer.from(value));
        }
      }
    }
  });
  // A compaction can remove the newest revisions (tombstones): the compacted revision is a floor.
  result.revision = Math.max(result.revision, result.compactRevision);
  return result;
}
