// Tests that map to the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", extended version): §5.1 terms, §5.2 leader election, §5.3 log replication, §5.4.1
// the election restriction and §5.4.2 the commit rule, plus the safety properties of Figure 3.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from './config.js';
import { MemoryStorage } from './storage.js';
import { TestNetwork, TestNode, type TestNodeOptions, utf8 } from '../../testing/raft-harness.js';
import { type Entry, EntryType, type Message, MessageType, StateRole, message } from './types.js';

const ids = [1n, 2n, 3n];

function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: utf8(data) };
}

/** A follower whose storage already holds `ents`, at `term`. */
function nodeWithLog(id: bigint, ents: Entry[], term: number, peers = ids, opts: TestNodeOptions = {}): TestNode {
  const storage = new MemoryStorage({ voters: peers, learners: [] });
  storage.append(ents);
  storage.setHardState({ term, vote: 0n, commit: 0 });
  return new TestNode(id, peers, { ...opts, storage });
}

function ofType(msgs: Message[], t: MessageType): Message[] {
  return msgs.filter((m) => m.type === t);
}

describe('§5.1 terms', () => {
  test('a node that sees a higher term adopts it and becomes follower', () => {
    for (const role of [StateRole.Follower, StateRole.Candidate, StateRole.Leader]) {
      const net = new TestNetwork(ids);
      if (role === StateRole.Candidate) {
        net.node(1n).node.campaign();
        net.node(1n).drain();
      } else if (role === StateRole.Leader) {
        net.elect(1n);
      }
      const n = net.node(1n);
      assert.equal(n.role, role);
      n.node.step(message({ type: MessageType.App, from: 2n, to: 1n, term: 9 }));
      assert.equal(n.term, 9);
      assert.equal(n.role, StateRole.Follower);
      assert.equal(n.raft.lead, 2n, 'an append from a higher term names the leader');
    }
  });

  test('a request with a stale term is rejected or ignored, never acted on', () => {
    const n = nodeWithLog(1n, [], 5);
    n.node.step(message({ type: MessageType.App, from: 2n, to: 1n, term: 4, index: 0, entries: [entry(1, 4, 'x')] }));
    assert.equal(n.raft.raftLog.lastIndex(), 0, 'stale append not accepted');
    n.node.step(message({ type: MessageType.Vote, from: 2n, to: 1n, term: 4, index: 10, logTerm: 4 }));
    const out = n.drain();
    assert.equal(n.raft.vote, 0n, 'no vote granted in a stale term');
    const resp = ofType(out, MessageType.VoteResp);
    assert.equal(resp.length, 1);
    assert.equal(resp[0]!.reject, true);
    assert.equal(resp[0]!.term, 5, 'the rejection carries our term so the candidate catches up');
  });
});

describe('§5.2 leader election', () => {
  test('a follower that hears nothing for an election timeout becomes candidate and requests votes', () => {
    const n = new TestNode(1n, ids);
    for (let i = 0; i < 2 * 10; i++) n.node.tick();
    assert.equal(n.role, StateRole.Candidate);
    assert.equal(n.term, 1);
    assert.equal(n.raft.vote, 1n, 'votes for itself');
    const votes = ofType(n.drain(), MessageType.Vote);
    assert.deepEqual(votes.map((m) => m.to).sort(), [2n, 3n]);
    for (const m of votes) assert.equal(m.term, 1);
  });

  test('the election timeout is randomized in [electionTick, 2*electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const n = new TestNode(1n, ids, { random: seededRandom(BigInt(seed)) });
      let ticks = 0;
      while (n.role === StateRole.Follower) {
        n.node.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
      seen.add(ticks);
    }
    assert.ok(seen.size > 5, 'timeouts actually vary');
  });

  test('a candidate wins with votes from a majority, and only then', () => {
    const n = new TestNode(1n, [1n, 2n, 3n, 4n, 5n]);
    n.node.campaign();
    n.drain();
    n.node.step(message({ type: MessageType.VoteResp, from: 2n, to: 1n, term: 1 }));
    assert.equal(n.role, StateRole.Candidate, '2 of 5 is not a majority');
    n.node.step(message({ type: MessageType.VoteResp, from: 3n, to: 1n, term: 1, reject: true }));
    assert.equal(n.role, StateRole.Candidate);
    n.node.step(message({ type: MessageType.VoteResp, from: 4n, to: 1n, term: 1 }));
    assert.equal(n.role, StateRole.Leader, '3 of 5');
  });

  test('a candidate that a majority rejects returns to follower', () => {
    const n = new TestNode(1n, ids);
    n.node.campaign();
    n.drain();
    n.node.step(message({ type: MessageType.VoteResp, from: 2n, to: 1n, term: 1, reject: true }));
    n.node.step(message({ type: MessageType.VoteResp, from: 3n, to: 1n, term: 1, reject: true }));
    assert.equal(n.role, StateRole.Follower);
  });

  test('a candidate that hears from a leader of its term steps down', () => {
    const n = new TestNode(1n, ids);
    n.node.campaign();
    n.drain();
    n.node.step(message({ type: MessageType.Heartbeat, from: 2n, to: 1n, term: 1 }));
    assert.equal(n.role, StateRole.Follower);
    assert.equal(n.raft.lead, 2n);
  });

  test('after a split vote, a new election starts at a higher term', () => {
    const n = new TestNode(1n, ids);
    n.node.campaign();
    n.drain();
    for (let i = 0; i < 20; i++) n.node.tick();
    assert.equal(n.role, StateRole.Candidate);
    assert.equal(n.term, 2);
  });

  test('election safety: a node grants at most one vote per term', () => {
    const n = new TestNode(1n, ids);
    n.node.step(message({ type: MessageType.Vote, from: 2n, to: 1n, term: 1 }));
    n.node.step(message({ type: MessageType.Vote, from: 3n, to: 1n, term: 1 }));
    n.node.step(message({ type: MessageType.Vote, from: 2n, to: 1n, term: 1 }));
    const resp = ofType(n.drain(), MessageType.VoteResp);
    assert.deepEqual(
      resp.map((m) => [m.to, m.reject]),
      [
        [2n, false],
        [3n, true],
        [2n, false],
      ],
      'the vote goes to 2; a repeat request from 2 is granted again',
    );
    assert.equal(n.storage.hardStateNow().vote, 2n, 'the vote is persisted before the grant is sent');
  });

  test('one leader per term across a whole cluster run', () => {
    const net = new TestNetwork([1n, 2n, 3n, 4n, 5n]);
    const leaders = new Map<number, bigint>();
    for (let round = 0; round < 60; round++) {
      net.heal();
      const l = net.leader();
      if (l && round % 2 === 0) net.isolate(l.id);
      net.tickAll(11);
      for (const n of net.nodes.values()) {
        if (n.role !== StateRole.Leader) continue;
        const prev = leaders.get(n.term);
        assert.ok(prev === undefined || prev === n.id, `two leaders in term ${n.term}`);
        leaders.set(n.term, n.id);
      }
    }
    assert.ok(leaders.size > 3, 'several elections happened');
  });
});

describe('§5.3 log replication', () => {
  test('the leader appends a proposal and replicates it; it commits once a majority stores it', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.propose(1n, 'x');
    for (const id of [1n, 2n]) assert.deepEqual(net.node(id).appliedData(), ['x']);
    assert.deepEqual(net.node(3n).appliedData(), []);
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.node(3n).appliedData(), ['x'], 'the lagging follower catches up');
  });

  test('a follower rejects an append whose previous entry does not match (consistency check)', () => {
    const n = nodeWithLog(2n, [entry(1, 1), entry(2, 1)], 2);
    n.node.step(
      message({ type: MessageType.App, from: 1n, to: 2n, term: 2, index: 2, logTerm: 2, entries: [entry(3, 2)] }),
    );
    const [resp] = ofType(n.drain(), MessageType.AppResp);
    assert.equal(resp!.reject, true);
    assert.equal(resp!.rejectHint, 2, 'hint: our last index whose term ≤ 2');
    assert.equal(resp!.logTerm, 1);
    assert.equal(n.raft.raftLog.lastIndex(), 2);
  });

  test('conflicting entries are replaced by the leader’s', () => {
    const n = nodeWithLog(2n, [entry(1, 1), entry(2, 1, 'old'), entry(3, 1, 'old')], 2);
    n.node.step(
      message({
        type: MessageType.App,
        from: 1n,
        to: 2n,
        term: 2,
        index: 1,
        logTerm: 1,
        entries: [entry(2, 2, 'new')],
        commit: 2,
      }),
    );
    n.drain();
    assert.equal(n.storage.lastIndex(), 2);
    assert.equal(n.storage.term(2), 2);
    assert.deepEqual(n.appliedData(), ['new']);
  });

  test('the leader backtracks over a whole conflicting term at once (fast backtracking)', () => {
    // Follower 2 holds 50 entries of term 1 that leader 1 (term 3) never had beyond index 5.
    const followerLog = Array.from({ length: 50 }, (_, i) => entry(i + 1, 1));
    const leaderLog = [
      ...Array.from({ length: 5 }, (_, i) => entry(i + 1, 1)),
      ...Array.from({ length: 5 }, (_, i) => entry(i + 6, 2)),
    ];
    const l = nodeWithLog(1n, leaderLog, 2, [1n, 2n]);
    const f = nodeWithLog(2n, followerLog, 2, [1n, 2n]);
    const net = new TestNetwork([]);
    net.add(l);
    net.add(f);
    net.elect(1n);
    const appends = net.delivered.filter((m) => m.type === MessageType.App && m.to === 2n);
    assert.ok(appends.length <= 3, `converged in ${appends.length} appends, not one per entry`);
    assert.equal(f.storage.lastIndex(), 11);
    assert.equal(f.storage.term(10), 2);
    assert.equal(f.storage.term(11), 3);
  });

  test('followers apply entries up to the commit index the leader sends', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(1n, 'a');
    net.propose(2n, 'b');
    for (const n of net.nodes.values()) {
      assert.deepEqual(n.appliedData(), ['a', 'b'], `node ${n.id}`);
      assert.equal(n.raft.raftLog.committed, 3);
    }
  });

  test('log matching: same index and term means the same entries before it, on every node', () => {
    const net = new TestNetwork([1n, 2n, 3n, 4n, 5n]);
    let k = 0;
    for (let round = 0; round < 40; round++) {
      net.heal();
      if (round % 4 === 1) net.isolate(BigInt(1 + (round % 5)));
      if (round % 4 === 2) net.cut(1n, 2n);
      net.tickAll(4);
      for (const n of net.nodes.values()) {
        try {
          n.node.propose(utf8(`v${k++}`));
        } catch {
          // no leader known yet
        }
      }
      net.stabilize();
    }
    const nodes = [...net.nodes.values()];
    for (const a of nodes) {
      for (const b of nodes) {
        const last = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
        for (let i = last; i >= 1; i--) {
          if (a.storage.term(i) !== b.storage.term(i)) continue;
          const ea = a.storage.entries(1, i + 1, Infinity);
          const eb = b.storage.entries(1, i + 1, Infinity);
          assert.deepEqual(ea, eb, `nodes ${a.id} and ${b.id} share (${i}, ${a.storage.term(i)}) but differ before it`);
          break;
        }
      }
    }
  });
});

describe('§5.4.1 election restriction', () => {
  test('a voter rejects a candidate whose last term is lower', () => {
    const n = nodeWithLog(1n, [entry(1, 1), entry(2, 2)], 2);
    n.node.step(message({ type: MessageType.Vote, from: 2n, to: 1n, term: 3, index: 5, logTerm: 1 }));
    const [resp] = ofType(n.drain(), MessageType.VoteResp);
    assert.equal(resp!.reject, true);
  });

  test('with equal last terms, a voter rejects the shorter log and grants the longer or equal one', () => {
    for (const [index, reject] of [
      [1, true],
      [2, false],
      [3, false],
    ] as const) {
      const n = nodeWithLog(1n, [entry(1, 1), entry(2, 2)], 2);
      n.node.step(message({ type: MessageType.Vote, from: 2n, to: 1n, term: 3, index, logTerm: 2 }));
      const [resp] = ofType(n.drain(), MessageType.VoteResp);
      assert.equal(resp!.reject, reject, `candidate last index ${index}`);
    }
  });

  test('a node whose log lacks committed entries cannot become leader', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.propose(1n, 'committed');
    net.heal();
    net.isolate(1n);
    // 3 lacks the committed entry; 2 has it and refuses to vote for 3.
    net.elect(3n);
    assert.notEqual(net.node(3n).role, StateRole.Leader);
    net.elect(2n);
    assert.equal(net.node(2n).role, StateRole.Leader);
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  test('a leader does not commit an old-term entry by counting replicas, only via a current-term entry (Figure 8)', () => {
    // Entry 2 was written in term 2 on nodes 1 and 2 only. Node 1 leads term 3; entry 2 reaches
    // every node, but its term-3 entry does not (appends are stripped of term-3 entries).
    const peers = [1n, 2n, 3n, 4n, 5n];
    const net = new TestNetwork([]);
    for (const id of peers) {
      const ents = id <= 2n ? [entry(1, 1), entry(2, 2)] : [entry(1, 1)];
      net.add(nodeWithLog(id, ents, 2, peers, { maxSizePerMsg: 0 }));
    }
    net.transform = (m) => (m.type === MessageType.App ? { ...m, entries: m.entries.filter((e) => e.term < 3) } : m);
    const n1 = net.node(1n);
    net.elect(1n);
    net.tickAll(3);
    assert.equal(n1.role, StateRole.Leader);
    assert.equal(n1.term, 3);
    for (const id of peers) assert.equal(net.node(id).storage.term(2), 2, `node ${id} stores entry 2 (term 2)`);
    assert.equal(n1.raft.raftLog.committed, 0, 'entry 2 is on all five nodes, yet not committed by counting');
    net.heal();
    net.tickAll(2);
    assert.equal(n1.raft.raftLog.committed, 3, 'committed once the term-3 entry reached a majority');
    for (const id of peers) assert.equal(net.node(id).raft.raftLog.committed, 3);
  });

  test('leader completeness: entries committed in earlier terms survive leader changes', () => {
    const net = new TestNetwork([1n, 2n, 3n, 4n, 5n]);
    const committed: string[] = [];
    let leaderId = 1n;
    net.elect(leaderId);
    for (let round = 0; round < 10; round++) {
      net.propose(leaderId, `w${round}`);
      committed.push(`w${round}`);
      net.isolate(leaderId);
      const next = BigInt(1 + ((Number(leaderId) + 1) % 5));
      net.elect(next);
      net.heal();
      net.stabilize();
      leaderId = net.leader()!.id;
      const l = net.node(leaderId);
      const data = l.storage
        .entries(1, l.storage.lastIndex() + 1, Infinity)
        .concat(l.raft.raftLog.unstableEntries())
        .map((e) => new TextDecoder().decode(e.data))
        .filter((d) => d.startsWith('w'));
      for (const c of committed) assert.ok(data.includes(c), `leader ${leaderId} lost ${c}`);
    }
  });
});
