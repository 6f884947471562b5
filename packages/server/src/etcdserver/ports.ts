// The narrow interfaces ("ports") through which a member's parts use the member: leases, auth,
// alarms, services and the HTTP endpoints are built with the ports they need, never with the whole
// EtcdServer (which implements them all). As in etcd, where the lessor and the auth store never see
// EtcdServer and the RPC layer sees RaftKV / Lessor / Authenticator.

import type { ConfChangeType } from '../raft/types.js';
import type { Member, Membership } from './membership.js';
import type { RequestKind } from './raft-request.js';

export interface ProposeOptions {
  /** The authenticated user (auth checks at apply time), '' when auth is off. */
  username?: string;
  authRevision?: number;
  /** The caller's cancellation (client cancel or deadline). */
  signal?: AbortSignal;
  /** The same as `signal`, from a call that reports cancellation without an AbortSignal (cheaper). */
  cancel?: { onCancel(cb: (reason: unknown) => void): void };
}

/** Puts a request through Raft and resolves with its apply outcome on this member. */
export interface Proposer {
  /** Rejects with etcd's errors: "request is too large", "request timed out", "server stopped". */
  propose<T>(kind: RequestKind, body: Uint8Array, opts?: ProposeOptions): Promise<T>;
}

/** Linearizable reads: resolves once this member applied everything committed before the call. */
export interface ReadBarrier {
  linearizableRead(): Promise<void>;
}

/** Who this member is and who leads, with events when that changes. */
export interface LeaderState {
  readonly memberId: bigint;
  /** The leader's ID, 0n when there is none. */
  readonly leader: bigint;
  readonly isLeader: boolean;
  /** The current Raft term. */
  readonly term: number;
  /** Resolves once a leader is known (immediately if there is one). */
  waitLeader(): Promise<void>;
  /** Calls `listener(lead, isLeader)` whenever the leader or this member's leadership changes; returns an unsubscribe. */
  onLeaderChange(listener: (lead: bigint, isLeader: boolean) => void): () => void;
}

/** How far this member's state machine is. */
export interface ApplyProgress {
  /** Index of the last entry applied here. */
  readonly appliedIndex: number;
  /** The highest index Raft knows to be committed. */
  readonly committedIndex: number;
}

/** A request another member forwarded to this one: its body in, the answer out. */
export type ForwardHandler = (body: Buffer) => Promise<Buffer>;

/** Member-to-leader requests outside Raft (lease keep-alives, learner promotion), by route. */
export interface ForwardRoutes {
  /** Serves `path` when other members forward requests to this one (one handler per path). */
  handle(path: string, handler: ForwardHandler): void;
  /**
   * Sends a request to the leader's `path` and returns its answer. Errors the leader answered with
   * come back as etcd errors; an unreachable or unknown leader as "no leader".
   */
  forwardToLeader(path: string, body: Uint8Array, timeoutMs?: number): Promise<Buffer>;
}

/** This member as clients see it: who it is, who leads, how far it is (headers, Status, health). */
export interface MemberStatus extends LeaderState, ApplyProgress {
  readonly clusterId: bigint;
  /** Is this member a learner (non-voting)? */
  readonly isLearner: boolean;
}

/** Membership changes and leadership transfer (the Cluster and Maintenance services). */
export interface ClusterControl {
  readonly membership: Pick<Membership, 'get' | 'list' | 'isRemoved'>;
  /**
   * Proposes a membership change and resolves once it is applied on this member (rejects with etcd's
   * errors: member exists, peer URLs exist, member not found; timeouts as other proposals).
   */
  proposeConfChange(type: ConfChangeType, nodeId: bigint, context: Member | null): Promise<void>;
  /** Hands leadership to `target` (a voting member) and waits until it leads (etcd's MoveLeader). */
  moveLeader(target: bigint): Promise<void>;
  /** Is the peer stream to member `id` up (etcd's "started members" checks)? */
  isPeerActive(id: bigint): boolean;
  /** How much of the leader's log each member has (on the leader; null elsewhere). */
  replicationProgress(): ReadonlyMap<bigint, { readonly match: number }> | null;
}
