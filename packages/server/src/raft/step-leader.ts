// How a leader handles messages: proposals, read requests, replication responses, heartbeats,
// snapshot reports, transfer requests and check-quorum.

import { decodeConfChange } from './codec.js';
import { sendTimeoutNow, startLeaderTransfer } from './leader-transfer.js';
import { validateConfChange } from './membership.js';
import { ProgressState } from './progress.js';
import { majority } from './quorum.js';
import type { Raft } from './raft.js';
import { handleReadIndex, respondToReadIndex } from './read-only.js';
import { bcastAppend, bcastHeartbeat, maybeSendAppend, sendAppend } from './replication.js';
import { EntryType, type Message, MessageType, NONE } from './types.js';

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r);
      return;
    case MessageType.CheckQuorum:
      if (!r.tracker.quorumActive(r.id)) {
        r.logger.warn(`raft ${r.id}: stepped down to follower since quorum is not active`);
        r.becomeFollower(r.term, NONE);
      }
      // Mark everyone but ourselves inactive until they answer again.
      for (const [id, pr] of r.tracker.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.Prop:
      stepProposal(r, m);
      return;
    case MessageType.ReadIndex:
      handleReadIndex(r, m);
      return;
  }

  const pr = r.tracker.progress.get(m.from);
  if (!pr) {
    r.logger.debug(`raft ${r.id}: no progress available for ${m.from}`);
    return;
  }
  switch (m.type) {
    case MessageType.AppResp: {
      pr.recentActive = true;
      if (m.reject) {
        // Fast backtracking: jump to the last index of ours whose term is ≤ the follower's hint term.
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === ProgressState.Probe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
        // The follower caught up through the snapshot (or past it): stream from here.
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        bcastAppend(r);
      } else if (oldPaused) {
        // The window was full (or the probe outstanding): it has room again.
        sendAppend(r, m.from);
      }
      // Send as much as flow control allows, without empty appends.
      while (maybeSendAppend(r, m.from, false)) {
        // keep going
      }
      if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
        r.logger.info(`raft ${r.id}: sent TimeoutNow to ${m.from} after it caught up`);
        sendTimeoutNow(r, m.from);
      }
      return;
    }
    case MessageType.HeartbeatResp: {
      pr.recentActive = true;
      pr.probeSent = false;
      // Free one slot of a full window, so that a lost append cannot stall replication forever.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex()) sendAppend(r, m.from);
      if (m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return;
      let votes = 0;
      for (const id of r.tracker.voters) if (acks.has(id)) votes++;
      if (votes < majority(r.tracker.voters.length)) return;
      for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
      return;
    }
    case MessageType.SnapStatus: {
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a heartbeat response (or an append response) before probing again.
      pr.probeSent = true;
      return;
    }
    case MessageType.Unreachable:
      // Optimistic appends were probably lost: go back to probing.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader: {
      if (pr.isLearner) {
        r.logger.debug(`raft ${r.id}: ignored transferring leadership to learner ${m.from}`);
        return;
      }
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return;
      if (!r.tracker.isVoter(r.id)) {
        // A removed leader is already handing over; let that finish.
        return;
      }
      r.logger.info(`raft ${r.id}: [term ${r.term}] starts to transfer leadership to ${transferee}`);
      startLeaderTransfer(r, transferee);
      return;
    }
    default:
      return;
  }
}

function stepProposal(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new Error(`raft ${r.id}: stepped empty MsgProp`);
  if (!r.tracker.progress.has(r.id)) r.dropProposal('not-a-member');
  if (r.leadTransferee !== NONE) r.dropProposal('leader-transfer-in-progress', `transferring to ${r.leadTransferee}`);
  let confIndex = -1;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.type !== EntryType.ConfChange) continue;
    if (confIndex >= 0 || r.pendingConfIndex > r.raftLog.applied) {
      r.dropProposal('conf-change-pending', `pending at index ${r.pendingConfIndex}, applied ${r.raftLog.applied}`);
    }
    const problem = validateConfChange(r.tracker, decodeConfChange(e.data));
    if (problem) r.dropProposal('invalid-conf-change', problem);
    confIndex = i;
  }
  const lastIndex = r.raftLog.lastIndex();
  // Fresh entry objects: appendEntry assigns term and index, and the message may be delivered twice.
  const ents = m.entries.map((e) => ({ term: 0, index: 0, type: e.type, data: e.data }));
  if (!r.appendEntry(ents)) r.dropProposal('too-many-uncommitted-entries');
  if (confIndex >= 0) r.pendingConfIndex = lastIndex + confIndex + 1;
  // Replicated when the Ready is taken (flushAppends): every proposal made before then travels in
  // the same append, however many propose() calls there were.
  r.appendsPending = true;
}
