// Membership changes: one server at a time, effective when applied; learners, promotion, demotion,
// removal (of the leader too), and a new member catching up from an empty log.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProposalDroppedError } from './errors.js';
import { haveDisjointMajorities } from './quorum.js';
import { MemoryStorage } from './storage.js';
import { TestNetwork, TestNode, utf8 } from '../../testing/raft-harness.js';
import { encodeConfChange } from './codec.js';
import {
  type ConfChange,
  ConfChangeType,
  EntryType,
  MessageType,
  type NodeId,
  StateRole,
  EMPTY_BYTES,
  message,
} from './types.js';

function cc(type: ConfChangeType, nodeId: NodeId): ConfChange {
  return { type, nodeId, context: EMPTY_BYTES, id: 0n };
}

function droppedWith(reason: string) {
  return (err: unknown) => err instanceof ProposalDroppedError && err.reason === reason;
}

/** A brand-new server: empty storage, no configuration; it learns everything from the leader. */
function freshNode(id: NodeId): TestNode {
  return new TestNode(id, [], { storage: new MemoryStorage() });
}

describe('membership changes', () => {
  test('add a learner, let it catch up, then promote it to voter', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n], { bootstrap: true });
    net.propose(1n, 'before');
    net.add(freshNode(4n));
    net.node(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
    net.stabilize();
    net.tickAll(2);
    const n4 = net.node(4n);
    assert.deepEqual(n4.appliedData(), ['before']);
    assert.deepEqual(n4.confState, { voters: [1n, 2n, 3n], learners: [4n] });
    assert.equal(n4.raft.isLearner, true);

    net.node(1n).node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    net.stabilize();
    assert.deepEqual(net.node(1n).confState.voters, [1n, 2n, 3n, 4n]);
    // Quorum is now 3 of 4: with 2 and 3 down, 1 and 4 cannot commit.
    net.isolate(2n);
    net.isolate(3n);
    net.propose(1n, 'needs 3 of 4');
    assert.deepEqual(net.node(4n).appliedData(), ['before']);
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.node(4n).appliedData(), ['before', 'needs 3 of 4']);
  });

  test('a change takes effect when applied, not when appended or committed', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    const l = net.node(1n);
    l.node.proposeConfChange(cc(ConfChangeType.RemoveNode, 3n));
    // Appended but not yet committed or applied: the configuration is unchanged.
    assert.deepEqual(l.raft.tracker.voters, [1n, 2n, 3n]);
    net.stabilize();
    assert.deepEqual(l.raft.tracker.voters, [1n, 2n]);
  });

  test('only one change may be pending; a new leader waits until its own first entry is applied', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    const l = net.node(1n).node;
    net.isolate(2n);
    net.isolate(3n);
    l.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4n));
    assert.throws(() => l.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n)), droppedWith('conf-change-pending'));
    net.heal();
    net.tickAll(2);
    l.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5n));
    net.stabilize();

    // A new leader whose empty entry is not yet committed refuses changes.
    net.filters.push((m) => m.type === MessageType.AppResp);
    net.elect(2n);
    assert.equal(net.node(2n).role, StateRole.Leader);
    assert.throws(
      () => net.node(2n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 5n)),
      droppedWith('conf-change-pending'),
    );
  });

  test('the last voter cannot be removed or demoted', () => {
    const net = TestNetwork.withLeader([1n]);
    assert.throws(
      () => net.node(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n)),
      droppedWith('invalid-conf-change'),
    );
    assert.throws(
      () => net.node(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 1n)),
      droppedWith('invalid-conf-change'),
    );
  });

  test('removing a follower shrinks the quorum', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n, 4n]);
    net.node(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 4n));
    net.stabilize();
    net.isolate(3n);
    net.isolate(4n);
    net.propose(1n, '2 of 3');
    assert.deepEqual(net.node(2n).appliedData(), ['2 of 3']);
  });

  test('demoting a voter to learner', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    net.node(1n).node.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 3n));
    net.stabilize();
    assert.deepEqual(net.node(3n).confState, { voters: [1n, 2n], learners: [3n] });
    net.propose(1n, 'x');
    assert.deepEqual(net.node(3n).appliedData(), ['x']);
    for (let i = 0; i < 40; i++) net.node(3n).node.tick();
    assert.equal(net.node(3n).role, StateRole.Follower, 'a demoted node no longer campaigns');
  });

  test('removing the leader hands leadership over to an up-to-date voter', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    net.propose(1n, 'a');
    net.node(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
    net.stabilize();
    const leader = net.leader()!;
    assert.notEqual(leader.id, 1n);
    assert.equal(leader.term, 2, 'took over by a transfer campaign, without waiting for a timeout');
    assert.throws(() => net.node(1n).node.propose(utf8('x')), droppedWith('not-a-member'));
    net.tickAll(20);
    assert.equal(net.node(1n).role, StateRole.Follower, 'the removed leader steps down within an election timeout');
    net.propose(leader.id, 'b');
    for (const id of [2n, 3n]) assert.deepEqual(net.node(id).appliedData(), ['a', 'b']);
  });

  test('going from two voters to one by removing the leader', () => {
    const net = TestNetwork.withLeader([1n, 2n]);
    net.node(1n).node.proposeConfChange(cc(ConfChangeType.RemoveNode, 1n));
    net.stabilize();
    assert.equal(net.node(2n).role, StateRole.Leader);
    assert.deepEqual(net.node(2n).confState.voters, [2n]);
    net.isolate(1n);
    net.propose(2n, 'alone');
    assert.deepEqual(net.node(2n).appliedData(), ['alone']);
  });

  test('a new member catches up from a snapshot taken before it was added', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n], { bootstrap: true });
    for (let i = 0; i < 5; i++) net.propose(1n, `e${i}`);
    const l = net.node(1n);
    const at = l.raft.raftLog.applied;
    l.storage.createSnapshot(at, l.confState, utf8('app state'));
    l.storage.compact(at);
    net.add(freshNode(4n));
    l.node.proposeConfChange(cc(ConfChangeType.AddNode, 4n));
    net.stabilize();
    net.tickAll(2);
    const n4 = net.node(4n);
    assert.equal(n4.storage.snapshot().metadata.index, at);
    assert.deepEqual(n4.confState.voters, [1n, 2n, 3n, 4n], 'the change after the snapshot came through the log');
    net.propose(1n, 'later');
    assert.deepEqual(n4.appliedData(), ['later']);
  });

  test('a node does not campaign while it has committed changes to apply', () => {
    const n2 = new TestNode(2n, [1n, 2n, 3n]);
    const change = {
      term: 1,
      index: 1,
      type: EntryType.ConfChange,
      data: encodeConfChange(cc(ConfChangeType.RemoveNode, 3n)),
    };
    n2.node.step(
      message({ type: MessageType.App, from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, entries: [change], commit: 1 }),
    );
    assert.equal(n2.raft.raftLog.committed, 1);
    n2.node.campaign();
    assert.equal(n2.role, StateRole.Follower, 'refused: its configuration is stale until the change is applied');
    n2.drain();
    assert.deepEqual(n2.confState.voters, [1n, 2n]);
    n2.node.campaign();
    assert.equal(n2.role, StateRole.Candidate);
  });
});

describe('configuration arithmetic', () => {
  test('single-server changes never admit disjoint majorities; two-server changes can', () => {
    const s = (...xs: number[]) => new Set(xs.map(BigInt));
    assert.equal(haveDisjointMajorities(s(1, 2, 3), s(1, 2, 3, 4)), false);
    assert.equal(haveDisjointMajorities(s(1, 2, 3, 4), s(2, 3, 4)), false);
    assert.equal(haveDisjointMajorities(s(1, 2), s(2)), false);
    assert.equal(haveDisjointMajorities(s(1, 2, 3), s(2, 3, 4)), true, 'remove one and add one at once');
    assert.equal(haveDisjointMajorities(s(1, 2, 3), s(1, 2, 3, 4, 5)), true, 'add two at once');
    // Exhaustively: every single change on every configuration of up to 6 members is safe.
    for (let mask = 1; mask < 64; mask++) {
      const cfg = new Set<bigint>();
      for (let b = 0; b < 6; b++) if (mask & (1 << b)) cfg.add(BigInt(b + 1));
      for (let b = 0; b < 7; b++) {
        const id = BigInt(b + 1);
        const next = new Set(cfg);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        if (next.size === 0) continue;
        assert.equal(haveDisjointMajorities(cfg, next), false, `[${[...cfg]}] -> [${[...next]}]`);
      }
    }
  });
});
