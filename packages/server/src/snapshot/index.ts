// Data portability with etcd: snapshots in etcd's backend format (a bbolt file of etcd's buckets +
// SHA-256 trailer) streamed from a member, and the `conclave snapshot save | restore | status`
// commands, which also read snapshots made by etcd 3.4 and 3.5.

export {
  openEtcdSnapshot,
  frameChunk,
  FRAME_HEADROOM,
  SNAPSHOT_HASH_SIZE,
  type EtcdSnapshotStream,
  type OpenSnapshotOptions,
} from './stream.js';
export { etcdBuckets, type ExportSource } from './export.js';
export { snapshotCommand } from './cli.js';
export { restoreSnapshot, RestoreError, RESTORE_DEFAULTS, type RestoreOptions } from './restore.js';
export { snapshotStatus, formatStatus, humanBytes, type SnapshotStatus, type StatusFormat } from './status.js';
export { saveSnapshot, SaveError, type SaveOptions } from './save.js';
export { checkSnapshotHash, hasSnapshotHash, SnapshotHashError } from './hash-check.js';
export { importEtcdBackend, SnapshotFormatError, type ImportResult } from './import.js';
export { writeDataDir, resolveCluster, type ResolvedCluster } from './data-dir.js';
