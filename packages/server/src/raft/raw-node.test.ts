// The RawNode API and the Ready contract (see index.ts): what a Ready carries, when it must be
// synced, what may be sent before persisting, restarts, bootstrap and status.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RaftUsageError } from './errors.js';
import { RawNode } from './raw-node.js';
import { MemoryStorage } from './storage.js';
import { TestNetwork, TestNode, utf8 } from '../../testing/raft-harness.js';
import { encodeConfChange } from './codec.js';
import { type ConfChange, ConfChangeType, EntryType, MessageType, StateRole, message } from './types.js';

function newNode(id = 1n, voters = [1n], storage = new MemoryStorage({ voters, learners: [] })): RawNode {
  return new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1 });
}

describe('Ready', () => {
  test('a single voter: the vote is persisted (candidate Ready) before the node leads', () => {
    const storage = new MemoryStorage({ voters: [1n], learners: [] });
    const n = newNode(1n, [1n], storage);
    n.campaign();
    const rd1 = n.ready();
    assert.equal(rd1.softState.role, StateRole.Candidate, 'not leader before the vote is durable');
    assert.deepEqual(rd1.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd1.mustSync, true);
    storage.setHardState(rd1.hardState!);
    n.advance(rd1);
    const rd2 = n.ready();
    assert.equal(rd2.softState.role, StateRole.Leader);
    assert.equal(rd2.hardState, null, 'a leader Ready never changes term or vote');
    assert.equal(rd2.entries.length, 1, 'the empty entry, to persist');
    assert.equal(rd2.committedEntries.length, 0, 'not committed before it is durable');
    storage.append(rd2.entries);
    n.advance(rd2);
    const rd3 = n.ready();
    assert.deepEqual(rd3.hardState, { term: 1, vote: 1n, commit: 1 });
    assert.equal(rd3.mustSync, false, 'a commit-only change needs no fsync');
    assert.deepEqual(
      rd3.committedEntries.map((e) => e.index),
      [1],
    );
    n.advance(rd3);
    assert.equal(n.hasReady(), false);
  });

  test('ready() twice without advance() throws; hasReady() is false meanwhile', () => {
    const n = newNode();
    n.campaign();
    const rd = n.ready();
    assert.equal(n.hasReady(), false);
    assert.throws(() => n.ready(), RaftUsageError);
    assert.throws(() => n.advance({ ...rd }), RaftUsageError, 'advance takes the Ready it was given');
    n.advance(rd);
    assert.equal(n.hasReady(), true);
  });

  test('a follower acknowledges appended entries only in a Ready that must be synced first', () => {
    const n = newNode(2n, [1n, 2n]);
    n.step(
      message({
        type: MessageType.App,
        from: 1n,
        to: 2n,
        term: 1,
        index: 0,
        logTerm: 0,
        commit: 1,
        entries: [{ term: 1, index: 1, type: EntryType.Normal, data: utf8('x') }],
      }),
    );
    const rd = n.ready();
    assert.equal(rd.softState.role, StateRole.Follower, 'so its messages go out only after persisting');
    assert.equal(rd.mustSync, true);
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [1],
    );
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [1],
      'committed entries may include this Ready’s own: apply them after it is durable',
    );
    const ack = rd.messages.find((m) => m.type === MessageType.AppResp);
    assert.equal(ack?.index, 1);
  });

  test('messages in a leader Ready never depend on the leader’s unpersisted entries', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    const l = net.node(1n);
    l.node.propose(utf8('x'));
    const rd = l.node.ready();
    assert.equal(rd.softState.role, StateRole.Leader);
    // The appends carry the entry but a commit index that does not include it.
    for (const m of rd.messages.filter((m) => m.type === MessageType.App)) assert.ok(m.commit < rd.entries[0]!.index);
    l.node.advance(rd);
  });

  test('hardState is null when unchanged; softState is always present', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    const f = net.node(2n);
    f.node.step(message({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 1, commit: f.raft.raftLog.committed }));
    const rd = f.node.ready();
    assert.equal(rd.hardState, null);
    assert.deepEqual(rd.softState, { lead: 1n, role: StateRole.Follower });
    assert.equal(rd.mustSync, false);
    f.node.advance(rd);
  });

  test('committed configuration changes make the Ready sync', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    const l = net.node(1n);
    l.node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: new Uint8Array(0), id: 0n });
    net.stabilize();
    for (const n of net.nodes.values()) {
      const withChange = n.readies.filter((rd) => rd.committedEntries.some((e) => e.type === EntryType.ConfChange));
      assert.equal(withChange.length, 1, `node ${n.id}`);
      assert.equal(withChange[0]!.mustSync, true, `node ${n.id}`);
    }
  });

  test('advance() marks committed entries applied and the snapshot too', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    net.propose(1n, 'a');
    for (const n of net.nodes.values()) assert.equal(n.node.status().applied, n.raft.raftLog.committed);
  });
});

describe('snapshots and membership', () => {
  test('a snapshot arriving while the outstanding Ready’s membership changes are applied waits for advance()', () => {
    const n = newNode(2n, [1n, 2n, 3n]);
    const demote3: ConfChange = { type: ConfChangeType.AddLearnerNode, nodeId: 3n, context: new Uint8Array(0), id: 0n };
    const entry = { term: 1, index: 1, type: EntryType.ConfChange, data: encodeConfChange(demote3) };
    n.step(
      message({ type: MessageType.App, from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, commit: 1, entries: [entry] }),
    );
    const rd = n.ready();
    assert.equal(rd.committedEntries.length, 1);
    // Meanwhile the leader sends a snapshot of a later state (3 promoted back, 4 added as learner).
    const snap = {
      metadata: { index: 10, term: 1, confState: { voters: [1n, 2n, 3n], learners: [4n] } },
      data: new Uint8Array(0),
    };
    n.step(message({ type: MessageType.Snap, from: 1n, to: 2n, term: 1, snapshot: snap }));
    assert.equal(n.status().hardState.commit, 1, 'not restored while the change is being applied');
    assert.deepEqual(n.applyConfChange(demote3), { voters: [1n, 2n], learners: [3n] });
    n.advance(rd);
    assert.equal(n.status().hardState.commit, 10);
    assert.deepEqual(
      n.status().config,
      { voters: [1n, 2n, 3n], learners: [4n] },
      'the snapshot’s membership, not the old change on top of it',
    );
  });
});

describe('RawNode', () => {
  test('restart from storage with the applied index: committed entries after it are handed out again', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    net.propose(1n, 'a');
    net.propose(1n, 'b');
    const old = net.node(2n);
    const restarted = new TestNode(2n, [1n, 2n, 3n], { storage: old.storage, applied: 2 });
    const rd = restarted.node.ready();
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [3],
    );
    assert.equal(restarted.term, 1);
    assert.equal(restarted.role, StateRole.Follower);
  });

  test('an applied index beyond a lost (unsynced) commit index moves the commit index along', () => {
    const storage = new MemoryStorage({ voters: [1n], learners: [] });
    storage.append([
      { term: 1, index: 1, type: EntryType.Normal, data: utf8('a') },
      { term: 1, index: 2, type: EntryType.Normal, data: utf8('b') },
    ]);
    storage.setHardState({ term: 1, vote: 1n, commit: 1 });
    const n = new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1, applied: 2 });
    assert.equal(n.status().hardState.commit, 2);
    assert.throws(
      () => new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1, applied: 3 }),
      /beyond the last index/,
    );
  });

  test('bootstrap() writes the membership as committed entries of term 1', () => {
    const n = new RawNode({ id: 1n, storage: new MemoryStorage(), electionTick: 10, heartbeatTick: 1 });
    n.bootstrap([1n, 2n], [3n]);
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 0n, commit: 3 });
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.term, e.type]),
      [
        [1, 1, EntryType.ConfChange],
        [2, 1, EntryType.ConfChange],
        [3, 1, EntryType.ConfChange],
      ],
    );
    assert.equal(rd.committedEntries.length, 3);
    assert.deepEqual(n.status().config, { voters: [1n, 2n], learners: [3n] });
    assert.throws(() => n.bootstrap([1n]), RaftUsageError);
  });

  test('step() refuses local message types and drops responses from non-members', () => {
    const n = newNode(1n, [1n, 2n]);
    assert.throws(() => n.step(message({ type: MessageType.Hup })), RaftUsageError);
    n.step(message({ type: MessageType.AppResp, from: 9n, to: 1n, term: 5 }));
    assert.equal(n.status().hardState.term, 0, 'a response from a stranger is ignored');
  });

  test('readIndex() needs a context', () => {
    assert.throws(() => newNode().readIndex(new Uint8Array(0)), RaftUsageError);
  });

  test('status() reports progress for a leader only', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n]);
    net.propose(1n, 'a');
    const s = net.node(1n).node.status();
    assert.equal(s.softState.role, StateRole.Leader);
    assert.equal(s.progress?.get(2n)?.match, 2);
    assert.equal(s.progress?.get(2n)?.state, 'replicate');
    assert.equal(s.leadTransferee, 0n);
    assert.equal(net.node(2n).node.status().progress, null);
    assert.deepEqual(net.node(1n).node.basicStatus(), { ...s, progress: null });
  });

  test('config is validated', () => {
    const storage = new MemoryStorage();
    assert.throws(() => new RawNode({ id: 0n, storage, electionTick: 10, heartbeatTick: 1 }), RaftUsageError);
    assert.throws(() => new RawNode({ id: 1n, storage, electionTick: 1, heartbeatTick: 1 }), RaftUsageError);
    assert.throws(
      () => new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1, maxInflightMsgs: 0 }),
      RaftUsageError,
    );
  });
});
