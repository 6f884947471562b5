// When and how a member snapshots: every --snapshot-count applied entries it records a Raft
// snapshot (membership only: the state itself is the backend, synced first), compacts the in-memory
// log (keeping a tail for slow followers), releases the WAL before it and purges old files.

import type { Logger } from '../log/index.js';
import type { OpenedStorage } from './bootstrap.js';
import type { Applier } from '../apply/applier.js';

/** Entries kept in memory after a snapshot so slow followers can catch up without one (etcd: 5000). */
export const SNAPSHOT_CATCH_UP_ENTRIES = 5000;

export interface SnapshotPolicyOptions {
  storage: OpenedStorage;
  snapshotCount: number;
  maxSnapshots: number;
  maxWals: number;
  logger: Logger;
}

export class SnapshotPolicy {
  private snapshotIndex: number;
  private running: Promise<void> | null = null;

  constructor(private readonly o: SnapshotPolicyOptions) {
    this.snapshotIndex = o.storage.snapshot?.metadata.index ?? 0;
  }

  maybeSnapshot(applier: Applier, term: () => number): void {
    if (this.running || this.o.snapshotCount <= 0) return;
    if (applier.appliedIndex - this.snapshotIndex <= this.o.snapshotCount) return;
    this.running = this.snapshot(applier.appliedIndex, applier.appliedTerm || term(), applier)
      .catch((err: unknown) => this.o.logger.error('failed to save snapshot', { error: String(err) }))
      .finally(() => {
        this.running = null;
      });
  }

  private async snapshot(index: number, _term: number, applier: Applier): Promise<void> {
    const st = this.o.storage;
    // The backend is the state this snapshot stands for: make it durable before the WAL can go.
    await st.backend.sync();
    const snap = st.raftStorage.createSnapshot(index, applier.confState, new Uint8Array(0));
    await st.snapshotter.save(snap);
    await st.wal.saveSnapshotMarker({ index, term: snap.metadata.term });
    this.o.logger.info('saved snapshot', { 'snapshot-index': index });
    const compactTo = index - SNAPSHOT_CATCH_UP_ENTRIES;
    if (compactTo > st.raftStorage.firstIndex()) {
      st.raftStorage.compact(compactTo);
      this.o.logger.info('compacted Raft logs', { 'compact-index': compactTo });
    }
    this.snapshotIndex = index;
    st.wal.releaseTo(index);
    await st.wal.purge(this.o.maxWals);
    await st.snapshotter.purge(this.o.maxSnapshots);
  }

  async idle(): Promise<void> {
    await this.running;
  }
}
