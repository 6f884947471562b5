// Cluster membership as applied from the Raft log: members (ID, name, peer and client URLs,
// learner flag), removed member IDs, the cluster ID and version. Kept in memory and in the backend's
// `members`, `membersRemoved` and `meta` sub-databases, written in the same batch as the applied index.

import type { Backend } from '../storage/backend/index.js';
import { META } from '../storage/backend/index.js';

export interface Member {
  id: bigint;
  /** Empty until the member publishes its attributes. */
  name: string;
  peerUrls: string[];
  /** Empty until the member publishes its attributes. */
  clientUrls: string[];
  isLearner: boolean;
}

const idKey = (id: bigint): Buffer => {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(id);
  return b;
};

function encodeMember(m: Member): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: m.id.toString(16),
      name: m.name,
      peerURLs: m.peerUrls,
      clientURLs: m.clientUrls,
      isLearner: m.isLearner,
    }),
  );
}

function decodeMember(b: Buffer): Member {
  const o = JSON.parse(b.toString('utf8')) as {
    id: string;
    name: string;
    peerURLs: string[];
    clientURLs: string[];
    isLearner: boolean;
  };
  return {
    id: BigInt(`0x${o.id}`),
    name: o.name,
    peerUrls: o.peerURLs,
    clientUrls: o.clientURLs,
    isLearner: o.isLearner,
  };
}

export class Membership {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();
  clusterId = 0n;
  version = '';

  constructor(private readonly backend: Backend) {
    this.load();
  }

  /** (Re)reads everything from the backend (at start, and after a snapshot restore). */
  load(): void {
    this.members.clear();
    this.removed.clear();
    const dbs = this.backend.dbs;
    for (const { value } of dbs.members.getRange()) {
      const m = decodeMember(value);
      this.members.set(m.id, m);
    }
    for (const { key } of dbs.membersRemoved.getRange()) this.removed.add(key.readBigUInt64BE(0));
    const cid = this.backend.getMeta(META.clusterId);
    this.clusterId = cid ? cid.readBigUInt64BE(0) : 0n;
    this.version = this.backend.getMeta(META.clusterVersion)?.toString('utf8') ?? '';
  }

  get(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  /** Members sorted by ID, as etcd lists them. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  /** Inside a backend batch. */
  setClusterId(id: bigint): void {
    this.clusterId = id;
    this.backend.putMeta(META.clusterId, idKey(id));
  }

  /** Inside a backend batch. */
  setVersion(v: string): void {
    this.version = v;
    this.backend.putMeta(META.clusterVersion, Buffer.from(v, 'utf8'));
  }

  /** Adds or replaces a member. Inside a backend batch. */
  put(m: Member): void {
    this.members.set(m.id, m);
    this.backend.dbs.members.putSync(idKey(m.id), encodeMember(m));
  }

  /** A member published its name and client URLs (ignored for an unknown member). Inside a backend batch. */
  setAttributes(id: bigint, name: string, clientUrls: string[]): void {
    const m = this.members.get(id);
    if (m) this.put({ ...m, name, clientUrls });
  }

  /** Removes a member and remembers its ID as removed. Inside a backend batch. */
  remove(id: bigint): void {
    this.members.delete(id);
    this.removed.add(id);
    this.backend.dbs.members.removeSync(idKey(id));
    this.backend.dbs.membersRemoved.putSync(idKey(id), Buffer.from([1]));
  }
}
