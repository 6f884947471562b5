// Leader election (Raft §5.2, thesis §9.6 pre-vote, §3.10 transfer campaigns) and the vote rules
// (§5.4.1: grant at most one vote per term, only to a candidate whose log is at least as up to date).

import type { Raft } from './raft.js';
import { VoteResult } from './quorum.js';
import { bcastAppend } from './replication.js';
import {
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  StateRole,
  EMPTY_BYTES,
  NONE,
  message,
} from './types.js';
import { describeMessage, voteResponseType } from './util.js';

export enum CampaignType {
  /** First ask whether we could win (pre-vote), without touching terms. */
  PreElection = 0,
  /** A normal election: increment the term and ask for votes. */
  Election = 1,
  /** Asked by the leader to take over (TimeoutNow): skip pre-vote, override leases. */
  Transfer = 2,
}

/** Context of vote requests in a leadership-transfer campaign; voters in a lease still answer it. */
export const CAMPAIGN_TRANSFER: Uint8Array = new TextEncoder().encode('CampaignTransfer');

/** Committed configuration changes this node has not applied yet: its membership view is stale. */
export function hasUnappliedConfChanges(r: Raft): boolean {
  const log = r.raftLog;
  if (log.applied >= log.committed) return false;
  const lo = Math.max(log.applied + 1, log.firstIndex());
  if (lo > log.committed) return false;
  for (const e of log.slice(lo, log.committed + 1, Number.MAX_SAFE_INTEGER)) {
    if (e.type === EntryType.ConfChange) return true;
  }
  return false;
}

export function hup(r: Raft, t: CampaignType): void {
  if (r.state === StateRole.Leader) {
    r.logger.debug(`raft ${r.id}: ignoring campaign request: already leader`);
    return;
  }
  if (!r.promotable()) {
    r.logger.warn(`raft ${r.id}: is unpromotable and can not campaign`);
    return;
  }
  if (hasUnappliedConfChanges(r)) {
    r.logger.warn(
      `raft ${r.id}: cannot campaign at term ${r.term} since there are still pending configuration changes to apply`,
    );
    return;
  }
  r.logger.info(`raft ${r.id}: is starting a new election at term ${r.term}`);
  campaign(r, t);
}

export function campaign(r: Raft, t: CampaignType): void {
  if (!r.promotable()) {
    r.logger.warn(`raft ${r.id}: is unpromotable; campaign() should have been called`);
    return;
  }
  let voteMsg: MessageType;
  let term: number;
  if (t === CampaignType.PreElection) {
    r.becomePreCandidate();
    voteMsg = MessageType.PreVote;
    // Pre-vote requests carry the term we would move to.
    term = r.term + 1;
    // A pre-vote for ourselves changes no state, so it counts at once.
    const { result } = poll(r, r.id, MessageType.PreVoteResp, true);
    if (result === VoteResult.Won) {
      campaign(r, CampaignType.Election);
      return;
    }
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.Vote;
    term = r.term;
    // Our vote for ourselves counts only once (term, vote) is durable: see onHardStateDurable.
    // Until then a single-voter cluster stays candidate, so no message ever leaves under an
    // unpersisted term.
    r.selfVotePending = true;
  }
  const context = t === CampaignType.Transfer ? CAMPAIGN_TRANSFER : EMPTY_BYTES;
  const lastIndex = r.raftLog.lastIndex();
  const lastTerm = r.raftLog.lastTerm();
  for (const id of r.tracker.voters) {
    if (id === r.id) continue;
    r.logger.info(
      `raft ${r.id}: [logterm: ${lastTerm}, index: ${lastIndex}] sent ${MessageType[voteMsg]} request to ${id} at term ${r.term}`,
    );
    r.send(message({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm, context }));
  }
}

export function poll(
  r: Raft,
  id: NodeId,
  t: MessageType,
  granted: boolean,
): { granted: number; rejected: number; result: VoteResult } {
  r.logger.info(`raft ${r.id}: received ${MessageType[t]} ${granted ? '' : 'rejection '}from ${id} at term ${r.term}`);
  r.tracker.recordVote(id, granted);
  return r.tracker.tallyVotes();
}

/** Handles MsgVote / MsgPreVote once the term checks in Raft.step have passed. */
export function handleVoteRequest(r: Raft, m: Message): void {
  // We can vote if this repeats a vote we already cast, or we have not voted and know no leader in
  // this term, or it is a pre-vote for a future term...
  const canVote =
    r.vote === m.from || (r.vote === NONE && r.lead === NONE) || (m.type === MessageType.PreVote && m.term > r.term);
  // ...and the candidate's log is at least as up to date as ours.
  if (canVote && r.raftLog.isUpToDate(m.index, m.logTerm)) {
    r.logger.info(`raft ${r.id}: [term ${r.term}] cast ${MessageType[m.type]} for ${describeMessage(m)}`);
    // The response carries the term of the request, not ours: a pre-vote grant must not make the
    // candidate think we are in a lower term.
    r.send(voteResponse(r, m, m.term, false));
    if (m.type === MessageType.Vote) {
      // Only real votes are recorded; granting one resets our election timer.
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.logger.info(`raft ${r.id}: [term ${r.term}] rejected ${describeMessage(m)}`);
    r.send(voteResponse(r, m, r.term, true));
    if (
      m.type === MessageType.Vote &&
      m.term === r.term &&
      r.state !== StateRole.Leader &&
      r.raftLog.isUpToDate(m.index, m.logTerm)
    ) {
      // We refused only because we already voted in this term, and the candidate's log is at least
      // as up to date as ours: hold back our own next campaign, so that it gets the first chance in
      // the next term. Without this, a node with a stale log whose campaigns never reach that
      // candidate (stale membership) can keep out-running it in terms.
      r.electionElapsed = 0;
    }
  }
}

/** Outcome of a vote tally (from peers, or our own vote becoming durable). */
export function onVoteResult(r: Raft, result: VoteResult): void {
  if (result === VoteResult.Won) {
    if (r.state === StateRole.PreCandidate) {
      campaign(r, CampaignType.Election);
    } else {
      r.becomeLeader();
      bcastAppend(r);
    }
  } else if (result === VoteResult.Lost) {
    // A pre-candidate's term did not change; a rejected candidate keeps the term it moved to.
    r.becomeFollower(r.term, NONE);
  }
}

/** The driver persisted `hs`: a candidate whose vote for itself is now durable counts that vote. */
export function onHardStateDurable(r: Raft, hs: HardState): void {
  if (!r.selfVotePending || r.state !== StateRole.Candidate) return;
  if (hs.term !== r.term || hs.vote !== r.id) return;
  r.selfVotePending = false;
  onVoteResult(r, poll(r, r.id, MessageType.VoteResp, true).result);
}

/**
 * A vote response, granted or not, with the sender's commit index and that entry's term. Vote
 * responses carry them so that a candidate which lost its own commit index (an unsynced hard
 * state lost in a crash) relearns it: without it, a candidate still using a membership it has not
 * re-applied may need the vote of a node that no longer considers itself a voter, and whose log
 * is ahead of the candidate's, so that nobody can ever win.
 */
export function voteResponse(r: Raft, req: Message, term: number, reject: boolean): Message {
  const commit = r.raftLog.committed;
  return message({
    to: req.from,
    term,
    type: voteResponseType(req.type),
    reject,
    commit,
    logTerm: r.raftLog.term(commit) ?? 0,
  });
}

export function learnCommit(r: Raft, m: Message): void {
  if (r.state === StateRole.Leader || m.commit <= r.raftLog.committed || m.commit > r.raftLog.lastIndex()) return;
  // Same index and term means the same prefix (log matching), and the sender's commit is real.
  if (r.raftLog.matchTerm(m.commit, m.logTerm)) r.raftLog.commitTo(m.commit);
}
