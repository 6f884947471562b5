// etcd's disk families: WAL fsync/write latency and bytes, backend commit/defragment/snapshot latency,
// snapshot file saves. The storage layers call the observers built here (one method call per fsync,
// per backend batch, per snapshot); the rest is read at scrape time.

import type { Registry } from 'prom-client';
import type { BackendObserver } from '../storage/backend/index.js';
import type { WalObserver } from '../storage/wal/index.js';
import { exponentialBuckets, families } from './scrape.js';

/** What the snapshotter reports: a .snap file save (marshal, fsync, total) and a received .snap.db. */
export interface SnapObserver {
  saveSeconds(total: number, marshal: number, fsync: number): void;
  dbSaved(total: number, fsync: number): void;
}

export interface DiskView {
  walBytesWritten(): number;
  defragInflight(): boolean;
}

/** 1 ms … 8.192 s, etcd's buckets for WAL fsync, backend commit and snapshot file saves. */
const LATENCY = exponentialBuckets(0.001, 2, 14);

const HELP = {
  etcd_disk_wal_fsync_duration_seconds: 'The latency distributions of fsync called by WAL.',
  etcd_disk_wal_write_duration_seconds: 'The latency distributions of write called by WAL.',
  etcd_disk_wal_write_bytes_total: 'Total number of bytes written in WAL.',
  etcd_disk_backend_commit_duration_seconds: 'The latency distributions of commit called by backend.',
  etcd_disk_backend_defrag_duration_seconds: 'The latency distribution of backend defragmentation.',
  etcd_disk_backend_snapshot_duration_seconds: 'The latency distribution of backend snapshots.',
  etcd_disk_defrag_inflight: 'Whether or not defrag is active on the member. 1 means active, 0 means not.',
  etcd_debugging_snap_save_total_duration_seconds: 'The total latency distributions of save called by snapshot.',
  etcd_debugging_snap_save_marshalling_duration_seconds:
    'The marshalling cost distributions of save called by snapshot.',
  etcd_snap_fsync_duration_seconds: 'The latency distributions of fsync called by snap.',
  etcd_snap_db_fsync_duration_seconds: 'The latency distributions of fsyncing .snap.db file',
  etcd_snap_db_save_total_duration_seconds: 'The total latency distributions of v3 snapshot save',
} as const;

export function registerDiskFamilies(
  r: Registry,
  view: () => DiskView | null,
): { wal: WalObserver; backend: BackendObserver; snap: SnapObserver } {
  const f = families(r, HELP);
  const walFsync = f.histogram('etcd_disk_wal_fsync_duration_seconds', LATENCY);
  const walWrite = f.histogram('etcd_disk_wal_write_duration_seconds', LATENCY);
  f.gauge('etcd_disk_wal_write_bytes_total', () => view()?.walBytesWritten() ?? 0);
  const commit = f.histogram('etcd_disk_backend_commit_duration_seconds', LATENCY);
  const defrag = f.histogram('etcd_disk_backend_defrag_duration_seconds', exponentialBuckets(0.1, 2, 13));
  const snapshot = f.histogram('etcd_disk_backend_snapshot_duration_seconds', exponentialBuckets(0.01, 2, 17));
  f.gauge('etcd_disk_defrag_inflight', () => (view()?.defragInflight() ? 1 : 0));
  const snapSave = f.histogram('etcd_debugging_snap_save_total_duration_seconds', LATENCY);
  const snapMarshal = f.histogram('etcd_debugging_snap_save_marshalling_duration_seconds', LATENCY);
  const snapFsync = f.histogram('etcd_snap_fsync_duration_seconds', LATENCY);
  const dbFsync = f.histogram('etcd_snap_db_fsync_duration_seconds', LATENCY);
  const dbSave = f.histogram('etcd_snap_db_save_total_duration_seconds', exponentialBuckets(0.1, 2, 10));
  return {
    wal: {
      fsyncSeconds: (s) => walFsync.observe(s),
      writeSeconds: (s) => walWrite.observe(s),
    },
    backend: {
      commitSeconds: (s) => commit.observe(s),
      defragSeconds: (s) => defrag.observe(s),
      snapshotSeconds: (s) => snapshot.observe(s),
    },
    snap: {
      saveSeconds: (total, marshal, fsync) => {
        snapSave.observe(total);
        snapMarshal.observe(marshal);
        snapFsync.observe(fsync);
      },
      dbSaved: (total, fsync) => {
        dbSave.observe(total);
        dbFsync.observe(fsync);
      },
    },
  };
}
