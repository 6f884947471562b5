// RawNode: the driver-facing API of the Raft state machine, and the Ready batches it hands out.
// See index.ts for the contract between RawNode and its driver.

import { encodeConfChange } from './codec.js';
import type { Config } from './config.js';
import { onHardStateDurable } from './election.js';
import { ProposalDroppedError, RaftUsageError } from './errors.js';
import { maybeTransferCampaign } from './leader-transfer.js';
import { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateRole,
  NONE,
  EMPTY_BYTES,
  emptyHardState,
  hardStateEqual,
  message,
} from './types.js';
import { isLocalMessage, isResponseMessage } from './util.js';

/** A batch of work for the driver. Handle it completely, then call advance(ready). */
export interface Ready {
  /** Leader and role now. Always present; compare with the previous Ready to detect changes. */
  softState: SoftState;
  /** Term, vote and commit to persist, or null if unchanged since the previous Ready. */
  hardState: HardState | null;
  /** Entries to append to stable storage (they may replace entries at the same or later indexes). */
  entries: Entry[];
  /** A snapshot received from the leader, to persist and apply (before committedEntries), or null. */
  snapshot: Snapshot | null;
  /** Committed entries to apply to the state machine, in order. */
  committedEntries: Entry[];
  /** Messages to send. When softState.role is Leader they may go out before persisting; otherwise only after. */
  messages: Message[];
  /** Linearizable-read confirmations: serve the read `requestCtx` once applied ≥ index. */
  readStates: ReadState[];
  /**
   * The WAL must be fsynced (even if this Ready wrote nothing to it) before the messages of a
   * non-leader are sent and before committedEntries are applied: set when term, vote, entries or
   * snapshot changed, or committedEntries include a configuration change.
   */
  mustSync: boolean;
}

export interface PeerProgress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  isLearner: boolean;
  recentActive: boolean;
  paused: boolean;
  pendingSnapshot: number;
  inflight: number;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  /** Index of the last entry in the log (stable or not). */
  lastIndex: number;
  config: ConfState;
  /** Per member (including this node), for a leader only; null otherwise. */
  progress: Map<NodeId, PeerProgress> | null;
  leadTransferee: NodeId;
}

const STATE_NAMES = {
  [ProgressState.Probe]: 'probe',
  [ProgressState.Replicate]: 'replicate',
  [ProgressState.Snapshot]: 'snapshot',
} as const;

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | null = null;
  /** A snapshot that arrived while the outstanding Ready's membership changes were being applied. */
  private deferredSnapshot: Message | null = null;

  /**
   * @internal The state machine inside `node`, for raft's own tests, their harness and the
   * simulator. The server never reads it: what it needs is on RawNode's API (term, commitIndex,
   * lead, role, status()).
   */
  static internals(node: RawNode): Raft {
    return node.raft;
  }

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Initializes a brand-new cluster member with the initial membership, as committed configuration
   * entries at indexes 1..n of term 1 (every founding member must bootstrap with the same lists).
   * They are delivered as committedEntries in the first Ready; apply them like any other.
   */
  bootstrap(voters: readonly NodeId[], learners: readonly NodeId[] = []): void {
    const r = this.raft;
    if (r.raftLog.lastIndex() !== 0 || r.term !== 0) throw new RaftUsageError("can't bootstrap a nonempty Storage");
    if (voters.length === 0) throw new RaftUsageError('bootstrap needs at least one voter');
    this.prevHardState = emptyHardState();
    r.becomeFollower(1, NONE);
    const changes: ConfChange[] = [
      ...voters.map((nodeId) => ({ type: ConfChangeType.AddNode, nodeId, context: EMPTY_BYTES, id: 0n })),
      ...learners.map((nodeId) => ({ type: ConfChangeType.AddLearnerNode, nodeId, context: EMPTY_BYTES, id: 0n })),
    ];
    const ents = changes.map((cc, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange(cc),
    }));
    r.raftLog.append(ents);
    r.raftLog.committed = ents.length;
    for (const cc of changes) r.applyConfChange(cc);
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts are counted in ticks). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (subject to pre-vote, if enabled). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** Proposes data to be appended to the log. Throws ProposalDroppedError if it cannot be accepted. */
  propose(data: Uint8Array): void {
    this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  /**
   * Proposes several entries at once (all or none): one append per follower instead of one per
   * entry. The server should batch what arrives together. Throws ProposalDroppedError like propose().
   */
  proposeBatch(data: readonly Uint8Array[]): void {
    if (data.length === 0) return;
    const entries = data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d }));
    this.raft.step(message({ type: MessageType.Prop, from: this.raft.id, entries }));
  }

  /** Proposes a membership change; apply it with applyConfChange() once committed. */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(
      message({
        type: MessageType.Prop,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }],
      }),
    );
  }

  /** Applies a committed ConfChange entry's change; returns the resulting membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feeds a message received from a peer. Local message types are refused; responses from
   * non-members and proposals the leader refuses are dropped silently.
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new RaftUsageError(`cannot step raft local message ${MessageType[m.type]}`);
    if (isResponseMessage(m.type) && !this.raft.tracker.progress.has(m.from)) return;
    if (
      m.type === MessageType.Snap &&
      this.outstanding?.committedEntries.some((e) => e.type === EntryType.ConfChange)
    ) {
      // Restoring now would replace the membership under the configuration changes the driver is
      // applying from the outstanding Ready (they would land on top of the snapshot's membership).
      // Step it once that Ready is advanced; meanwhile it is just a slower message.
      this.deferredSnapshot = m;
      return;
    }
    try {
      this.raft.step(m);
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
    }
  }

  /**
   * Requests a linearizable read. A ReadState with the same context appears in a later Ready; the
   * read may be served once the state machine has applied its index. `context` must be unique
   * among outstanding requests and non-empty. Throws ProposalDroppedError when there is no leader.
   */
  readIndex(context: Uint8Array): void {
    if (context.length === 0) throw new RaftUsageError('readIndex needs a non-empty context');
    this.raft.step(message({ type: MessageType.ReadIndex, context }));
  }

  /** Asks the leader to hand leadership to `to` (catch it up, then MsgTimeoutNow). */
  transferLeadership(to: NodeId): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: to }));
  }

  /**
   * A follower forgets its leader (etcd-io/raft's ForgetLeader) when it has strong reason to believe
   * the leader is gone, e.g. the leader's process refuses connections. It stays a follower in the
   * same term and does not campaign, but it now grants pre-votes at once instead of ignoring them
   * for the rest of its check-quorum lease, so once a quorum has forgotten the leader a new one can
   * be elected without waiting out the election timeout. Hearing from the leader again restores it.
   * Safe with any timing: only liveness is affected. No-op on a leader, candidate or leaderless node.
   */
  forgetLeader(): void {
    const r = this.raft;
    if (r.state !== StateRole.Follower || r.lead === NONE) return;
    r.logger.info(`raft ${r.id}: forgetting leader ${r.lead} at term ${r.term}`);
    r.lead = NONE;
  }

  /** The transport failed to reach `id`: its optimistic replication stream is reset to probing. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  /** The transport finished (ok) or failed to send the snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  /** The current term (cheap: for hot paths and response headers). */
  get term(): number {
    return this.raft.term;
  }

  /** The highest log index known to be committed. */
  get commitIndex(): number {
    return this.raft.raftLog.committed;
  }

  /** The leader this node knows of (NONE when there is none). */
  get lead(): NodeId {
    return this.raft.lead;
  }

  /** This node's role: follower, pre-candidate, candidate or leader. */
  get role(): StateRole {
    return this.raft.state;
  }

  /** Like status() without the per-peer progress: cheap enough for hot paths. */
  basicStatus(): Status {
    const r = this.raft;
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      lastIndex: r.raftLog.lastIndex(),
      config: r.confState(),
      progress: null,
      leadTransferee: r.leadTransferee,
    };
  }

  /** Id, hard and soft state, applied and last index, membership, transfer target; per-peer progress on a leader. */
  status(): Status {
    const r = this.raft;
    let progress: Map<NodeId, PeerProgress> | null = null;
    if (r.state === StateRole.Leader) {
      progress = new Map();
      for (const id of r.tracker.ids) {
        const pr = r.tracker.progress.get(id)!;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: STATE_NAMES[pr.state],
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          paused: pr.isPaused(),
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count,
        });
      }
    }
    return { ...this.basicStatus(), progress };
  }

  /** Whether ready() has something. Always false while a Ready is outstanding (not yet advanced). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.lead !== this.prevSoftState.lead || r.state !== this.prevSoftState.role) return true;
    if (
      r.term !== this.prevHardState.term ||
      r.vote !== this.prevHardState.vote ||
      r.raftLog.committed !== this.prevHardState.commit
    )
      return true;
    if (r.raftLog.unstable.entries.length > 0 || r.raftLog.hasPendingSnapshot()) return true;
    return r.raftLog.hasNextEnts();
  }

  /** Takes the pending work. Call advance(ready) before calling ready() again. */
  ready(): Ready {
    if (this.outstanding) throw new RaftUsageError('ready() called again before advance()');
    const r = this.raft;
    r.flushAppends();
    const hs = r.hardState();
    const hsChanged = !hardStateEqual(hs, this.prevHardState);
    const entries = r.raftLog.unstableEntries();
    const snapshot = r.raftLog.unstable.snapshot;
    const committedEntries = r.raftLog.nextEnts();
    const mustSync =
      entries.length > 0 ||
      snapshot !== null ||
      hs.term !== this.prevHardState.term ||
      hs.vote !== this.prevHardState.vote ||
      // The commit index covering a membership change must not be forgotten once the change is
      // acted on: a node restarting with an older membership may wait forever for a removed peer.
      committedEntries.some((e) => e.type === EntryType.ConfChange);
    const rd: Ready = {
      softState: r.softState(),
      hardState: hsChanged ? hs : null,
      entries,
      snapshot,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      mustSync,
    };
    r.msgs = [];
    r.readStates = [];
    this.prevSoftState = rd.softState;
    if (hsChanged) this.prevHardState = hs;
    this.outstanding = rd;
    return rd;
  }

  /**
   * The driver has persisted rd (snapshot, hard state, entries), sent its messages and applied its
   * committed entries (calling applyConfChange for configuration changes).
   */
  advance(rd: Ready): void {
    if (rd !== this.outstanding)
      throw new RaftUsageError('advance() must be given the Ready returned by the last ready()');
    this.outstanding = null;
    const r = this.raft;
    const n = rd.committedEntries.length;
    if (n > 0) {
      r.raftLog.appliedTo(rd.committedEntries[n - 1]!.index);
      if (r.state === StateRole.Leader) r.reduceUncommittedSize(rd.committedEntries);
    } else if (rd.snapshot) {
      r.raftLog.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.snapshot) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.raftLog.stableTo(last.index, last.term);
      r.onEntriesDurable(last.index, last.term);
    }
    onHardStateDurable(r, this.prevHardState);
    maybeTransferCampaign(r);
    const snap = this.deferredSnapshot;
    if (snap) {
      this.deferredSnapshot = null;
      this.step(snap);
    }
  }

  /** Whether a Ready is outstanding (handed out, not yet advanced). */
  get readyInProgress(): boolean {
    return this.outstanding !== null;
  }
}
