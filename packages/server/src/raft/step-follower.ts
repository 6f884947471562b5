// How followers and (pre-)candidates handle messages once Raft.step has settled the term.

import { onVoteResult, poll } from './election.js';
import { handleTimeoutNow } from './leader-transfer.js';
import type { Raft } from './raft.js';
import { handleLeaderMessage } from './replication.js';
import { type Message, MessageType, StateRole, NONE } from './types.js';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) r.dropProposal('no-leader', `term ${r.term}`);
      if (r.disableProposalForwarding) r.dropProposal('proposal-forwarding-disabled');
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleLeaderMessage(r, m);
      return;
    case MessageType.TransferLeader:
      if (r.lead === NONE) {
        r.logger.info(`raft ${r.id}: no leader at term ${r.term}; dropping leader transfer msg`);
        return;
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.TimeoutNow:
      // The leader asks us to take over: campaign at once, without pre-vote (§3.10).
      handleTimeoutNow(r, m.commit);
      return;
    case MessageType.ReadIndex:
      if (r.lead === NONE) r.dropProposal('no-leader', `term ${r.term}; read index dropped`);
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      return;
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  // Only count responses to the kind of request we sent: a pre-candidate may still receive
  // answers to an earlier real campaign and vice versa.
  const myVoteResp = r.state === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      r.dropProposal('no-leader', `${StateRole[r.state]} at term ${r.term}`);
      return;
    case MessageType.ReadIndex:
      r.dropProposal('no-leader', `${StateRole[r.state]} at term ${r.term}; read index dropped`);
      return;
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleLeaderMessage(r, m);
      return;
    case myVoteResp: {
      const { granted, rejected, result } = poll(r, m.from, m.type, !m.reject);
      r.logger.info(
        `raft ${r.id}: has received ${granted} ${MessageType[m.type]} votes and ${rejected} vote rejections`,
      );
      onVoteResult(r, result);
      return;
    }
    case MessageType.TimeoutNow:
      r.logger.debug(`raft ${r.id}: [term ${r.term} state ${StateRole[r.state]}] ignored MsgTimeoutNow from ${m.from}`);
      return;
    default:
      return;
  }
}
