// A node's disk in the simulator: a write-ahead log of Ready records, of which only a synced prefix
// is guaranteed to survive a crash. Writes of a Ready with mustSync are fsynced (making everything
// before them durable too); others may be lost, all or in part, in a crash (a torn tail).

import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry, HardState, Snapshot } from '../../src/raft/types.js';
import type { Rng } from './rng.js';

interface WalRecord {
  snapshot: Snapshot | null;
  hardState: HardState | null;
  entries: Entry[];
}

export class Disk {
  /** State reconstructed from the synced records. */
  private snapshot: Snapshot | null = null;
  private hardState: HardState | null = null;
  /** Durable entries after the snapshot, contiguous. */
  private entries: Entry[] = [];
  private unsynced: WalRecord[] = [];

  isEmpty(): boolean {
    return this.snapshot === null && this.hardState === null && this.entries.length === 0 && this.unsynced.length === 0;
  }

  write(snapshot: Snapshot | null, hardState: HardState | null, entries: Entry[], sync: boolean): void {
    if (snapshot || hardState || entries.length > 0) this.unsynced.push({ snapshot, hardState, entries });
    if (sync) this.sync();
  }

  sync(): void {
    for (const r of this.unsynced) this.fold(r);
    this.unsynced = [];
  }

  /**
   * Saves a snapshot the application took (etcd writes it to its own file, then records it in
   * the WAL with a sync), and drops the entries it covers.
   */
  saveSnapshot(s: Snapshot): void {
    this.sync();
    this.snapshot = s;
    const keepFrom = this.entries.findIndex((e) => e.index > s.metadata.index);
    this.entries = keepFrom < 0 ? [] : this.entries.slice(keepFrom);
  }

  /** A crash: a random prefix of the unsynced records survives, the rest is lost. */
  crash(rng: Rng): void {
    const keep = rng.int(this.unsynced.length + 1);
    for (let i = 0; i < keep; i++) this.fold(this.unsynced[i]!);
    this.unsynced = [];
  }

  /** What the node finds when it starts: storage, and the snapshot its state machine restarts from. */
  open(): { storage: MemoryStorage; snapshot: Snapshot | null } {
    const storage = new MemoryStorage();
    if (this.snapshot) storage.applySnapshot(this.snapshot);
    if (this.hardState) storage.setHardState(this.hardState);
    storage.append(this.entries);
    return { storage, snapshot: this.snapshot };
  }

  private fold(r: WalRecord): void {
    if (r.snapshot) {
      this.snapshot = r.snapshot;
      this.entries = [];
    }
    if (r.hardState) this.hardState = r.hardState;
    if (r.entries.length === 0) return;
    const first = r.entries[0]!.index;
    const base = this.snapshot ? this.snapshot.metadata.index : 0;
    let ents = r.entries;
    if (first <= base) ents = ents.filter((e) => e.index > base);
    if (ents.length === 0) return;
    const start = ents[0]!.index;
    const have = this.entries.length === 0 ? base : this.entries[this.entries.length - 1]!.index;
    if (start > have + 1) throw new Error(`disk: gap in the log: have ..${have}, writing ${start}..`);
    const keep = start - (base + 1);
    if (keep < this.entries.length) this.entries.length = keep;
    for (const e of ents) this.entries.push(e);
  }
}
