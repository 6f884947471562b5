// Log replication (Raft §5.3): the leader's appends, heartbeats and snapshots, and how a follower
// handles them. Flow control per follower is in progress.ts.

import { CompactedError, SnapshotTemporarilyUnavailableError } from './errors.js';
import { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import {
  type Entry,
  type Message,
  MessageType,
  type NodeId,
  type Snapshot,
  StateRole,
  EMPTY_BYTES,
  NONE,
  isEmptySnapshot,
  message,
} from './types.js';
import { entriesSize } from './util.js';

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends an append (or, if the entries it needs are compacted, a snapshot) to `to`, unless its
 * progress is paused. With sendIfEmpty false, nothing is sent when there are no new entries.
 * Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const log = r.raftLog;
  const prevIndex = pr.next - 1;
  let prevTerm: number | undefined;
  let ents: Entry[] | undefined;
  if (prevIndex >= log.firstIndex() - 1) {
    prevTerm = log.term(prevIndex);
    if (prevTerm !== undefined) {
      try {
        ents = log.entries(pr.next, r.maxMsgSize);
      } catch (err) {
        if (!(err instanceof CompactedError)) throw err;
      }
    }
  }
  if (prevTerm === undefined || ents === undefined) return sendSnapshot(r, to);
  if (ents.length === 0 && !sendIfEmpty) return false;
  if (ents.length > 0) {
    const last = ents[ents.length - 1]!.index;
    if (pr.state === ProgressState.Replicate) {
      pr.optimisticUpdate(last);
      pr.inflights.add(last, entriesSize(ents));
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    } else {
      throw new Error(`raft ${r.id}: sending append in unhandled state ${ProgressState[pr.state]}`);
    }
  }
  r.send(
    message({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: log.committed }),
  );
  return true;
}

function sendSnapshot(r: Raft, to: NodeId): boolean {
  const pr = r.tracker.progress.get(to)!;
  if (!pr.recentActive) {
    r.logger.debug(`raft ${r.id}: ignore sending snapshot to ${to} since it is not recently active`);
    return false;
  }
  let snap: Snapshot;
  try {
    snap = r.raftLog.snapshot();
  } catch (err) {
    if (err instanceof SnapshotTemporarilyUnavailableError) {
      r.logger.debug(`raft ${r.id}: failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
      return false;
    }
    throw err;
  }
  if (isEmptySnapshot(snap)) throw new Error(`raft ${r.id}: need non-empty snapshot to catch up ${to}`);
  r.logger.info(
    `raft ${r.id}: [firstindex: ${r.raftLog.firstIndex()}, commit: ${r.raftLog.committed}] sent snapshot ` +
      `[index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${to} [${pr}]`,
  );
  pr.becomeSnapshot(snap.metadata.index);
  r.send(message({ type: MessageType.Snap, to, snapshot: snap }));
  return true;
}

export function sendHeartbeat(r: Raft, to: NodeId, ctx: Uint8Array): void {
  // The follower may not hold everything we committed: never tell it to commit past its match.
  const pr = r.tracker.progress.get(to);
  const commit = Math.min(pr ? pr.match : 0, r.raftLog.committed);
  r.send(message({ to, type: MessageType.Heartbeat, commit, context: ctx }));
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.ids) if (id !== r.id) sendAppend(r, id);
}

export function bcastHeartbeat(r: Raft, ctx?: Uint8Array): void {
  const c = ctx ?? r.readOnly.lastPendingRequestCtx() ?? EMPTY_BYTES;
  for (const id of r.tracker.ids) if (id !== r.id) sendHeartbeat(r, id, c);
}

// --- follower side ------------------------------------------------------------------------------

/** A message only a leader sends (MsgApp, MsgHeartbeat, MsgSnap), handled by its kind. */
export function handleLeaderMessage(r: Raft, m: Message): void {
  if (m.type === MessageType.App) handleAppendEntries(r, m);
  else if (m.type === MessageType.Heartbeat) handleHeartbeat(r, m);
  else handleSnapshot(r, m);
}

export function handleAppendEntries(r: Raft, m: Message): void {
  const log = r.raftLog;
  if (m.index < log.committed) {
    r.send(message({ to: m.from, type: MessageType.AppResp, index: log.committed }));
    return;
  }
  const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send(message({ to: m.from, type: MessageType.AppResp, index: lastNew }));
    return;
  }
  // Reject, with a hint that lets the leader skip a whole term of conflicting entries at once:
  // the largest index ≤ min(m.index, lastIndex) whose term is ≤ m.logTerm.
  const hintIndex = Math.min(m.index, log.lastIndex());
  const [hIndex, hTerm] = log.findConflictByTerm(hintIndex, m.logTerm);
  r.logger.debug(
    `raft ${r.id}: [logterm: ${log.term(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
  );
  r.send(
    message({
      to: m.from,
      type: MessageType.AppResp,
      index: m.index,
      reject: true,
      rejectHint: hIndex,
      logTerm: hTerm,
    }),
  );
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  r.send(message({ to: m.from, type: MessageType.HeartbeatResp, context: m.context }));
}

export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  if (restore(r, s)) {
    r.logger.info(
      `raft ${r.id}: [commit: ${r.raftLog.committed}] restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
    );
    r.send(message({ to: m.from, type: MessageType.AppResp, index: r.raftLog.lastIndex() }));
  } else {
    r.logger.info(
      `raft ${r.id}: [commit: ${r.raftLog.committed}] ignored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
    );
    r.send(message({ to: m.from, type: MessageType.AppResp, index: r.raftLog.committed }));
  }
}

/** Replaces the log and membership with a snapshot's. Returns false if the snapshot is not newer. */
export function restore(r: Raft, s: Snapshot): boolean {
  const meta = s.metadata;
  if (meta.index <= r.raftLog.committed) return false;
  if (r.state !== StateRole.Follower) {
    // Defence in depth: only followers receive snapshots.
    r.logger.warn(`raft ${r.id}: attempted to restore snapshot as ${StateRole[r.state]}; should never happen`);
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = meta.confState;
  // A snapshot taken before this node was added does not list it: accept it anyway; the entry
  // adding us follows in the log, and until it is applied we are not promotable.
  // Our log already holds the snapshot's last entry: just fast-forward the commit index.
  if (r.raftLog.matchTerm(meta.index, meta.term)) {
    r.logger.info(`raft ${r.id}: fast-forwarded commit to snapshot [index: ${meta.index}, term: ${meta.term}]`);
    r.raftLog.commitTo(meta.index);
    return false;
  }
  r.raftLog.restore(s);
  r.tracker.progress.clear();
  r.tracker.setMembership(cs.voters, cs.learners, r.raftLog.lastIndex() + 1);
  r.isLearner = r.tracker.isLearner(r.id);
  r.tracker.progress.get(r.id)?.maybeUpdate(r.raftLog.lastIndex());
  return true;
}
