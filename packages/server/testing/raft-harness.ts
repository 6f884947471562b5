// Test helpers (not part of the public surface): a node driven exactly as the server drives it,
// and a synchronous in-memory network of such nodes with filters for drops and partitions.

import { decodeConfChange } from '../src/raft/codec.js';
import type { Config } from '../src/raft/config.js';
import { RawNode, type Ready } from '../src/raft/raw-node.js';
import { MemoryStorage } from '../src/raft/storage.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  type ReadState,
  StateRole,
} from '../src/raft/types.js';

export interface TestNodeOptions extends Partial<Omit<Config, 'id' | 'storage'>> {
  storage?: MemoryStorage;
  learners?: NodeId[];
  /**
   * Start from empty storage and bootstrap() the membership as log entries 1..n, as a new
   * cluster's founders do (so that members added later learn it). Otherwise the membership is
   * the storage's initial ConfState.
   */
  bootstrap?: boolean;
}

export class TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly node: RawNode;
  /** Every entry applied, in order (normal and conf change). */
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  confState: ConfState;
  /** Every Ready handled, in order. */
  readonly readies: Ready[] = [];

  constructor(id: NodeId, peers: NodeId[], opts: TestNodeOptions = {}) {
    this.id = id;
    const { storage, learners, bootstrap, ...rest } = opts;
    this.storage =
      storage ?? (bootstrap ? new MemoryStorage() : new MemoryStorage({ voters: peers, learners: learners ?? [] }));
    this.confState = this.storage.initialState().confState;
    let seed = Number(id) * 7919;
    this.node = new RawNode({
      id,
      storage: this.storage,
      electionTick: 10,
      heartbeatTick: 1,
      random: () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      },
      ...rest,
    });
    if (bootstrap) {
      this.node.bootstrap(peers, learners ?? []);
      this.drain();
    }
  }

  get raft() {
    return RawNode.internals(this.node);
  }

  get role(): StateRole {
    return this.node.role;
  }

  get term(): number {
    return this.node.term;
  }

  /** Handles every pending Ready as the server would; returns the messages to send. */
  drain(): Message[] {
    const out: Message[] = [];
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      this.readies.push(rd);
      if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
      if (rd.hardState) this.storage.setHardState(rd.hardState);
      this.storage.append(rd.entries);
      for (const m of rd.messages) out.push(m);
      if (rd.snapshot) this.confState = rd.snapshot.metadata.confState;
      for (const e of rd.committedEntries) {
        this.applied.push(e);
        if (e.type === EntryType.ConfChange) this.confState = this.node.applyConfChange(decodeConfChange(e.data));
      }
      for (const rs of rd.readStates) this.readStates.push(rs);
      this.node.advance(rd);
    }
    return out;
  }

  /** Applied normal entries with a payload, as strings. */
  appliedData(): string[] {
    return this.applied
      .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export type MessageFilter = (m: Message) => boolean;

export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages for which any filter returns true are dropped. */
  filters: MessageFilter[] = [];
  /** Rewrites a message before delivery (return null to drop it). */
  transform: ((m: Message) => Message | null) | null = null;
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];

  constructor(ids: NodeId[], opts: TestNodeOptions = {}, perNode: (id: NodeId) => TestNodeOptions = () => ({})) {
    const learners = opts.learners ?? [];
    const voters = ids.filter((id) => !learners.includes(id));
    for (const id of ids) this.nodes.set(id, new TestNode(id, voters, { ...opts, ...perNode(id) }));
  }

  /** A network of `ids` whose node 1 campaigned and won (the start of most scenarios). */
  static withLeader(ids: NodeId[], opts: TestNodeOptions = {}): TestNetwork {
    const net = new TestNetwork(ids, opts);
    net.elect(1n);
    return net;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  add(n: TestNode): void {
    this.nodes.set(n.id, n);
  }

  isolate(id: NodeId): void {
    this.filters.push((m) => m.from === id || m.to === id);
  }

  cut(a: NodeId, b: NodeId): void {
    this.filters.push((m) => (m.from === a && m.to === b) || (m.from === b && m.to === a));
  }

  heal(): void {
    this.filters = [];
    this.transform = null;
  }

  /** Delivers messages (and their consequences) until every node is quiet. */
  stabilize(extra: Message[] = []): void {
    let queue = extra.slice();
    for (let round = 0; round < 10_000; round++) {
      for (const n of this.nodes.values()) for (const m of n.drain()) queue.push(m);
      if (queue.length === 0) return;
      const batch = queue;
      queue = [];
      for (const orig of batch) {
        if (this.filters.some((f) => f(orig))) continue;
        const m = this.transform ? this.transform(orig) : orig;
        if (!m) continue;
        const to = this.nodes.get(m.to);
        if (!to) continue;
        this.delivered.push(m);
        to.node.step(m);
      }
    }
    throw new Error('network did not stabilize');
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.node.tick();
      this.stabilize();
    }
  }

  /** Campaign on `id` and let the election finish. */
  elect(id: NodeId): void {
    this.node(id).node.campaign();
    this.stabilize();
  }

  leader(): TestNode | undefined {
    let found: TestNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.role === StateRole.Leader && (!found || n.term > found.term)) found = n;
    }
    return found;
  }

  propose(id: NodeId, data: string): void {
    this.node(id).node.propose(new TextEncoder().encode(data));
    this.stabilize();
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
