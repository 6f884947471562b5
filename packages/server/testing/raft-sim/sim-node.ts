// One simulated server: a RawNode driven exactly as the Ready contract prescribes, a disk that
// loses what was not synced, a MemoryStorage copy of it, and a toy state machine (a running digest
// of the applied entries) that snapshots itself.

import { decodeConfChange } from '../../src/raft/codec.js';
import type { Logger } from '../../src/raft/config.js';
import { RawNode, type Ready } from '../../src/raft/raw-node.js';
import type { MemoryStorage } from '../../src/raft/storage.js';
import {
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type NodeId,
  type Snapshot,
  StateRole,
  NONE,
} from '../../src/raft/types.js';
import { type Checker, nextStateHash } from './checker.js';
import { Disk } from './disk.js';
import type { Rng } from './rng.js';

export interface NodeTuning {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxUncommittedEntriesSize: number;
  maxCommittedSizePerReady: number;
  /** Take a snapshot every this many applied entries (0 = never). */
  snapshotEvery: number;
  /** Entries kept in the log behind a snapshot. */
  compactKeep: number;
}

export interface PendingRead {
  ctx: string;
  /** Highest index applied anywhere when the read was issued. */
  floor: number;
  /** Index returned by Raft, once known. */
  index?: number;
}

/** The state machine's snapshot: applied index, digest, and the IDs removed so far. */
function encodeState(index: number, hash: number, removed: ReadonlySet<NodeId>): Uint8Array {
  const b = new Uint8Array(12 + 8 * removed.size);
  const v = new DataView(b.buffer);
  v.setFloat64(0, index);
  v.setUint32(8, hash);
  let at = 12;
  for (const id of removed) {
    v.setBigUint64(at, id);
    at += 8;
  }
  return b;
}

function decodeState(b: Uint8Array): { index: number; hash: number; removed: Set<NodeId> } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const removed = new Set<NodeId>();
  for (let at = 12; at < b.byteLength; at += 8) removed.add(v.getBigUint64(at));
  return { index: v.getFloat64(0), hash: v.getUint32(8), removed };
}

export class SimNode {
  readonly id: NodeId;
  readonly disk = new Disk();
  alive = false;
  /** Permanently stopped (removed from the cluster). */
  retired = false;
  incarnation = 0;
  raw!: RawNode;
  storage!: MemoryStorage;
  /** State machine: last applied index and digest. */
  appliedIndex = 0;
  stateHash = 0;
  confState: ConfState = { voters: [], learners: [] };
  /**
   * Members removed so far. Like etcd's member store, the state machine refuses to add them again:
   * a delayed or duplicated proposal may re-add a member after its removal, and its server is gone.
   */
  removed = new Set<NodeId>();
  snapshotIndex = 0;
  /** A Ready handed out and not yet advanced. */
  inFlight: Ready | null = null;
  readyScheduled = false;
  /** Commit index whose entries were already reported to the checker. */
  private checkedCommit = 0;
  reads = new Map<string, PendingRead>();
  readsServed = 0;
  /** Set once this node applied its own removal. */
  removedAt = -1;
  retireScheduled = false;
  /** Called for every applied entry. */
  onApplied: ((e: Entry) => void) | undefined;

  constructor(id: NodeId) {
    this.id = id;
  }

  /** (Re)starts from what the disk holds. Founding members bootstrap when the disk is empty. */
  start(
    tuning: NodeTuning,
    rng: Rng,
    checker: Checker,
    logger: Logger,
    founders: { voters: NodeId[]; learners: NodeId[] } | null,
  ): void {
    const { storage, snapshot } = this.disk.open();
    this.storage = storage;
    this.appliedIndex = 0;
    this.stateHash = 0;
    this.confState = { voters: [], learners: [] };
    this.removed = new Set();
    this.snapshotIndex = 0;
    if (snapshot) this.restoreState(snapshot, checker);
    this.checkedCommit = this.snapshotIndex;
    const seedRng = rng.fork();
    this.raw = new RawNode({
      id: this.id,
      storage,
      applied: this.appliedIndex,
      electionTick: tuning.electionTick,
      heartbeatTick: tuning.heartbeatTick,
      random: () => seedRng.next(),
      preVote: tuning.preVote,
      checkQuorum: tuning.checkQuorum,
      maxSizePerMsg: tuning.maxSizePerMsg,
      maxInflightMsgs: tuning.maxInflightMsgs,
      maxInflightBytes: tuning.maxInflightBytes,
      maxUncommittedEntriesSize: tuning.maxUncommittedEntriesSize,
      maxCommittedSizePerReady: tuning.maxCommittedSizePerReady,
      logger,
    });
    if (founders && storage.lastIndex() === 0 && storage.initialState().hardState.term === 0) {
      this.raw.bootstrap(founders.voters, founders.learners);
    }
    const raft = RawNode.internals(this.raw);
    raft.observer = {
      onElected: (id, term, voters, granted) => {
        const log = raft.raftLog;
        checker.onElected(id, term, voters, granted, (i) => log.term(i), log.firstIndex(), log.lastIndex());
      },
      onCommit: (id, term, index, voters, acked) => checker.onCommit(id, term, index, voters, acked),
    };
    this.alive = true;
    this.inFlight = null;
    this.readyScheduled = false;
    this.reads = new Map();
    this.incarnation++;
  }

  crash(rng: Rng): void {
    this.alive = false;
    this.incarnation++;
    this.inFlight = null;
    this.readyScheduled = false;
    this.reads = new Map();
    this.disk.crash(rng);
  }

  get isLeader(): boolean {
    return this.alive && this.raw.role === StateRole.Leader;
  }

  private restoreState(s: Snapshot, checker: Checker): void {
    const st = decodeState(s.data);
    if (st.index !== s.metadata.index)
      checker.fail(`node ${this.id}: snapshot at ${s.metadata.index} holds state of ${st.index}`);
    this.appliedIndex = st.index;
    this.stateHash = st.hash;
    this.removed = st.removed;
    this.confState = { voters: [...s.metadata.confState.voters], learners: [...s.metadata.confState.learners] };
    this.snapshotIndex = Math.max(this.snapshotIndex, s.metadata.index);
    checker.onSnapshotRestored(this.id, st.index, st.hash);
  }

  /** Phase 1: take the Ready. Returns it; the caller sends a leader's messages now. */
  takeReady(): Ready {
    const rd = this.raw.ready();
    this.inFlight = rd;
    return rd;
  }

  /**
   * Phase 2, once the writes are durable: persist to the disk model and MemoryStorage, apply, serve
   * reads and advance. Returns the Ready (its messages go out now if it was not a leader's).
   */
  finishReady(rd: Ready, checker: Checker, tuning: NodeTuning): void {
    this.disk.write(rd.snapshot, rd.hardState, rd.entries, rd.mustSync);
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries);
      const first = rd.entries[0]!.index;
      let prevTerm: number | undefined;
      if (first - 1 >= this.storage.firstIndex() - 1) prevTerm = this.storage.term(first - 1);
      checker.onPersistedEntries(this.id, rd.entries, prevTerm);
    }
    this.checkCommit(checker);

    if (rd.snapshot) {
      this.restoreState(rd.snapshot, checker);
    }
    for (const e of rd.committedEntries) this.applyEntry(e, checker);
    for (const rs of rd.readStates) {
      const key = String.fromCharCode(...rs.requestCtx);
      const pending = this.reads.get(key);
      if (!pending) continue;
      checker.onReadState(this.id, rs.index, pending.floor);
      pending.index = rs.index;
    }
    this.serveReads();
    this.maybeSnapshot(tuning);
    this.raw.advance(rd);
    this.inFlight = null;
  }

  private checkCommit(checker: Checker): void {
    const commit = this.storage.hardStateNow().commit;
    if (commit <= this.checkedCommit) return;
    const lo = Math.max(this.checkedCommit + 1, this.storage.firstIndex());
    if (lo <= commit) checker.onCommitted(this.id, this.storage.entries(lo, commit + 1, Number.MAX_SAFE_INTEGER));
    this.checkedCommit = commit;
  }

  private applyEntry(e: Entry, checker: Checker): void {
    if (e.index !== this.appliedIndex + 1)
      checker.fail(`node ${this.id}: applying ${e.index} after ${this.appliedIndex}`);
    if (e.type === EntryType.ConfChange) {
      const isMember = (cs: ConfState, id: NodeId) => cs.voters.includes(id) || cs.learners.includes(id);
      const before = isMember(this.confState, this.id);
      let cc = decodeConfChange(e.data);
      // Refused, as etcd does: Raft is told a change of node 0, which it applies as a no-op.
      if (cc.type !== ConfChangeType.RemoveNode && this.removed.has(cc.nodeId)) cc = { ...cc, nodeId: NONE };
      this.confState = this.raw.applyConfChange(cc);
      if (cc.type === ConfChangeType.RemoveNode && !isMember(this.confState, cc.nodeId)) this.removed.add(cc.nodeId);
      if (before && !isMember(this.confState, this.id) && this.removedAt < 0) this.removedAt = e.index;
    }
    this.appliedIndex = e.index;
    this.stateHash = nextStateHash(this.stateHash, e);
    checker.onApplied(this.id, e, this.stateHash);
    this.onApplied?.(e);
  }

  private serveReads(): void {
    for (const [key, r] of this.reads) {
      if (r.index !== undefined && this.appliedIndex >= r.index) {
        this.reads.delete(key);
        this.readsServed++;
      }
    }
  }

  private maybeSnapshot(t: NodeTuning): void {
    if (t.snapshotEvery === 0 || this.appliedIndex - this.snapshotIndex < t.snapshotEvery) return;
    const snap = this.storage.createSnapshot(
      this.appliedIndex,
      this.confState,
      encodeState(this.appliedIndex, this.stateHash, this.removed),
    );
    this.snapshotIndex = this.appliedIndex;
    this.disk.saveSnapshot(snap);
    const compactTo = this.appliedIndex - t.compactKeep;
    if (compactTo >= this.storage.firstIndex()) this.storage.compact(compactTo);
  }
}
