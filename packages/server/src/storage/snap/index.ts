// storage/snap — Raft snapshot files: `<term>-<index>.snap` in one directory, each holding the
// snapshot's metadata and data under a CRC-32C. Saved atomically (temp file, fsync, rename,
// directory fsync); loadNewest() returns the newest snapshot that verifies (and that the caller's
// validate accepts, e.g. one the WAL has a marker for), renaming corrupt files to `.broken` as
// etcd does; purge() implements etcd's --max-snapshots.

export { Snapshotter, type SnapshotterOptions } from './snapshotter.js';
export { SnapError, type SnapErrorCode, snapName, parseSnapName } from './format.js';
