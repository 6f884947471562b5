// The Cluster service: list, add (as voter or learner), remove, update peer URLs, promote learner.

import { etcdserverpb } from '@conclave/api';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import { callOptions, checkBool, checkInt, checkString, invalid } from '../util/validate.js';

function checkUrls(v: unknown, where: string): void {
  if (!Array.isArray(v) || v.length === 0) invalid(where, 'a non-empty array of URLs', v);
  for (const u of v) checkString(u, `${where}[]`, true);
}

const C = etcdserverpb.ClusterService;

/** A cluster member as MemberList reports it. */
export interface Member {
  id: bigint;
  /** Empty for a member added but not started yet. */
  name: string;
  peerURLs: string[];
  /** Empty for a member added but not started yet. */
  clientURLs: string[];
  isLearner: boolean;
}

/** @hidden A Member from its wire form. */
export function memberFrom(m: etcdserverpb.Member): Member {
  return { id: m.ID, name: m.name, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: m.isLearner };
}

/** The result of `cluster.list()`. */
export interface MemberList {
  clusterId: bigint;
  /** ID of the member that answered. */
  memberId: bigint;
  members: Member[];
}

/**
 * Cluster membership (`client.cluster`): list, add (as voter or learner), remove, update peer URLs, promote a
 * learner.
 */
export class ClusterApi {
  /** @internal Made by the client (`client.cluster`). */
  constructor(private readonly rpc: Rpc) {}

  /** Every member. `linearizable` (etcd 3.5+) reads it through Raft instead of the answering member's view. */
  async list(opts?: CallOptions & { linearizable?: boolean }): Promise<MemberList> {
    opts = callOptions(opts, 'cluster.list');
    if (opts.linearizable !== undefined) checkBool(opts.linearizable, 'cluster.list: options.linearizable');
    const res = await this.rpc.unary(
      C.MemberList,
      { linearizable: opts.linearizable ?? false },
      { ...opts, kind: 'read' },
    );
    return {
      clusterId: res.header?.clusterId ?? 0n,
      memberId: res.header?.memberId ?? 0n,
      members: res.members.map(memberFrom),
    };
  }

  /** Adds a member (start it afterwards with --initial-cluster-state existing). */
  async add(
    peerURLs: string[],
    opts?: CallOptions & { learner?: boolean },
  ): Promise<{ member: Member; members: Member[] }> {
    checkUrls(peerURLs, 'cluster.add: peerURLs');
    opts = callOptions(opts, 'cluster.add');
    const res = await this.rpc.unary(
      C.MemberAdd,
      { peerURLs, isLearner: opts.learner ?? false },
      { ...opts, kind: 'write' },
    );
    if (!res.member) throw new TypeError('MemberAdd response without the added member');
    return { member: memberFrom(res.member), members: res.members.map(memberFrom) };
  }

  /** Removes member `id`; resolves with the members left. */
  async remove(id: bigint, opts?: CallOptions): Promise<Member[]> {
    checkInt(id, 'cluster.remove: id', 1, true);
    opts = callOptions(opts, 'cluster.remove');
    const res = await this.rpc.unary(C.MemberRemove, { ID: id }, { ...opts, kind: 'write' });
    return res.members.map(memberFrom);
  }

  /** Replaces the peer URLs of member `id`; resolves with the members. */
  async update(id: bigint, peerURLs: string[], opts?: CallOptions): Promise<Member[]> {
    checkInt(id, 'cluster.update: id', 1, true);
    checkUrls(peerURLs, 'cluster.update: peerURLs');
    opts = callOptions(opts, 'cluster.update');
    const res = await this.rpc.unary(C.MemberUpdate, { ID: id, peerURLs }, { ...opts, kind: 'write' });
    return res.members.map(memberFrom);
  }

  /** Promotes a learner to a voting member (it must have caught up with the leader). */
  async promote(id: bigint, opts?: CallOptions): Promise<Member[]> {
    checkInt(id, 'cluster.promote: id', 1, true);
    opts = callOptions(opts, 'cluster.promote');
    const res = await this.rpc.unary(C.MemberPromote, { ID: id }, { ...opts, kind: 'write' });
    return res.members.map(memberFrom);
  }
}
