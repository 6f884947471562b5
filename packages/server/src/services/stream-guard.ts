// etcd's stream interceptor for the long-lived streams (Watch, LeaseKeepAlive): a learner serves
// none; a stream opened with `hasleader: true` metadata fails at once with "no leader" when there
// is none, and is ended with "no leader" once the member has had no leader for three election
// timeouts in a row (etcd's monitorLeader).

import { etcdError } from '@conclave/api';
import type { ServerCall } from '../grpc/call.js';
import type { ServiceContext } from './context.js';

/** etcd's maxNoLeaderCnt. */
const MAX_NO_LEADER_COUNT = 3;

type AnyCall = ServerCall<unknown, unknown>;

export class StreamGuard {
  private readonly watched = new Set<AnyCall>();
  private timer: NodeJS.Timeout | null = null;
  private noLeader = 0;

  constructor(private readonly ctx: ServiceContext) {}

  /** Checks a new stream; false when it was refused (and finished). */
  admit(call: ServerCall<never, never> | AnyCall): boolean {
    const s = this.ctx.member;
    const c = call as AnyCall;
    if (s.isLearner) {
      c.finish(etcdError('NotSupportedForLearner'));
      return false;
    }
    if (c.metadata('hasleader') !== 'true') return true;
    if (s.leader === 0n) {
      c.finish(etcdError('NoLeader'));
      return false;
    }
    this.watched.add(c);
    this.start();
    return true;
  }

  /** The stream ended. */
  release(call: ServerCall<never, never> | AnyCall): void {
    this.watched.delete(call as AnyCall);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watched.clear();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.ctx.leases.electionTimeoutMs);
    this.timer.unref();
  }

  private check(): void {
    if (this.ctx.member.leader === 0n) this.noLeader++;
    else this.noLeader = 0;
    if (this.noLeader >= MAX_NO_LEADER_COUNT) {
      for (const c of [...this.watched]) c.finish(etcdError('NoLeader'));
      this.watched.clear();
    }
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.noLeader = 0;
    }
  }
}
