// etcdserverpb.Cluster: MemberList, MemberAdd (voter or learner), MemberRemove, MemberUpdate and
// MemberPromote, with etcd's checks (--strict-reconfig-check, learner limits and readiness) and errors.

import {
  etcdError,
  EtcdErrors,
  type etcdserverpb,
  GrpcCode,
  GrpcStatusError,
  type PartialMessage,
} from '@conclave/api';
import { parseUrlList } from '../config/index.js';
import { computeMemberId } from '../etcdserver/ids.js';
import type { Member } from '../etcdserver/membership.js';
import type { ClusterControl, LeaderState } from '../etcdserver/ports.js';
import { ConfChangeType } from '../raft/index.js';
import type { CallContext } from '../grpc/call.js';
import type { ServiceHandlers } from '../grpc/grpc-server.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, header, type ServiceContext } from './context.js';

/** etcd 3.4 allows one learner at a time. */
const MAX_LEARNERS = 1;
/** A learner may be promoted once it has at least this share of the leader's log (etcd: 90%). */
const LEARNER_READY_PERCENT = 0.9;
const PROMOTE_ROUTE = '/members/promote';
/** Pause between attempts to reach a leader that did not answer a forwarded promotion. */
const PROMOTE_RETRY_MS = 100;

export function toPbMember(m: Member): PartialMessage<etcdserverpb.Member> {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

function peerUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) throw etcdError('MemberBadURLs');
  try {
    return parseUrlList(urls.join(',')).map((u) => u.href);
  } catch {
    throw etcdError('MemberBadURLs');
  }
}

const voters = (c: ClusterControl): Member[] => c.membership.list().filter((m) => !m.isLearner);
const started = (m: Member): boolean => m.name !== '';
/** Is `m` this member (`me`) or connected to it? */
const connected = (c: ClusterControl, me: bigint, m: Member): boolean => m.id === me || c.isPeerActive(m.id);

/**
 * etcd's ErrNotEnoughStartedMembers: its gRPC layer has no mapping for it, so it reaches the client
 * as a plain error (code UNKNOWN) with the text clients match on.
 */
const notEnoughStarted = (): GrpcStatusError =>
  new GrpcStatusError(GrpcCode.UNKNOWN, EtcdErrors.MemberNotEnoughStarted.message);

/** etcd's IsReadyToAddVotingMember + isConnectedFullySince. */
function mayAddVoter(c: ClusterControl, me: bigint): void {
  const vs = voters(c);
  const nmembers = vs.length + 1;
  const nstarted = vs.filter(started).length;
  if (!(nstarted === 1 && nmembers === 2) && nstarted < Math.floor(nmembers / 2) + 1) throw notEnoughStarted();
  if (!vs.every((m) => connected(c, me, m))) throw etcdError('Unhealthy');
}

/** etcd's mayRemoveMember (`id` may name no member: etcd checks before the change is applied). */
function mayRemoveVoter(c: ClusterControl, me: bigint, id: bigint): void {
  const vs = voters(c);
  const rest = vs.filter((m) => m.id !== id);
  const nstarted = rest.filter(started).length;
  if (nstarted < Math.floor(rest.length / 2) + 1) throw notEnoughStarted();
  const target = vs.find((m) => m.id === id);
  // a member that is down (or unknown: never connected) is safe to remove
  if (id !== me && !(target && connected(c, me, target))) return;
  const active = vs.filter((m) => connected(c, me, m)).length;
  if (active - 1 < 1 + Math.floor((vs.length - 1) / 2)) throw etcdError('Unhealthy');
}

/** On the leader: the learner exists, is a learner, and has caught up with the leader. */
function checkPromotable(c: ClusterControl, me: bigint, id: bigint): void {
  const m = c.membership.get(id);
  if (!m) throw etcdError('MemberNotFound');
  if (!m.isLearner) throw etcdError('MemberNotLearner');
  const progress = c.replicationProgress();
  const leaderMatch = progress?.get(me)?.match ?? 0;
  const learnerMatch = progress?.get(id)?.match ?? 0;
  if (learnerMatch < leaderMatch * LEARNER_READY_PERCENT) throw etcdError('LearnerNotReady');
}

/** Resolves true once `m` knows a leader, false after `ms` or when the call is cancelled. */
function leaderWithin(m: LeaderState, ms: number, call: CallContext): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let off: (() => void) | undefined;
    const finish = (found: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off?.();
      resolve(found);
    };
    off = m.onLeaderChange((lead) => {
      if (lead !== 0n) finish(true);
    });
    timer = setTimeout(() => finish(false), ms);
    call.onCancel(() => finish(false));
    if (m.leader !== 0n) finish(true);
  });
}

/**
 * etcd's PromoteMember on a member that does not lead: it forwards the promotion to the leader,
 * waiting for one to be elected and retrying a leader that does not answer, until the request
 * timeout; then "no leader" if none was known, else "request timed out". The leader's refusals
 * come back at once.
 */
async function promoteThroughLeader(ctx: ServiceContext, body: Buffer, call: CallContext): Promise<void> {
  const deadline = performance.now() + (ctx.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0 || call.signal.aborted) throw etcdError('Timeout');
    if (ctx.member.leader === 0n) {
      if (!(await leaderWithin(ctx.member, left, call))) throw etcdError('NoLeader');
      continue;
    }
    try {
      await ctx.routes.forwardToLeader(PROMOTE_ROUTE, body, left);
      return;
    } catch (err) {
      // "no leader" here: the leader could not be reached (the leader's own answers are others)
      if (!(err instanceof GrpcStatusError) || err.message !== EtcdErrors.NoLeader.message) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(PROMOTE_RETRY_MS, Math.max(0, deadline - performance.now()))));
  }
}

export function clusterService(ctx: ServiceContext): ServiceHandlers<typeof etcdserverpb.ClusterService> {
  const { cluster: c, routes } = ctx;
  const me = ctx.member.memberId;
  const strict = ctx.strictReconfigCheck ?? true;
  // etcd's cluster service headers carry no revision.
  const members = () => ({ header: header(ctx, 0), members: c.membership.list().map(toPbMember) });

  // Promotion is decided by the leader (it knows the learner's progress); followers forward it.
  routes.handle(PROMOTE_ROUTE, async (body) => {
    const id = body.readBigUInt64BE(0);
    const promotions = ctx.metrics.server;
    try {
      checkPromotable(c, me, id);
    } catch (err) {
      const reason = (err as Error).message;
      promotions.learnerPromoteFailures.set(reason, (promotions.learnerPromoteFailures.get(reason) ?? 0) + 1);
      throw err;
    }
    const m = c.membership.get(id)!;
    await c.proposeConfChange(ConfChangeType.AddNode, id, { ...m, isLearner: false });
    promotions.learnerPromoteSuccesses++;
    return Buffer.alloc(0);
  });

  return {
    MemberList: async (req) => {
      if (req.linearizable) await ctx.reads.linearizableRead();
      return members();
    },
    MemberAdd: async (req) => {
      const urls = peerUrls(req.peerURLs);
      if (req.isLearner) {
        if (c.membership.list().filter((m) => m.isLearner).length >= MAX_LEARNERS) throw etcdError('TooManyLearners');
      } else if (strict) {
        mayAddVoter(c, me);
      }
      const id = computeMemberId(urls, '', Math.floor(Date.now() / 1000));
      const m: Member = { id, name: '', peerUrls: urls, clientUrls: [], isLearner: req.isLearner };
      await c.proposeConfChange(req.isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, m);
      return { ...members(), member: { ID: id, peerURLs: urls, isLearner: req.isLearner } };
    },
    // Remove and update go through Raft whether or not the member exists, as in etcd: an unknown ID
    // is refused when the change is applied ("member not found"), and the entry takes a raft index.
    MemberRemove: async (req) => {
      if (strict && !c.membership.get(req.ID)?.isLearner) mayRemoveVoter(c, me, req.ID);
      await c.proposeConfChange(ConfChangeType.RemoveNode, req.ID, null);
      return members();
    },
    MemberUpdate: async (req) => {
      const m = c.membership.get(req.ID);
      // etcd 3.5.30 does not parse the URLs of an update: it applies whatever it is given, and every
      // member applying a non-URL for another member panics in its peer transport ("failed NewURLs",
      // at each restart too). Conclave refuses it with etcd's MemberAdd error (docs/operator-flags.md).
      const update: Member = m
        ? { ...m, peerUrls: peerUrls(req.peerURLs) }
        : { id: req.ID, name: '', peerUrls: [...req.peerURLs], clientUrls: [], isLearner: false };
      await c.proposeConfChange(ConfChangeType.UpdateNode, req.ID, update);
      return members();
    },
    MemberPromote: async (req, call) => {
      const body = Buffer.alloc(8);
      body.writeBigUInt64BE(req.ID);
      await promoteThroughLeader(ctx, body, call);
      return members();
    },
  };
}
