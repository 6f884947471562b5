// Opening a member's data dir: a brand-new member (create the WAL with the member and cluster IDs,
// bootstrap Raft with the initial members) or a restart (newest valid snapshot, WAL replay after it,
// the Raft log rebuilt in memory). The WAL is the source of truth; the backend catches up from it.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStorage } from '../raft/index.js';
import type { HardState, Snapshot } from '../raft/types.js';
import { Backend, type BackendObserver, type BatchSyncOptions } from '../storage/backend/index.js';
import { Snapshotter, type SnapshotterOptions } from '../storage/snap/index.js';
import { Wal, type WalObserver } from '../storage/wal/index.js';
import type { Logger } from '../log/index.js';

export interface DataDirLayout {
  memberDir: string;
  walDir: string;
  snapDir: string;
  backendDir: string;
}

export function layout(dataDir: string, walDir = ''): DataDirLayout {
  const memberDir = join(dataDir, 'member');
  const snapDir = join(memberDir, 'snap');
  return { memberDir, walDir: walDir || join(memberDir, 'wal'), snapDir, backendDir: join(snapDir, 'db') };
}

/** What the WAL's metadata record holds: who this member is and which cluster it belongs to. */
export interface WalMetadata {
  memberId: bigint;
  clusterId: bigint;
}

export function encodeWalMetadata(m: WalMetadata): Uint8Array {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(m.memberId, 0);
  b.writeBigUInt64BE(m.clusterId, 8);
  return b;
}

export function decodeWalMetadata(b: Uint8Array): WalMetadata {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length !== 16) throw new Error(`wal metadata has ${buf.length} bytes, want 16`);
  return { memberId: buf.readBigUInt64BE(0), clusterId: buf.readBigUInt64BE(8) };
}

/**
 * WAL segments are zero-filled ahead of use (cheaper fdatasync on appends). 16 MiB rather than etcd's
 * 64 MiB keeps the first segment's creation — on the start-up path of every new member — short.
 */
const WAL_OPTIONS = { preallocate: true, segmentSize: 16 * 1024 * 1024 } as const;

export interface OpenedStorage {
  /** True when the data dir held no WAL: the caller bootstraps Raft. */
  fresh: boolean;
  wal: Wal;
  snapshotter: Snapshotter;
  backend: Backend;
  raftStorage: MemoryStorage;
  metadata: WalMetadata;
  /** The snapshot the log restarts from (null on a fresh member). */
  snapshot: Snapshot | null;
  hardState: HardState | null;
}

export interface OpenStorageOptions {
  dataDir: string;
  walDir?: string;
  /** For a fresh member: the IDs to write into the new WAL. */
  fresh: WalMetadata;
  logger: Logger;
  /** Told WAL and backend latencies (the member's metrics). */
  observers?: { wal: WalObserver; backend: BackendObserver; snap: SnapshotterOptions['observer'] };
  /** --unsafe-no-fsync: neither the WAL nor the backend fsyncs. */
  unsafeNoFsync?: boolean;
  /** --backend-batch-interval / --backend-batch-limit: when backend commits are synced. */
  backendBatch?: BatchSyncOptions;
}

export async function openStorage(opts: OpenStorageOptions): Promise<OpenedStorage> {
  const dirs = layout(opts.dataDir, opts.walDir);
  await mkdir(dirs.snapDir, { recursive: true });
  const walLogger = (e: { level: string; msg: string; [k: string]: unknown }): void => {
    const { level, msg, ...fields } = e;
    opts.logger.log(level === 'warn' || level === 'error' || level === 'debug' ? level : 'info', msg, fields);
  };
  const snapshotter = new Snapshotter(dirs.snapDir, {
    logger: walLogger,
    ...(opts.observers ? { observer: opts.observers.snap } : {}),
  });
  const backend = await Backend.open({
    path: dirs.backendDir,
    ...(opts.observers ? { observer: opts.observers.backend } : {}),
    unsafeNoFsync: opts.unsafeNoFsync === true,
    ...(opts.backendBatch ? { batchSync: opts.backendBatch } : {}),
  });
  const observer = {
    ...(opts.observers ? { observer: opts.observers.wal } : {}),
    unsafeNoFsync: opts.unsafeNoFsync === true,
  };
  const raftStorage = new MemoryStorage();

  if (!(await Wal.exists(dirs.walDir))) {
    const wal = await Wal.create(dirs.walDir, {
      metadata: encodeWalMetadata(opts.fresh),
      ...WAL_OPTIONS,
      ...observer,
      logger: walLogger,
    });
    return {
      fresh: true,
      wal,
      snapshotter,
      backend,
      raftStorage,
      metadata: opts.fresh,
      snapshot: null,
      hardState: null,
    };
  }

  // Restart: the newest snapshot the WAL knows about, then the entries after it.
  const markers = await Wal.validSnapshotMarkers(dirs.walDir);
  const known = new Set(markers.map((m) => `${m.term}/${m.index}`));
  const snapshot = await snapshotter.loadNewest((meta) => known.has(`${meta.term}/${meta.index}`));
  const wal = await Wal.open(dirs.walDir, { ...WAL_OPTIONS, ...observer, logger: walLogger });
  const read = await wal.readAll(
    snapshot ? { index: snapshot.metadata.index, term: snapshot.metadata.term } : undefined,
  );
  if (snapshot) raftStorage.applySnapshot(snapshot);
  raftStorage.setHardState(read.hardState);
  raftStorage.append(read.entries);
  return {
    fresh: false,
    wal,
    snapshotter,
    backend,
    raftStorage,
    metadata: decodeWalMetadata(read.metadata),
    snapshot,
    hardState: read.hardState,
  };
}
