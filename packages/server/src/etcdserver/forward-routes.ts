// Requests a member hands to the leader outside Raft (lease keep-alives and TimeToLive, learner
// promotion), by route: the registry of what this member serves when it leads, and the sending side
// over the peer transport. The peer server calls serve() for a forwarded request.

import { etcdError, GrpcStatusError } from '@conclave/api';
import type { ForwardHandler, ForwardRoutes } from './ports.js';

export interface ForwardRoutesDeps {
  memberId: bigint;
  /** The current leader (0n = none). */
  lead(): bigint;
  /** The peer transport's sender to `id`, if it has one. */
  sender(id: bigint): { forward(path: string, body: Uint8Array, timeoutMs: number): Promise<Buffer> } | undefined;
  /** etcd's request timeout: the default for a forward. */
  timeoutMs: number;
}

export class LeaderRoutes implements ForwardRoutes {
  private readonly handlers = new Map<string, ForwardHandler>();

  constructor(private readonly deps: ForwardRoutesDeps) {}

  handle(path: string, handler: ForwardHandler): void {
    if (this.handlers.has(path)) throw new Error(`forward route ${path} is already served`);
    this.handlers.set(path, handler);
  }

  /** Serves a request forwarded by another member; undefined for an unknown route. */
  serve(path: string, body: Buffer): Promise<Buffer> | undefined {
    return this.handlers.get(path)?.(body);
  }

  async forwardToLeader(path: string, body: Uint8Array, timeoutMs = this.deps.timeoutMs): Promise<Buffer> {
    const lead = this.deps.lead();
    if (lead === 0n) throw etcdError('NoLeader');
    if (lead === this.deps.memberId) {
      const local = this.serve(path, Buffer.from(body));
      if (!local) throw new Error(`no local handler for ${path}`);
      return local;
    }
    const sender = this.deps.sender(lead);
    if (!sender) throw etcdError('NoLeader');
    try {
      return await sender.forward(path, body, timeoutMs);
    } catch (err) {
      const e = err as { status?: number; body?: Buffer };
      if (e.status === 500 && e.body) {
        const o = JSON.parse(e.body.toString('utf8')) as { code: number; message: string };
        throw new GrpcStatusError(o.code as never, o.message);
      }
      throw etcdError('NoLeader', { cause: err });
    }
  }
}
