// The protocol features beyond the basic algorithm: pre-vote, check-quorum, leadership transfer,
// ReadIndex, dropped proposals, flow control, snapshots, learners and a single-member cluster.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProposalDroppedError } from './errors.js';
import { ProgressState } from './progress.js';
import { TestNetwork, TestNode, utf8 } from '../../testing/raft-harness.js';
import { MessageType, StateRole, message } from './types.js';

const ids = [1n, 2n, 3n];

function droppedWith(reason: string) {
  return (err: unknown) => err instanceof ProposalDroppedError && err.reason === reason;
}

describe('pre-vote', () => {
  test('a partitioned node does not inflate its term, and does not disrupt the leader when it returns', () => {
    const net = TestNetwork.withLeader(ids, { preVote: true });
    net.isolate(3n);
    net.tickAll(100);
    assert.equal(net.node(3n).term, 1, 'pre-votes failed: the term stayed');
    assert.equal(net.node(3n).role, StateRole.PreCandidate);
    net.heal();
    net.tickAll(3);
    assert.equal(net.node(1n).role, StateRole.Leader, 'still the leader');
    assert.equal(net.node(1n).term, 1);
    assert.equal(net.node(3n).role, StateRole.Follower);
  });

  test('a pre-candidate that can win moves on to a real election', () => {
    const net = new TestNetwork(ids, { preVote: true });
    net.elect(2n);
    assert.equal(net.node(2n).role, StateRole.Leader);
    assert.equal(net.node(2n).term, 1);
    assert.ok(net.delivered.some((m) => m.type === MessageType.PreVote));
  });
});

describe('check-quorum', () => {
  test('a leader that loses contact with a quorum steps down after an election timeout', () => {
    const net = TestNetwork.withLeader(ids, { checkQuorum: true });
    net.isolate(1n);
    net.tickAll(25);
    assert.equal(net.node(1n).role, StateRole.Follower);
  });

  test('followers in lease ignore a disruptive candidate', () => {
    const net = TestNetwork.withLeader(ids, { checkQuorum: true });
    net.tickAll(1);
    // 3 was partitioned and is now far ahead in terms; 2 still hears from leader 1.
    net.node(2n).node.step(message({ type: MessageType.Vote, from: 3n, to: 2n, term: 10, index: 99, logTerm: 9 }));
    assert.equal(net.node(2n).term, 1, 'vote ignored within the lease');
    assert.equal(
      net
        .node(2n)
        .drain()
        .filter((m) => m.type === MessageType.VoteResp).length,
      0,
    );
  });

  test('followers that forgot their dead leader elect a new one at once; a live leader is relearned', () => {
    const net = TestNetwork.withLeader(ids, { checkQuorum: true, preVote: true });
    net.tickAll(1);
    net.isolate(1n);
    // 3 campaigns right away: 2 is in lease (heard from 1 a tick ago) and ignores the pre-vote
    net.node(3n).node.campaign();
    net.stabilize();
    assert.equal(net.node(3n).role, StateRole.PreCandidate, 'no pre-vote quorum');
    assert.equal(net.node(3n).term, 1);
    // once both forgot leader 1 (it refuses connections), 3 wins without waiting out a timeout
    net.node(2n).node.forgetLeader();
    net.node(3n).node.forgetLeader();
    assert.equal(net.node(2n).raft.lead, 0n);
    assert.equal(net.node(2n).role, StateRole.Follower, 'forgetting does not campaign');
    assert.throws(() => net.node(2n).node.propose(utf8('x')), droppedWith('no-leader'));
    net.node(3n).node.campaign();
    net.stabilize();
    assert.equal(net.node(3n).role, StateRole.Leader);
    assert.equal(net.node(3n).term, 2);

    // a follower that forgets a leader which is in fact alive takes it back with its next heartbeat
    const net2 = TestNetwork.withLeader(ids, { checkQuorum: true, preVote: true });
    net2.node(2n).node.forgetLeader();
    assert.equal(net2.node(2n).raft.lead, 0n);
    net2.tickAll(1);
    assert.equal(net2.node(2n).raft.lead, 1n);
    // forgetting is a no-op on the leader itself
    net2.node(1n).node.forgetLeader();
    assert.equal(net2.node(1n).role, StateRole.Leader);
    assert.equal(net2.node(1n).raft.lead, 1n);
  });

  test('a transfer campaign overrides the lease', () => {
    const net = TestNetwork.withLeader(ids, { checkQuorum: true });
    net.tickAll(1);
    net.node(1n).node.transferLeadership(2n);
    net.stabilize();
    assert.equal(net.node(2n).role, StateRole.Leader);
    assert.equal(net.node(2n).term, 2);
  });
});

describe('leadership transfer', () => {
  test('the leader catches the transferee up, then it takes over', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.propose(1n, 'a');
    net.propose(1n, 'b');
    net.heal();
    net.node(1n).node.transferLeadership(3n);
    assert.equal(net.node(1n).raft.leadTransferee, 3n);
    net.stabilize();
    assert.equal(net.node(3n).role, StateRole.Leader);
    assert.deepEqual(net.node(3n).appliedData(), ['a', 'b']);
    assert.equal(net.node(1n).role, StateRole.Follower);
  });

  test('proposals are dropped while the transfer is in progress', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.node(1n).node.transferLeadership(3n);
    assert.throws(() => net.node(1n).node.propose(utf8('x')), droppedWith('leader-transfer-in-progress'));
  });

  test('an unfinished transfer is abandoned after an election timeout', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.node(1n).node.transferLeadership(3n);
    net.tickAll(20);
    assert.equal(net.node(1n).raft.leadTransferee, 0n);
    assert.equal(net.node(1n).role, StateRole.Leader);
    net.node(1n).node.propose(utf8('ok again'));
  });

  test('a transfer requested on a follower is forwarded to the leader; one to a learner is ignored', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n, 4n], { learners: [4n] });
    net.node(2n).node.transferLeadership(3n);
    net.stabilize();
    assert.equal(net.node(3n).role, StateRole.Leader);
    net.node(3n).node.transferLeadership(4n);
    net.stabilize();
    assert.equal(net.node(3n).role, StateRole.Leader);
    assert.equal(net.node(3n).raft.leadTransferee, 0n);
  });
});

describe('ReadIndex (safe)', () => {
  test('the leader answers after a heartbeat round confirms it still leads', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(1n, 'a');
    const l = net.node(1n);
    l.node.readIndex(utf8('r1'));
    const out = l.drain();
    assert.equal(l.readStates.length, 0, 'not before the quorum acknowledged');
    assert.equal(out.filter((m) => m.type === MessageType.Heartbeat && m.context.length > 0).length, 2);
    net.stabilize(out);
    assert.deepEqual(l.readStates, [{ index: 2, requestCtx: utf8('r1') }]);
  });

  test('a leader cut off from the quorum never answers', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(1n);
    net.node(1n).node.readIndex(utf8('r'));
    net.stabilize();
    assert.equal(net.node(1n).readStates.length, 0);
  });

  test('a follower forwards the request and gets the leader’s commit index', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(1n, 'a');
    net.node(2n).node.readIndex(utf8('f'));
    net.stabilize();
    assert.deepEqual(net.node(2n).readStates, [{ index: 2, requestCtx: utf8('f') }]);
  });

  test('a new leader defers reads until it has committed an entry of its term', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(1n, 'a');
    // 2 wins term 2, but nobody acknowledges its empty entry yet.
    net.filters.push((m) => m.type === MessageType.AppResp);
    net.elect(2n);
    const l = net.node(2n);
    assert.equal(l.role, StateRole.Leader);
    l.node.readIndex(utf8('early'));
    net.stabilize();
    assert.equal(l.readStates.length, 0, 'deferred: index 2 might not be the latest commit');
    net.heal();
    net.tickAll(1);
    assert.deepEqual(l.readStates, [{ index: 3, requestCtx: utf8('early') }]);
  });

  test('without a leader the read is refused at once', () => {
    const n = new TestNode(1n, ids);
    assert.throws(() => n.node.readIndex(utf8('x')), droppedWith('no-leader'));
  });
});

describe('proposals', () => {
  test('followers forward proposals to the leader', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(3n, 'via follower');
    assert.deepEqual(net.node(1n).appliedData(), ['via follower']);
  });

  test('are refused without a leader, with forwarding disabled, and past the uncommitted limit', () => {
    const lone = new TestNode(1n, ids);
    assert.throws(() => lone.node.propose(utf8('x')), droppedWith('no-leader'));

    const net = TestNetwork.withLeader(ids, { disableProposalForwarding: true, maxUncommittedEntriesSize: 10 });
    assert.throws(() => net.node(2n).node.propose(utf8('x')), droppedWith('proposal-forwarding-disabled'));
    net.isolate(1n);
    const l = net.node(1n).node;
    l.propose(utf8('0123456789'));
    assert.throws(() => l.propose(utf8('more')), droppedWith('too-many-uncommitted-entries'));
    net.heal();
    net.tickAll(2);
    l.propose(utf8('more'));
  });
});

describe('flow control', () => {
  test('a follower in replicate state gets at most maxInflightMsgs appends in flight', () => {
    const net = TestNetwork.withLeader(ids, { maxInflightMsgs: 2, maxSizePerMsg: 0 });
    const l = net.node(1n);
    net.filters.push((m) => m.type === MessageType.AppResp && m.from === 2n);
    for (let i = 0; i < 10; i++) l.node.propose(utf8(`e${i}`));
    const out = l.drain();
    const apps = out.filter((m) => m.type === MessageType.App && m.to === 2n);
    assert.equal(apps.length, 2);
    const pr = l.raft.tracker.progress.get(2n)!;
    assert.equal(pr.state, ProgressState.Replicate);
    assert.ok(pr.isPaused());
    net.heal();
    net.stabilize(out);
    assert.equal(net.node(2n).appliedData().length, 10);
  });

  test('an unreachable follower drops back to probing; a lost append is retried after a heartbeat', () => {
    const net = TestNetwork.withLeader(ids);
    const l = net.node(1n);
    assert.equal(l.raft.tracker.progress.get(3n)!.state, ProgressState.Replicate);
    l.node.reportUnreachable(3n);
    assert.equal(l.raft.tracker.progress.get(3n)!.state, ProgressState.Probe);
    net.filters.push((m) => m.type === MessageType.App && m.to === 3n);
    net.propose(1n, 'lost once');
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.node(3n).appliedData(), ['lost once']);
  });
});

describe('snapshots', () => {
  test('a follower whose next entry was compacted receives a snapshot and continues from it', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    for (let i = 0; i < 5; i++) net.propose(1n, `e${i}`);
    const l = net.node(1n);
    const applied = l.raft.raftLog.applied;
    l.storage.createSnapshot(applied, l.confState, utf8(`state@${applied}`));
    l.storage.compact(applied);
    net.heal();
    net.tickAll(2);
    const f = net.node(3n);
    assert.equal(f.storage.snapshot().metadata.index, applied);
    assert.equal(f.raft.raftLog.committed, applied);
    net.propose(1n, 'after');
    assert.deepEqual(f.appliedData(), ['after']);
    assert.equal(l.raft.tracker.progress.get(3n)!.state, ProgressState.Replicate);
  });

  test('a failed snapshot is retried', () => {
    const net = TestNetwork.withLeader(ids);
    net.isolate(3n);
    net.propose(1n, 'x');
    const l = net.node(1n);
    l.storage.createSnapshot(l.raft.raftLog.applied, l.confState, utf8('s'));
    l.storage.compact(l.raft.raftLog.applied);
    net.heal();
    net.filters.push((m) => m.type === MessageType.Snap);
    net.tickAll(1);
    assert.equal(l.raft.tracker.progress.get(3n)!.state, ProgressState.Snapshot);
    l.node.reportSnapshot(3n, false);
    assert.equal(l.raft.tracker.progress.get(3n)!.state, ProgressState.Probe);
    net.heal();
    net.tickAll(2);
    assert.equal(net.node(3n).raft.raftLog.committed, l.raft.raftLog.committed);
  });
});

describe('learners', () => {
  test('receive the log but neither vote nor count toward commit', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n], { learners: [3n] });
    net.propose(1n, 'a');
    assert.deepEqual(net.node(3n).appliedData(), ['a']);
    net.isolate(2n);
    net.propose(1n, 'b');
    assert.deepEqual(net.node(1n).appliedData(), ['a'], 'leader + learner is not a quorum of {1, 2}');
    const learner = net.node(3n);
    for (let i = 0; i < 50; i++) learner.node.tick();
    assert.equal(learner.role, StateRole.Follower, 'a learner never campaigns');
  });
});

describe('terms', () => {
  test('a learner that got a higher term from a stale candidate gets back in touch with the leader', () => {
    const net = TestNetwork.withLeader([1n, 2n, 3n, 4n], { learners: [4n] });
    // A removed or stale node campaigns at term 7; only the learner hears it (learners never campaign).
    net.node(4n).node.step(message({ type: MessageType.Vote, from: 9n, to: 4n, term: 7, index: 0, logTerm: 0 }));
    net.node(4n).drain();
    assert.equal(net.node(4n).term, 7);
    net.tickAll(60);
    net.propose(net.leader()!.id, 'after');
    assert.deepEqual(
      net.node(4n).appliedData(),
      ['after'],
      'its answer to the leader carried term 7; a new election followed',
    );
  });
});

describe('elections with stale state', () => {
  test('a vote request we reject does not restart our election timer (§5.2)', () => {
    const net = TestNetwork.withLeader(ids);
    const f = net.node(2n);
    for (let i = 0; i < 5; i++) f.node.tick();
    const elapsed = f.raft.electionElapsed;
    // A candidate with a stale log, at a higher term: we move to its term, refuse, keep counting.
    f.node.step(message({ type: MessageType.Vote, from: 3n, to: 2n, term: 5, index: 0, logTerm: 0 }));
    assert.equal(f.term, 5);
    assert.equal(f.raft.electionElapsed, elapsed);
  });

  test('a candidate relearns a lost commit index from vote responses', () => {
    const net = TestNetwork.withLeader(ids);
    net.propose(1n, 'a');
    // Node 3 restarts with its log but an older commit index (an unsynced hard state was lost).
    const old = net.node(3n);
    old.storage.setHardState({ ...old.storage.hardStateNow(), commit: 0 });
    const n3 = new TestNode(3n, ids, { storage: old.storage });
    assert.equal(n3.raft.raftLog.committed, 0);
    n3.node.campaign();
    n3.drain();
    n3.node.step(
      message({ type: MessageType.VoteResp, from: 2n, to: 3n, term: n3.term, reject: true, commit: 2, logTerm: 1 }),
    );
    assert.equal(n3.raft.raftLog.committed, 2, 'same (index, term) in its log: the commit index is adopted');
    n3.node.step(
      message({ type: MessageType.VoteResp, from: 1n, to: 3n, term: n3.term, reject: true, commit: 9, logTerm: 1 }),
    );
    assert.equal(n3.raft.raftLog.committed, 2, 'an index it does not hold is not');
  });
});

describe('single-member cluster', () => {
  test('the only voter elects itself, commits its own entries and serves reads at once', () => {
    const n = new TestNode(1n, [1n]);
    for (let i = 0; i < 20 && n.role !== StateRole.Leader; i++) {
      n.node.tick();
      n.drain();
    }
    assert.equal(n.role, StateRole.Leader);
    n.node.propose(utf8('solo'));
    n.drain();
    assert.deepEqual(n.appliedData(), ['solo']);
    n.node.readIndex(utf8('q'));
    n.drain();
    assert.deepEqual(n.readStates, [{ index: 2, requestCtx: utf8('q') }], 'the empty entry is 1, the proposal 2');
  });
});
