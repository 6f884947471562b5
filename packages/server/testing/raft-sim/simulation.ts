// A deterministic cluster simulator. Everything (timings, faults, client load, node tuning) is drawn
// from one seeded generator, so a run is a pure function of its options and replays exactly.
//
// A run has two phases. Chaos: clients write, read, transfer leadership and (optionally) change
// membership, while the network drops, delays, reorders and duplicates messages, partitions nodes
// (symmetrically or in one direction) and nodes crash, losing what the Ready contract had not made
// durable. Heal: faults stop, crashed members restart, removed ones stop; the cluster must then
// elect a leader and commit a fresh entry on every member within a bound.
// The Checker verifies the invariants as the run unfolds.

import { type Logger, silentLogger } from '../../src/raft/config.js';
import { ProposalDroppedError } from '../../src/raft/errors.js';
import {
  ConfChangeType,
  EntryType,
  type Message,
  MessageType,
  type NodeId,
  StateRole,
  EMPTY_BYTES,
} from '../../src/raft/types.js';
import { describeMessage } from '../../src/raft/util.js';
import { Checker } from './checker.js';
import { EventQueue } from './event-queue.js';
import { Rng } from './rng.js';
import type { SimOptions, SimResult, SimStats } from './options.js';
import { type NodeTuning, SimNode } from './sim-node.js';

export {
  DEFAULT_SIM,
  type Profile,
  profileFor,
  replayCommand,
  type SimOptions,
  type SimResult,
  type SimStats,
} from './options.js';

interface Block {
  from: Set<NodeId>;
  to: Set<NodeId>;
  until: number;
}

const enc = new TextEncoder();

export class Simulation {
  readonly opts: SimOptions;
  readonly rng: Rng;
  readonly checker = new Checker();
  readonly nodes = new Map<NodeId, SimNode>();
  private readonly queue = new EventQueue();
  private now = 0;
  private readonly tuning: NodeTuning;
  private readonly tickPeriod = new Map<NodeId, number>();
  private blocks: Block[] = [];
  private dropRate: number;
  private dupRate: number;
  private longDelayRate: number;
  private healing = false;
  private nextId: number;
  private seq = 0;
  private readonly founders: { voters: NodeId[]; learners: NodeId[] };
  private readonly everMember = new Set<NodeId>();
  private readonly removalProposed = new Set<NodeId>();
  private markerApplied = new Set<NodeId>();
  private marker = '';
  private readonly logger: Logger;
  readonly stats: SimStats = {
    events: 0,
    elections: 0,
    maxCommitted: 0,
    readsChecked: 0,
    readsServed: 0,
    crashes: 0,
    partitions: 0,
    snapshotsSent: 0,
    proposalsDropped: 0,
    confChanges: 0,
    recoveryMs: -1,
  };

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = new Rng(opts.seed);
    const r = this.rng;
    const maxSizePerMsg = r.pick([0, 40, 200, 1 << 20]);
    this.tuning = {
      electionTick: 10,
      heartbeatTick: r.pick([1, 1, 2, 3]),
      preVote: r.chance(0.5),
      checkQuorum: r.chance(0.5),
      maxSizePerMsg,
      maxInflightMsgs: r.pick([1, 2, 4, 256]),
      maxInflightBytes: maxSizePerMsg <= 400 && r.chance(0.3) ? 400 : 0,
      maxUncommittedEntriesSize: r.chance(0.2) ? 100 : 0,
      maxCommittedSizePerReady: r.chance(0.2) ? 60 : 0,
      snapshotEvery: r.pick([0, 4, 12, 40]),
      compactKeep: r.pick([0, 1, 5]),
    };
    this.dropRate = r.pick([0, 0.01, 0.05, 0.15]);
    this.dupRate = r.pick([0, 0.01, 0.05]);
    this.longDelayRate = r.pick([0, 0.02, 0.1]);
    this.logger = opts.trace ? this.traceLogger(opts.trace) : silentLogger;
    const ids = Array.from({ length: opts.voters + opts.learners }, (_, i) => BigInt(i + 1));
    this.founders = { voters: ids.slice(0, opts.voters), learners: ids.slice(opts.voters) };
    this.nextId = ids.length + 1;
    for (const id of ids) this.addNode(id, true);
  }

  private traceLogger(out: (line: string) => void): Logger {
    const line = (lvl: string) => (msg: string) => out(`${String(this.now).padStart(6)} ${lvl} ${msg}`);
    return { debug: () => {}, info: line('I'), warn: line('W'), error: line('E') };
  }

  private trace(msg: string): void {
    this.opts.trace?.(`${String(this.now).padStart(6)} - ${msg}`);
  }

  private addNode(id: NodeId, founder: boolean): SimNode {
    const n = new SimNode(id);
    this.nodes.set(id, n);
    this.tickPeriod.set(id, this.rng.range(8, 12));
    this.startNode(n, founder);
    return n;
  }

  private startNode(n: SimNode, founder = this.isFounder(n.id)): void {
    n.start(this.tuning, this.rng, this.checker, this.logger, founder ? this.founders : null);
    n.onApplied = (e) => {
      if (
        this.marker &&
        e.type === EntryType.Normal &&
        e.data.length > 0 &&
        new TextDecoder().decode(e.data) === this.marker
      ) {
        this.markerApplied.add(n.id);
      }
    };
    this.trace(`start ${n.id} (incarnation ${n.incarnation})`);
    this.scheduleTick(n);
    this.kick(n);
  }

  private isFounder(id: NodeId): boolean {
    return this.founders.voters.includes(id) || this.founders.learners.includes(id);
  }

  // --- scheduling --------------------------------------------------------------------------

  private at(delay: number, run: () => void): void {
    this.queue.push(this.now + delay, run);
  }

  private onNode(n: SimNode, delay: number, run: () => void): void {
    const inc = n.incarnation;
    this.at(delay, () => {
      if (n.alive && n.incarnation === inc) run();
    });
  }

  private scheduleTick(n: SimNode): void {
    this.onNode(n, this.tickPeriod.get(n.id)!, () => {
      n.raw.tick();
      this.kick(n);
      this.scheduleTick(n);
    });
  }

  /** Schedules Ready handling for n if it has work and none is under way. */
  private kick(n: SimNode): void {
    if (!n.alive || n.inFlight || n.readyScheduled || !n.raw.hasReady()) return;
    n.readyScheduled = true;
    this.onNode(n, this.rng.int(2), () => this.processReady(n));
  }

  private processReady(n: SimNode): void {
    n.readyScheduled = false;
    if (!n.raw.hasReady()) return;
    const rd = n.takeReady();
    const leader = rd.softState.role === StateRole.Leader;
    if (leader) this.send(n, rd.messages);
    const latency = this.rng.chance(0.1) ? this.rng.range(5, 20) : this.rng.range(0, 3);
    this.onNode(n, latency, () => {
      n.finishReady(rd, this.checker, this.tuning);
      if (!leader) this.send(n, rd.messages);
      if (n.removedAt >= 0 && !n.retireScheduled) {
        n.retireScheduled = true;
        this.at(this.rng.range(50, 300), () => this.tryRetire(n));
      }
      this.kick(n);
    });
  }

  /**
   * A removed server shuts down, but (like a careful operator) only once every voter of the latest
   * configuration has applied it: with apply-time membership, a voter that has not learned that the
   * change committed may still need the removed server's vote (e.g. going from two voters to one).
   */
  private canRetire(): boolean {
    const cfg = this.checker.latestConfig();
    if (!cfg) return false;
    for (const v of cfg.voters) {
      const n = this.nodes.get(v);
      if (!n?.alive || n.appliedIndex < cfg.index) return false;
    }
    return true;
  }

  private tryRetire(n: SimNode): void {
    if (n.retired) return;
    if (this.canRetire()) this.retire(n);
    else this.at(this.rng.range(50, 300), () => this.tryRetire(n));
  }

  private retire(n: SimNode): void {
    if (n.retired) return;
    this.trace(`retire ${n.id}`);
    n.alive = false;
    n.retired = true;
    n.incarnation++;
  }

  // --- network -----------------------------------------------------------------------------

  private blocked(from: NodeId, to: NodeId): boolean {
    for (const b of this.blocks) if (b.until > this.now && b.from.has(from) && b.to.has(to)) return true;
    return false;
  }

  private send(from: SimNode, msgs: Message[]): void {
    const inc = from.incarnation;
    for (const m of msgs) {
      const dropped = this.blocked(m.from, m.to) || (!this.healing && this.rng.chance(this.dropRate));
      if (dropped) {
        this.trace(`drop ${describeMessage(m)}`);
        if (m.type === MessageType.Snap)
          this.onNode(from, this.rng.range(1, 20), () => from.raw.reportSnapshot(m.to, false));
        else if (this.rng.chance(0.2)) this.onNode(from, this.rng.range(1, 5), () => from.raw.reportUnreachable(m.to));
        continue;
      }
      this.at(this.delay(), () => this.deliver(m, from, inc));
      if (!this.healing && this.rng.chance(this.dupRate)) this.at(this.delay(), () => this.deliver(m, from, inc));
    }
  }

  private delay(): number {
    if (!this.healing && this.rng.chance(this.longDelayRate)) return this.rng.range(10, 80);
    return this.rng.range(1, 4);
  }

  private deliver(m: Message, from: SimNode, fromInc: number): void {
    const to = this.nodes.get(m.to);
    const ok = to?.alive === true;
    if (m.type === MessageType.Snap) {
      if (ok) this.stats.snapshotsSent++;
      if (from.alive && from.incarnation === fromInc) {
        from.raw.reportSnapshot(m.to, ok);
        this.kick(from);
      }
    }
    if (!ok) return;
    this.trace(`recv ${describeMessage(m)}`);
    // Each delivery gets its own copy, as from a real transport.
    to.raw.step({ ...m, entries: m.entries.slice() });
    this.kick(to);
  }

  // --- clients -----------------------------------------------------------------------------

  private alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.isLeader && (!best || n.raw.term > best.raw.term)) best = n;
    }
    return best;
  }

  private clientOp(): void {
    const nodes = this.alive();
    if (nodes.length > 0) {
      const n = this.rng.pick(nodes);
      const p = this.rng.next();
      try {
        if (p < 0.6) {
          n.raw.propose(enc.encode(`p${this.seq++}`));
        } else if (p < 0.7) {
          n.raw.proposeBatch(Array.from({ length: this.rng.range(2, 6) }, () => enc.encode(`p${this.seq++}`)));
        } else if (p < 0.93) {
          const ctx = `r${this.seq++}`;
          n.raw.readIndex(enc.encode(ctx));
          n.reads.set(ctx, { ctx, floor: this.checker.maxApplied });
        } else if (p < 0.97) {
          const l = this.leader();
          const voters = l ? l.raw.basicStatus().config.voters : [];
          if (l && voters.length > 1) {
            const to = this.rng.pick(voters);
            this.trace(`transfer leadership ${l.id} -> ${to}`);
            l.raw.transferLeadership(to);
            this.kick(l);
          }
        } else if (p < 0.985) {
          // what a server does when its leader's process seems gone (fast failover); here at any
          // time, the leader alive or not: safety must not depend on it
          this.trace(`forget leader ${n.id}`);
          n.raw.forgetLeader();
        } else {
          this.trace(`campaign ${n.id}`);
          n.raw.campaign();
        }
      } catch (err) {
        if (!(err instanceof ProposalDroppedError)) throw err;
        this.stats.proposalsDropped++;
      }
      this.kick(n);
    }
    if (!this.healing) this.at(this.rng.range(2, 15), () => this.clientOp());
  }

  private membershipOp(): void {
    if (this.healing) return;
    this.at(this.rng.range(40, 250), () => this.membershipOp());
    const cfg = this.checker.latestConfig();
    const nodes = this.alive();
    if (!cfg || nodes.length === 0) return;
    // Like etcd, never re-add a member once its removal was proposed (its server may be gone).
    const voters = [...cfg.voters].filter((id) => !this.removalProposed.has(id));
    const learners = [...cfg.learners].filter((id) => !this.removalProposed.has(id));
    const choices: (() => [ConfChangeType, NodeId] | undefined)[] = [];
    if (this.nodes.size < 10 && voters.length + learners.length < 7) {
      choices.push(() => [ConfChangeType.AddLearnerNode, this.spawn()]);
      if (voters.length < 5) choices.push(() => [ConfChangeType.AddNode, this.spawn()]);
    }
    if (learners.length > 0 && voters.length < 5) choices.push(() => [ConfChangeType.AddNode, this.rng.pick(learners)]);
    if (voters.length > 1) {
      choices.push(() => [ConfChangeType.RemoveNode, this.rng.pick(voters)]);
      choices.push(() => [ConfChangeType.AddLearnerNode, this.rng.pick(voters)]);
    }
    if (learners.length > 0) choices.push(() => [ConfChangeType.RemoveNode, this.rng.pick(learners)]);
    if (choices.length === 0) return;
    const change = this.rng.pick(choices)();
    if (!change) return;
    const [type, nodeId] = change;
    if (type === ConfChangeType.RemoveNode) this.removalProposed.add(nodeId);
    const via = this.rng.pick(nodes.filter((n) => n.alive));
    this.trace(`propose conf change ${ConfChangeType[type]} ${nodeId} via ${via.id}`);
    try {
      via.raw.proposeConfChange({ type, nodeId, context: EMPTY_BYTES, id: BigInt(this.seq++) });
      this.stats.confChanges++;
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.stats.proposalsDropped++;
    }
    this.kick(via);
  }

  /** Starts a fresh, empty server that a membership change is about to add. */
  private spawn(): NodeId {
    const id = BigInt(this.nextId++);
    this.addNode(id, false);
    return id;
  }

  // --- faults ------------------------------------------------------------------------------

  private fault(): void {
    if (this.healing) return;
    this.at(this.rng.range(50, 300), () => this.fault());
    const live = this.alive();
    if (live.length === 0) return;
    const duration = this.rng.range(30, 400);
    const kind = this.rng.int(6);
    const ids = [...this.nodes.keys()];
    if (kind <= 1) {
      // Symmetric (kind 0) or one-way (kind 1) partition between two random groups.
      const a = new Set(ids.filter(() => this.rng.chance(0.5)));
      const b = new Set(ids.filter((id) => !a.has(id)));
      this.blocks.push({ from: a, to: b, until: this.now + duration });
      if (kind === 0) this.blocks.push({ from: b, to: a, until: this.now + duration });
      this.stats.partitions++;
      this.trace(`partition [${[...a]}] ${kind === 0 ? '<->' : '->'} [${[...b]}] for ${duration}ms`);
    } else if (kind === 2) {
      const l = this.leader() ?? this.rng.pick(live);
      const rest = new Set(ids.filter((id) => id !== l.id));
      const one = new Set([l.id]);
      this.blocks.push({ from: one, to: rest, until: this.now + duration });
      if (this.rng.chance(0.5)) this.blocks.push({ from: rest, to: one, until: this.now + duration });
      this.stats.partitions++;
      this.trace(`isolate ${l.id} for ${duration}ms`);
    } else if (kind <= 4) {
      const victim = kind === 3 ? (this.leader() ?? this.rng.pick(live)) : this.rng.pick(live);
      this.crash(victim, duration);
    } else {
      this.blocks = [];
      this.trace('heal partitions');
    }
  }

  private crash(n: SimNode, downFor: number): void {
    this.stats.crashes++;
    this.trace(`crash ${n.id} for ${downFor}ms`);
    n.crash(this.rng);
    this.at(downFor, () => {
      if (!n.alive && !n.retired && !this.healing) this.startNode(n);
    });
  }

  // --- the run -----------------------------------------------------------------------------

  private runUntil(end: number, stop?: () => boolean): boolean {
    for (;;) {
      const t = this.queue.peekTime();
      if (t === undefined || t > end) {
        this.now = end;
        return false;
      }
      const ev = this.queue.pop()!;
      this.now = ev.time;
      ev.run();
      this.stats.events++;
      if (stop?.()) return true;
    }
  }

  private members(): NodeId[] {
    const cfg = this.checker.latestConfig();
    return cfg ? [...cfg.voters, ...cfg.learners] : [];
  }

  private retireRemoved(): void {
    for (const c of this.checker.configs) for (const id of [...c.voters, ...c.learners]) this.everMember.add(id);
    const members = new Set(this.members());
    if (!this.canRetire()) return;
    for (const n of this.nodes.values()) {
      if (!n.retired && this.everMember.has(n.id) && !members.has(n.id)) this.retire(n);
    }
  }

  run(): SimResult {
    try {
      this.at(this.rng.range(0, 20), () => this.clientOp());
      this.at(this.rng.range(20, 200), () => this.fault());
      if (this.opts.membership) this.at(this.rng.range(100, 300), () => this.membershipOp());
      this.runUntil(this.opts.chaosMs);
      this.heal();
    } catch (err) {
      return this.result(err);
    }
    return this.result(undefined);
  }

  private heal(): void {
    this.healing = true;
    this.blocks = [];
    const healedAt = this.now;
    this.trace('=== heal ===');
    this.retireRemoved();
    for (const n of this.nodes.values()) if (!n.alive && !n.retired) this.startNode(n);
    this.marker = `marker-${this.opts.seed}`;
    let proposedAt = -Infinity;
    const deadline = healedAt + this.opts.healBoundMs;
    const done = () => {
      const members = this.members();
      return members.length > 0 && members.every((id) => this.markerApplied.has(id));
    };
    while (this.now < deadline) {
      this.retireRemoved();
      const l = this.leader();
      if (l && this.now - proposedAt > 500 && l.raw.basicStatus().config.voters.includes(l.id)) {
        try {
          l.raw.propose(enc.encode(this.marker));
          proposedAt = this.now;
          this.kick(l);
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
      }
      if (this.runUntil(Math.min(deadline, this.now + 20), done)) {
        this.stats.recoveryMs = this.now - healedAt;
        return;
      }
    }
    const status = [...this.nodes.values()]
      .filter((n) => !n.retired)
      .map(
        (n) =>
          `${n.id}:${n.alive ? StateRole[n.raw.role] : 'down'}@t${n.alive ? n.raw.term : '-'} applied=${n.appliedIndex}`,
      )
      .join(' ');
    throw new Error(
      `liveness: no entry committed on all members [${this.members()}] within ${this.opts.healBoundMs}ms of healing (${status})`,
    );
  }

  private result(err: unknown): SimResult {
    const s = this.stats;
    s.elections = this.checker.elections;
    s.maxCommitted = this.checker.maxCommitted;
    s.readsChecked = this.checker.readsChecked;
    s.readsServed = [...this.nodes.values()].reduce((a, n) => a + n.readsServed, 0);
    if (err === undefined) return { options: this.opts, ok: true, stats: s };
    const error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    return { options: this.opts, ok: false, error: `at ${this.now}ms: ${error}`, stats: s };
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
