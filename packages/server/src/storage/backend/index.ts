// Storage backend: one LMDB environment (lmdb-js) holding every sub-database of the server state
// (MVCC revisions, meta, lease, auth, membership, alarms; named in schema.ts). Writes are grouped
// into synchronous batches (one LMDB write transaction) that also record the Raft applied index,
// so replaying the WAL after a crash is idempotent. Also: durability (`sync`), size figures,
// defragmentation, consistent snapshots and restore.

export {
  Backend,
  type BackendObserver,
  type BackendOptions,
  type BackendReadView,
  type ReplaceReason,
} from './backend.js';
export { type BatchSyncOptions, DEFAULT_BATCH_INTERVAL_MS, DEFAULT_BATCH_LIMIT } from './batch-sync.js';
export type { BinaryDb, Dbs } from './env.js';
export { BackendBusyError, BackendClosedError, BackendError, NotInBatchError } from './errors.js';
export {
  DB_NAMES,
  DB_OPTIONS,
  META,
  decodeUint64,
  encodeUint64,
  metaKey,
  type DbName,
  type MetaKey,
} from './schema.js';
