// The current membership (voters and learners), the leader's per-peer progress, and the votes of
// the current election. Iteration is in ascending ID order so that runs are deterministic.

import { Inflights, Progress } from './progress.js';
import { committedIndex, majority, type VoteResult, voteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';
import { sortedIds } from './util.js';

export class ProgressTracker {
  private votersSet = new Set<NodeId>();
  private learnersSet = new Set<NodeId>();
  /** Sorted voter IDs (cached). */
  voters: NodeId[] = [];
  /** Sorted IDs of every member, voters and learners (cached). */
  ids: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();

  /** Each follower's window of appends in flight holds at most `maxInflight` messages of `maxInflightBytes`. */
  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
  }

  isVoter(id: NodeId): boolean {
    return this.votersSet.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learnersSet.has(id);
  }

  /** Replaces the membership; progress for new members starts at `next`, departed members are dropped. */
  setMembership(voters: Iterable<NodeId>, learners: Iterable<NodeId>, next: number): void {
    this.votersSet = new Set(voters);
    this.learnersSet = new Set(learners);
    for (const id of this.votersSet) this.learnersSet.delete(id);
    for (const id of [...this.progress.keys()]) {
      if (!this.votersSet.has(id) && !this.learnersSet.has(id)) this.progress.delete(id);
    }
    for (const id of this.votersSet) this.upsert(id, false, next);
    for (const id of this.learnersSet) this.upsert(id, true, next);
    this.voters = sortedIds(this.votersSet);
    this.ids = sortedIds(this.progress.keys());
    for (const id of [...this.votes.keys()]) if (!this.votersSet.has(id)) this.votes.delete(id);
  }

  private upsert(id: NodeId, isLearner: boolean, next: number): void {
    const pr = this.progress.get(id);
    if (pr) {
      pr.isLearner = isLearner;
      return;
    }
    const fresh = this.newProgress(next, isLearner);
    // A member that was just added counts as active, so check-quorum does not trip before it has
    // had a chance to answer.
    fresh.recentActive = true;
    this.progress.set(id, fresh);
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: sortedIds(this.learnersSet) };
  }

  learners(): NodeId[] {
    return sortedIds(this.learnersSet);
  }

  /** The configuration has exactly one voter. */
  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum of voters was recently active (the leader itself always is). */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) active++;
    }
    return active >= majority(this.voters.length);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
