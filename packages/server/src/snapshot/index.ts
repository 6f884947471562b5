// Data portability with etcd: snapshots in etcd's backend format (a bbolt file of etcd's buckets +
// SHA-256 trailer) streamed from a member, and the `conclave snapshot save | restore | status`
// commands, which also read snapshots made by etcd 3.4 and 3.5.

export { openEtcdSnapshot, SNAPSHOT_HASH_SIZE, type EtcdSnapshotStream, type OpenSnapshotOptions } from './stream.js';
export { etcdBuckets, type ExportSource } from './export.js';
