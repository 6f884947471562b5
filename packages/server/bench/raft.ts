// Throughput of the Raft core, without disk or network: a 3-node cluster in one process whose
// nodes persist to MemoryStorage and exchange messages directly (optionally through the binary
// codec), driven by the Ready loop exactly as the server drives it.
//
//   node --import tsx packages/server/bench/raft.ts [--seconds 2] [--payload 128]
//
// Prints committed entries/s one proposal at a time and in batches, the cost per Ready, and
// what encoding the messages would add.

import { parseArgs } from 'node:util';
import { decodeMessage, encodeMessage } from '../src/raft/codec.js';
import { RawNode } from '../src/raft/raw-node.js';
import { MemoryStorage } from '../src/raft/storage.js';
import { type Message, type NodeId, StateRole } from '../src/raft/types.js';

interface BenchNode {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  applied: number;
}

class Cluster {
  readonly nodes = new Map<NodeId, BenchNode>();
  readies = 0;
  private inflight: Message[] = [];

  constructor(
    size: number,
    private readonly viaCodec: boolean,
  ) {
    const voters = Array.from({ length: size }, (_, i) => BigInt(i + 1));
    for (const id of voters) {
      const storage = new MemoryStorage({ voters, learners: [] });
      const raw = new RawNode({
        id,
        storage,
        electionTick: 10,
        heartbeatTick: 1,
        maxInflightMsgs: 4096,
        maxSizePerMsg: 4 << 20,
      });
      this.nodes.set(id, { id, raw, storage, applied: 0 });
    }
    this.node(1n).raw.campaign();
    this.pump();
    if (this.node(1n).raw.role !== StateRole.Leader) throw new Error('bench: no leader');
  }

  node(id: NodeId): BenchNode {
    return this.nodes.get(id)!;
  }

  /** Handles every node's Ready, then delivers the messages, until the cluster is quiet. */
  pump(): void {
    for (;;) {
      let any = false;
      for (const n of this.nodes.values()) {
        if (!n.raw.hasReady()) continue;
        any = true;
        const rd = n.raw.ready();
        this.readies++;
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        if (rd.entries.length > 0) n.storage.append(rd.entries);
        for (const m of rd.messages) this.inflight.push(m);
        if (rd.committedEntries.length > 0) n.applied = rd.committedEntries[rd.committedEntries.length - 1]!.index;
        n.raw.advance(rd);
      }
      if (this.inflight.length === 0) {
        if (!any) return;
        continue;
      }
      const batch = this.inflight;
      this.inflight = [];
      for (const m of batch) {
        const msg = this.viaCodec ? decodeMessage(encodeMessage(m)) : m;
        this.node(msg.to).raw.step(msg);
      }
    }
  }
}

function run(
  label: string,
  seconds: number,
  batch: number,
  payload: number,
  viaCodec: boolean,
  asOneProposal = false,
): void {
  const c = new Cluster(3, viaCodec);
  const leader = c.node(1n);
  const data = new Uint8Array(payload).fill(7);
  const batchData = Array.from({ length: batch }, () => data);
  const start = performance.now();
  const until = start + seconds * 1000;
  const firstApplied = leader.applied;
  const readies0 = c.readies;
  let rounds = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++) {
      if (asOneProposal) leader.raw.proposeBatch(batchData);
      else for (let b = 0; b < batch; b++) leader.raw.propose(data);
      c.pump();
      rounds++;
    }
  }
  const secs = (performance.now() - start) / 1000;
  const committed = leader.applied - firstApplied;
  for (const n of c.nodes.values()) if (n.applied !== leader.applied) throw new Error('bench: followers behind');
  const readies = c.readies - readies0;
  const usPerReady = (secs * 1e6) / readies;
  console.log(
    `${label.padEnd(44)} ${Math.round(committed / secs)
      .toLocaleString('en-US')
      .padStart(
        10,
      )} entries/s   ${(rounds / secs).toFixed(0).padStart(7)} rounds/s   ${(readies / rounds).toFixed(1)} Readies/round   ${usPerReady.toFixed(2)} µs/Ready (all work included)`,
  );
}

/** Cost of one propose → ready → persist → advance cycle on a single voter (no network). */
function perReady(seconds: number, payload: number): void {
  const storage = new MemoryStorage({ voters: [1n], learners: [] });
  const raw = new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1 });
  raw.campaign();
  const drain = () => {
    let n = 0;
    while (raw.hasReady()) {
      const rd = raw.ready();
      if (rd.hardState) storage.setHardState(rd.hardState);
      if (rd.entries.length > 0) storage.append(rd.entries);
      raw.advance(rd);
      n++;
    }
    return n;
  };
  drain();
  const data = new Uint8Array(payload);
  let readies = 0;
  let iterations = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) {
      raw.propose(data);
      readies += drain();
      iterations++;
    }
  }
  const us = ((performance.now() - start) * 1000) / readies;
  console.log(
    `per Ready (1 voter, propose + ready/persist/advance)   ${us.toFixed(2)} µs/Ready   ${(readies / iterations).toFixed(1)} Readies/entry`,
  );

  // The fixed cost: a Ready carrying nothing but a commit-index change.
  let idle = 0;
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) {
    raw.tick();
    if (raw.hasReady()) {
      const rd = raw.ready();
      raw.advance(rd);
      idle++;
    }
  }
  const tickUs = ((performance.now() - t0) * 1000) / 200_000;
  console.log(`tick + hasReady (+ ready/advance when due)            ${tickUs.toFixed(2)} µs/tick   (${idle} Readies)`);
}

function main(): void {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, payload: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 2);
  const payload = Number(values.payload ?? 128);
  console.log(
    `Raft core, 3 voters in one process, ${payload}-byte entries, MemoryStorage, no disk/network (node ${process.version})`,
  );
  run('1 propose() per round (no batching)', seconds, 1, payload, false);
  run('100 propose() per round', seconds, 100, payload, false);
  run('proposeBatch(10) per round', seconds, 10, payload, false, true);
  run('proposeBatch(100) per round', seconds, 100, payload, false, true);
  run('proposeBatch(1000) per round', seconds, 1000, payload, false, true);
  run('1 propose() per round, messages via codec', seconds, 1, payload, true);
  run('proposeBatch(100), messages via codec', seconds, 100, payload, true, true);
  perReady(seconds, payload);
}

main();
