// Linearizable reads without writing to the log (Raft thesis §6.4, "ReadIndex", safe mode): the
// leader records its commit index for the request, then confirms it is still the leader by a
// heartbeat round carrying the request context; once a quorum acknowledges, every request queued
// up to that one may be served at its recorded index.

import type { Message, NodeId } from './types.js';
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
