// Leadership transfer (Raft thesis §3.10): the leader brings the transferee's log up to date, then
// tells it to campaign at once (MsgTimeoutNow). Proposals are refused meanwhile; the transfer is
// abandoned if it does not complete within an election timeout.

import { CampaignType, hasUnappliedConfChanges, hup } from './election.js';
import type { Raft } from './raft.js';
import { sendAppend } from './replication.js';
import { MessageType, type NodeId, StateRole, message } from './types.js';

export function startLeaderTransfer(r: Raft, to: NodeId): void {
  r.electionElapsed = 0;
  r.leadTransferee = to;
  const pr = r.tracker.progress.get(to);
  if (pr && pr.match === r.raftLog.lastIndex()) {
    r.logger.info(`raft ${r.id}: sends TimeoutNow to ${to} immediately as ${to} already has up-to-date log`);
    sendTimeoutNow(r, to);
  } else {
    sendAppend(r, to);
  }
}

/**
 * Tells `to` to campaign now. The message carries our commit index (up to what `to` is known to
 * hold), so that the transferee applies every committed membership change before it campaigns.
 */
export function sendTimeoutNow(r: Raft, to: NodeId): void {
  const match = r.tracker.progress.get(to)?.match ?? 0;
  r.send(message({ to, type: MessageType.TimeoutNow, commit: Math.min(match, r.raftLog.committed) }));
}

/** The transferee's side of MsgTimeoutNow. */
export function handleTimeoutNow(r: Raft, commit: number): void {
  // Our log matches the leader's up to `commit`, so that much is committed. If it includes
  // membership changes we have not applied, campaign once they are (our configuration is stale).
  r.raftLog.commitTo(Math.min(commit, r.raftLog.lastIndex()));
  if (hasUnappliedConfChanges(r)) {
    r.logger.info(
      `raft ${r.id}: [term ${r.term}] received MsgTimeoutNow; campaigning once configuration changes are applied`,
    );
    r.transferCampaignPending = true;
    return;
  }
  r.logger.info(`raft ${r.id}: [term ${r.term}] received MsgTimeoutNow and starts an election to get leadership`);
  hup(r, CampaignType.Transfer);
}

/** After advance(): start a transfer campaign that waited for membership changes to be applied. */
export function maybeTransferCampaign(r: Raft): void {
  if (!r.transferCampaignPending || r.state !== StateRole.Follower) return;
  if (hasUnappliedConfChanges(r)) return;
  r.transferCampaignPending = false;
  hup(r, CampaignType.Transfer);
}
