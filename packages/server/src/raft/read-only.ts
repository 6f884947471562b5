// Linearizable reads without writing to the log (Raft thesis §6.4, "ReadIndex", safe mode): the
// leader records its commit index for the request, then confirms it is still the leader by a
// heartbeat round carrying the request context; once a quorum acknowledges, every request queued
// up to that one may be served at its recorded index.

import type { Raft } from './raft.js';
import { bcastHeartbeat } from './replication.js';
import { type Message, MessageType, type NodeId, NONE, message } from './types.js';
import { bytesKey } from './util.js';

export interface ReadIndexStatus {
  /** The original request (local: from is NONE or self; forwarded: from is the follower). */
  req: Message;
  index: number;
  acks: Set<NodeId>;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queues a read at the leader's current commit index. Duplicate contexts are ignored. */
  addRequest(index: number, m: Message): void {
    const ctx = bytesKey(m.context);
    if (this.pending.has(ctx)) return;
    this.pending.set(ctx, { req: m, index, acks: new Set() });
    this.queue.push(ctx);
  }

  /** Records a heartbeat acknowledgement for the request with this context; returns its acks. */
  recvAck(id: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(bytesKey(context));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /**
   * The request with context `context` was confirmed by a quorum: returns it and every request
   * queued before it (a later confirmation covers earlier requests), removing them.
   */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const ctx = bytesKey(context);
    const at = this.queue.indexOf(ctx);
    if (at < 0) return [];
    const done: ReadIndexStatus[] = [];
    for (const key of this.queue.slice(0, at + 1)) {
      const rs = this.pending.get(key);
      if (!rs) throw new Error('read-only: cannot find the corresponding read state in the pending map');
      done.push(rs);
      this.pending.delete(key);
    }
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** Context of the most recent pending request, carried by the next heartbeat round. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const last = this.queue[this.queue.length - 1];
    return last === undefined ? undefined : this.pending.get(last)!.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}

// --- the leader's side ----------------------------------------------------------------------------

export function committedEntryInCurrentTerm(r: Raft): boolean {
  return r.raftLog.term(r.raftLog.committed) === r.term;
}

/**
 * Serves a read request (local, or forwarded by a follower). A new leader first commits an entry
 * of its term: until then its commit index may be behind what earlier leaders committed.
 */
export function handleReadIndex(r: Raft, m: Message): void {
  if (!committedEntryInCurrentTerm(r)) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendReadIndexResponse(r, m);
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !committedEntryInCurrentTerm(r)) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendReadIndexResponse(r, m);
}

function sendReadIndexResponse(r: Raft, m: Message): void {
  if (r.tracker.isSingleton() && r.tracker.isVoter(r.id)) {
    respondToReadIndex(r, m, r.raftLog.committed);
    return;
  }
  r.readOnly.addRequest(r.raftLog.committed, m);
  // The leader acknowledges itself, then confirms its leadership with a heartbeat round.
  r.readOnly.recvAck(r.id, m.context);
  bcastHeartbeat(r, m.context);
}

export function respondToReadIndex(r: Raft, req: Message, index: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: req.context });
  } else {
    r.send(message({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.context }));
  }
}
