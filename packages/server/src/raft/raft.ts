// The Raft state machine of one node: term, vote, role, log and (as leader) per-peer progress.
// Inputs are messages (step) and ticks; outputs accumulate in `msgs` and `readStates` and are
// drained by RawNode into a Ready. Nothing here performs I/O or reads a clock.
//
// Role-specific behaviour lives in step-leader.ts / step-follower.ts, elections in election.ts,
// log replication in replication.ts, ReadIndex in read-only.ts, leadership transfer in
// leader-transfer.ts and membership changes in membership.ts.

import { type Logger, type Config, resolveConfig } from './config.js';
import { CampaignType, CAMPAIGN_TRANSFER, handleVoteRequest, hup, learnCommit, voteResponse } from './election.js';
import { type DropReason, ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { applyConfChange } from './membership.js';
import { ReadOnly, releasePendingReadIndexMessages } from './read-only.js';
import { bcastAppend, maybeSendAppend } from './replication.js';
import { stepLeader } from './step-leader.js';
import { stepCandidate, stepFollower } from './step-follower.js';
import { ProgressTracker } from './tracker.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type ReadState,
  type SoftState,
  StateRole,
  EMPTY_BYTES,
  NONE,
  isEmptyHardState,
  message,
} from './types.js';
import { bytesEqual, describeMessage, payloadSize } from './util.js';

export type StepFn = (r: Raft, m: Message) => void;

/** Hooks for the simulator's invariant checks; never used by the server. */
export interface RaftObserver {
  onElected?(id: NodeId, term: number, voters: readonly NodeId[], granted: readonly NodeId[]): void;
  onCommit?(id: NodeId, term: number, index: number, voters: readonly NodeId[], acked: readonly NodeId[]): void;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly tracker: ProgressTracker;
  state = StateRole.Follower;
  /** This node is a learner in its current configuration. */
  isLearner = false;
  /** Outgoing messages, drained by RawNode.ready(). */
  msgs: Message[] = [];
  lead: NodeId = NONE;
  /** Target of an ongoing leadership transfer, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Index of the latest configuration change proposed by this leader; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /** Payload bytes of entries appended by this leader and not yet applied. */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Read requests waiting for this leader to commit an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** As leader: proposals were appended and not yet sent to followers (see flushAppends). */
  appendsPending = false;
  /** As candidate: our own vote counts once the hard state carrying it has been persisted. */
  selfVotePending = false;
  /** A leader asked us to take over (TimeoutNow) while we had membership changes to apply first. */
  transferCampaignPending = false;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly logger: Logger;
  private readonly random: () => number;
  private tickFn: () => void = () => this.tickElection();
  private stepFn: StepFn = stepFollower;
  observer: RaftObserver | undefined;

  constructor(config: Config) {
    const c = resolveConfig(config);
    this.id = c.id;
    this.logger = c.logger;
    this.random = c.random;
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady);
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.tracker = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.disableProposalForwarding = c.disableProposalForwarding;

    const { hardState, confState } = c.storage.initialState();
    this.tracker.setMembership(confState.voters, confState.learners, this.raftLog.lastIndex() + 1);
    this.isLearner = this.tracker.isLearner(this.id);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied > this.raftLog.applied) {
      if (c.applied > this.raftLog.committed) {
        // The state machine applied entries whose commit index was not synced before a crash. It
        // only applies entries that were committed and durable, so the commit index can follow.
        if (c.applied > this.raftLog.lastIndex()) {
          throw new Error(`raft: config.applied (${c.applied}) is beyond the last index (${this.raftLog.lastIndex()})`);
        }
        this.raftLog.commitTo(c.applied);
      }
      this.raftLog.appliedTo(c.applied);
    }
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `raft ${this.id}: newRaft [peers: [${this.tracker.voters.join(',')}], term: ${this.term}, commit: ${this.raftLog.committed}, ` +
        `applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  confState(): ConfState {
    return this.tracker.confState();
  }

  private loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `raft ${this.id}: state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    // A commit index below the snapshot (an unsynced hard state lost in a crash) is harmless: the
    // snapshot is committed by definition.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** Voter in its own configuration, so it may campaign. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  // --- sending ------------------------------------------------------------------------------

  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.Vote ||
      t === MessageType.VoteResp ||
      t === MessageType.PreVote ||
      t === MessageType.PreVoteResp
    ) {
      if (m.term === 0) throw new Error(`raft ${this.id}: term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0)
        throw new Error(`raft ${this.id}: term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and read requests are forwarded to the leader as local messages, without a term.
      if (t !== MessageType.Prop && t !== MessageType.ReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  // --- roles --------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const last = this.raftLog.lastIndex();
    // Our own log counts only as far as it is durable (entries handed out in a Ready become
    // durable at advance(), see onEntriesDurable).
    const stable = Math.min(last, this.raftLog.unstable.offset - 1);
    for (const [id, pr] of this.tracker.progress) {
      pr.becomeProbe();
      pr.match = 0;
      pr.next = last + 1;
      pr.recentActive = false;
      if (id === this.id) pr.match = stable;
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
    this.selfVotePending = false;
    this.transferCampaignPending = false;
    this.appendsPending = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateRole.Follower;
    this.logger.info(`raft ${this.id}: became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> candidate]');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateRole.Candidate;
    this.logger.info(`raft ${this.id}: became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote.
    this.stepFn = stepCandidate;
    this.tracker.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = StateRole.PreCandidate;
    this.logger.info(`raft ${this.id}: became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === StateRole.Follower) throw new Error('raft: invalid transition [follower -> leader]');
    const granted = this.tracker.voters.filter((id) => this.tracker.votes.get(id) === true);
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateRole.Leader;
    const pr = this.tracker.progress.get(this.id);
    if (pr) {
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    this.observer?.onElected?.(this.id, this.term, this.tracker.voters, granted);
    // The empty entry commits everything before it (§5.4.2) and gives ReadIndex a current-term commit.
    // (A single voter commits it once it is durable, at the next advance().)
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }])) {
      throw new Error('raft: empty entry was dropped');
    }
    // No configuration change until that entry is applied: a new leader must commit an entry of its
    // own term before changing membership (the single-server-change fix, Ongaro 2015).
    this.pendingConfIndex = this.raftLog.lastIndex();
    this.logger.info(`raft ${this.id}: became leader at term ${this.term}`);
  }

  // --- ticks --------------------------------------------------------------------------------

  tick(): void {
    this.tickFn();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      if (this.state === StateRole.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
      if (this.state === StateRole.Leader && !this.tracker.isVoter(this.id)) {
        // Removed (or demoted) and the hand-over did not finish in time: let the voters elect.
        this.logger.info(`raft ${this.id}: leader is no longer a voter; stepping down at term ${this.term}`);
        this.becomeFollower(this.term, NONE);
      }
    }
    if (this.state !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  // --- step ---------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // local message (or a forwarded proposal / read request)
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Within the minimum election timeout of hearing from a leader: ignore (§9.6, check-quorum lease).
          this.logger.info(`raft ${this.id}: [term ${this.term}] ignored ${describeMessage(m)}: lease is not expired`);
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; ours moves only when the real election starts.
      } else {
        this.logger.info(`raft ${this.id}: [term ${this.term}] received a higher term: ${describeMessage(m)}`);
        const fromLeader =
          m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        // Only a leader's message or a granted vote restarts the election timer (§5.2): a vote
        // request from a candidate we may well reject must not, or a candidate whose log is
        // behind could keep delaying every election it cannot win.
        const elapsed = this.state === StateRole.Leader ? 0 : this.electionElapsed;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
        if (m.type === MessageType.Vote) this.electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if (m.type === MessageType.Heartbeat || m.type === MessageType.App) {
        // A stale leader learns our term from this response and steps down (§5.1). etcd-io/raft
        // answers only with check-quorum or pre-vote, counting on this node's next campaign to
        // spread its term otherwise; but a learner never campaigns, and one that got a higher
        // term from a stale candidate would then never hear from the leader again.
        this.send(message({ to: m.from, type: MessageType.AppResp }));
      } else if (m.type === MessageType.PreVote || m.type === MessageType.Vote) {
        // Reject with our term (§5.1), so that a candidate behind in terms catches up. Without this
        // a candidate we never send to (it is not in our possibly stale configuration) could keep
        // campaigning below our term forever.
        this.send(voteResponse(this, m, this.term, true));
      } else {
        this.logger.debug(
          `raft ${this.id}: [term ${this.term}] ignored a message with lower term: ${describeMessage(m)}`,
        );
      }
      return;
    }

    switch (m.type) {
      case MessageType.VoteResp:
      case MessageType.PreVoteResp:
        learnCommit(this, m);
        this.stepFn(this, m);
        return;
      case MessageType.Hup:
        hup(this, this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        handleVoteRequest(this, m);
        return;
      default:
        this.stepFn(this, m);
    }
  }

  // --- leader helpers -----------------------------------------------------------------------

  /** Appends entries to the leader's log. Returns false if the uncommitted-size limit refuses them. */
  appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      e.term = this.term;
      e.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) return false;
    this.raftLog.append(es);
    // The leader's own copy counts toward a quorum only once durable (onEntriesDurable): so a
    // commit index, wherever it is sent, never depends on entries that a crash could still erase.
    return true;
  }

  /** Sends the entries proposed since the last Ready to every follower that can take them. */
  flushAppends(): void {
    if (!this.appendsPending) return;
    this.appendsPending = false;
    if (this.state !== StateRole.Leader) return;
    for (const id of this.tracker.ids) {
      if (id === this.id) continue;
      // As many appends as the size limit and the in-flight window allow.
      while (maybeSendAppend(this, id, false)) {
        // keep going
      }
    }
  }

  /** The driver persisted our log up to (index, term): as leader, count our own copy. */
  onEntriesDurable(index: number, term: number): void {
    if (this.state !== StateRole.Leader) return;
    const pr = this.tracker.progress.get(this.id);
    if (!pr || this.raftLog.term(index) !== term) return;
    if (pr.maybeUpdate(index) && this.maybeCommit()) bcastAppend(this);
  }

  /** Advances the commit index to what a quorum holds, if that entry is of the current term. */
  maybeCommit(): boolean {
    const mci = this.tracker.committed();
    if (!this.raftLog.maybeCommit(mci, this.term)) return false;
    if (this.observer?.onCommit) {
      const acked = this.tracker.voters.filter((id) => (this.tracker.progress.get(id)?.match ?? 0) >= mci);
      this.observer.onCommit(this.id, this.term, mci, this.tracker.voters, acked);
    }
    if (this.state === StateRole.Leader) releasePendingReadIndexMessages(this);
    return true;
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += payloadSize(e);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** Refuses a proposal or read request: throws ProposalDroppedError (caught by RawNode.step for remote ones). */
  dropProposal(reason: DropReason, detail?: string): never {
    this.logger.debug(
      `raft ${this.id}: [term ${this.term}] dropping proposal: ${reason}${detail ? ` (${detail})` : ''}`,
    );
    throw new ProposalDroppedError(reason, detail);
  }

  applyConfChange(cc: ConfChange): ConfState {
    return applyConfChange(this, cc);
  }
}
