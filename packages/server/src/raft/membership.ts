// Membership changes, one server at a time (Raft thesis §4.1), effective when applied.
//
// Safety rests on three rules: (1) a leader has at most one configuration change in its log that it
// has not applied (pendingConfIndex), (2) a new leader proposes none before it applied its own
// empty entry, i.e. committed an entry of its term, and (3) a node does not campaign while it has
// committed but unapplied configuration changes. Consecutive configurations then differ by one
// voter, so any majority of one intersects any majority of the next.

import { startLeaderTransfer } from './leader-transfer.js';
import type { Raft } from './raft.js';
import { bcastAppend, maybeSendAppend } from './replication.js';
import type { ProgressTracker } from './tracker.js';
import { type ConfChange, ConfChangeType, type ConfState, type NodeId, StateRole, NONE } from './types.js';

/** Why `cc` cannot be applied to the tracker's configuration, or undefined if it can. */
export function validateConfChange(tracker: ProgressTracker, cc: ConfChange): string | undefined {
  switch (cc.type) {
    case ConfChangeType.AddNode:
    case ConfChangeType.AddLearnerNode:
    case ConfChangeType.RemoveNode:
    case ConfChangeType.UpdateNode:
      break;
    default:
      return `unknown conf change type ${String(cc.type)}`;
  }
  if (cc.nodeId === NONE) return 'node id must not be 0';
  const removesVoter = cc.type === ConfChangeType.RemoveNode || cc.type === ConfChangeType.AddLearnerNode;
  if (removesVoter && tracker.isVoter(cc.nodeId) && tracker.voters.length === 1) {
    return `cannot remove or demote ${cc.nodeId}, the only voter`;
  }
  return undefined;
}

/**
 * Applies a committed configuration change. Invalid changes are ignored (every node ignores them
 * alike, as they apply the same changes in the same order).
 */
export function applyConfChange(r: Raft, cc: ConfChange): ConfState {
  // A change of node 0 is how the application refuses a committed change (etcd's convention).
  if (cc.nodeId === NONE) return r.tracker.confState();
  const problem = validateConfChange(r.tracker, cc);
  if (problem) {
    r.logger.warn(`raft ${r.id}: ignoring configuration change ${ConfChangeType[cc.type]} ${cc.nodeId}: ${problem}`);
    return r.tracker.confState();
  }
  const voters = new Set<NodeId>(r.tracker.voters);
  const learners = new Set<NodeId>(r.tracker.learners());
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case ConfChangeType.AddLearnerNode:
      voters.delete(cc.nodeId);
      learners.add(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
    case ConfChangeType.UpdateNode:
      return r.tracker.confState();
  }
  r.tracker.setMembership(voters, learners, r.raftLog.lastIndex() + 1);
  r.logger.info(`raft ${r.id}: switched to configuration voters=[${r.tracker.voters}] learners=[${[...learners]}]`);
  return switchToConfig(r);
}

function switchToConfig(r: Raft): ConfState {
  const cs = r.tracker.confState();
  r.isLearner = r.tracker.isLearner(r.id);
  if (r.state !== StateRole.Leader || r.tracker.voters.length === 0) return cs;

  // The quorum may have changed: commit what the new one holds, and start replicating to newcomers.
  if (r.maybeCommit()) {
    bcastAppend(r);
  } else {
    for (const id of r.tracker.ids) if (id !== r.id) maybeSendAppend(r, id, false);
  }
  if (r.leadTransferee !== NONE && !r.tracker.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  if (!r.tracker.isVoter(r.id) && r.leadTransferee === NONE) handOverLeadership(r);
  return cs;
}

/**
 * The leader was removed (or demoted to learner): transfer leadership to the most up-to-date voter.
 * Until that voter wins (or the transfer times out and we step down) we keep replicating, without
 * counting ourselves in any quorum, and refuse proposals.
 */
function handOverLeadership(r: Raft): void {
  let best: NodeId = NONE;
  let bestMatch = -1;
  for (const id of r.tracker.voters) {
    const m = r.tracker.progress.get(id)?.match ?? 0;
    if (m > bestMatch) {
      best = id;
      bestMatch = m;
    }
  }
  if (best === NONE) {
    r.becomeFollower(r.term, NONE);
    return;
  }
  r.logger.info(`raft ${r.id}: leader removed from the configuration; handing leadership over to ${best}`);
  startLeaderTransfer(r, best);
}
