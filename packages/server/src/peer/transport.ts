// The peer transport: one sender per remote member (kept in step with the membership), the peer
// listener, and the fault hook. The EtcdServer hands it each Ready's messages.

import type { ConnectionOptions } from 'node:tls';
import type { Message } from '../raft/types.js';
import type { Member } from '../etcdserver/membership.js';
import { PeerFaults } from './faults.js';
import { PeerSender, type SenderDeps } from './sender.js';

export interface TransportDeps extends Omit<SenderDeps, 'tls'> {
  tls?: ConnectionOptions;
}

export class PeerTransport {
  private readonly senders = new Map<bigint, PeerSender>();
  readonly faults: PeerFaults;

  constructor(private readonly deps: TransportDeps) {
    this.faults = new PeerFaults();
  }

  /** Brings the set of senders in line with the members (other than this one). */
  syncMembers(members: readonly Member[]): void {
    const want = new Map(
      members.filter((m) => m.id !== this.deps.localId && m.peerUrls.length > 0).map((m) => [m.id, m]),
    );
    for (const [id, s] of this.senders) {
      if (!want.has(id)) {
        s.stop();
        this.senders.delete(id);
      }
    }
    for (const [id, m] of want) {
      const s = this.senders.get(id);
      if (!s) this.senders.set(id, new PeerSender(id, m.peerUrls, { ...this.deps, tls: this.deps.tls }));
      else if (s.peerUrls.join(',') !== m.peerUrls.join(',')) s.updateUrls(m.peerUrls);
    }
  }

  send(messages: Message[]): void {
    if (messages.length === 0) return;
    const delay = this.faults.delayMs;
    if (delay > 0) {
      setTimeout(() => this.sendNow(messages), delay).unref();
      return;
    }
    this.sendNow(messages);
  }

  private sendNow(messages: Message[]): void {
    const byPeer = new Map<bigint, Message[]>();
    const dropped: Message[] = [];
    for (const m of messages) {
      if (this.faults.blocked(m.to)) {
        dropped.push(m);
        continue;
      }
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byPeer) {
      const s = this.senders.get(to);
      if (s) s.send(list);
      else {
        this.deps.reportUnreachable(to);
        dropped.push(...list);
      }
    }
    if (dropped.length) this.deps.onDropped?.(dropped);
  }

  /** Each remote member with a sender, and whether its stream is up (etcd_network_active_peers). */
  *peers(): Iterable<[bigint, boolean]> {
    for (const [id, s] of this.senders) yield [id, s.isConnected];
  }

  /** Is the stream to this member up (for etcd's "started members" checks)? */
  isActive(id: bigint): boolean {
    return this.senders.get(id)?.isConnected ?? false;
  }

  sender(id: bigint): PeerSender | undefined {
    return this.senders.get(id);
  }

  stop(): void {
    for (const s of this.senders.values()) s.stop();
    this.senders.clear();
    this.faults.stop();
  }
}
