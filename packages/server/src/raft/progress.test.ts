import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inflights, Progress, ProgressState } from './progress.js';
import { committedIndex, VoteResult, voteResult } from './quorum.js';

describe('Inflights', () => {
  test('bounded by count, wraps around, frees acknowledged prefixes', () => {
    const inf = new Inflights(3, Number.MAX_SAFE_INTEGER);
    inf.add(5, 10);
    inf.add(7, 10);
    inf.add(9, 10);
    assert.equal(inf.full(), true);
    assert.throws(() => inf.add(10, 1));
    inf.freeLE(6);
    assert.equal(inf.count, 2);
    assert.equal(inf.bytes, 20);
    inf.add(11, 10);
    inf.freeLE(4);
    assert.equal(inf.count, 3, 'a stale ack frees nothing');
    inf.freeFirstOne();
    assert.equal(inf.count, 2);
    inf.freeLE(100);
    assert.equal(inf.count, 0);
    assert.equal(inf.bytes, 0);
  });

  test('bounded by bytes', () => {
    const inf = new Inflights(100, 25);
    inf.add(1, 10);
    inf.add(2, 10);
    assert.equal(inf.full(), false);
    inf.add(3, 10);
    assert.equal(inf.full(), true);
    inf.freeLE(1);
    assert.equal(inf.full(), false);
  });
});

describe('Progress', () => {
  const fresh = (next: number) => new Progress(next, new Inflights(2, Number.MAX_SAFE_INTEGER), false);

  test('probe: one append at a time; an ack switches to replicate', () => {
    const pr = fresh(5);
    assert.equal(pr.isPaused(), false);
    pr.probeSent = true;
    assert.equal(pr.isPaused(), true);
    assert.equal(pr.maybeUpdate(4), true);
    assert.equal(pr.isPaused(), false, 'an ack resumes probing');
    pr.becomeReplicate();
    assert.equal(pr.state, ProgressState.Replicate);
    assert.equal(pr.next, 5);
  });

  test('maybeDecrTo: probe jumps to the hint; replicate falls back to match+1; stale rejections are ignored', () => {
    const pr = fresh(10);
    assert.equal(pr.maybeDecrTo(8, 3), false, 'not a rejection of our last probe');
    assert.equal(pr.maybeDecrTo(9, 3), true);
    assert.equal(pr.next, 4);
    assert.equal(pr.maybeDecrTo(3, 0), true);
    assert.equal(pr.next, 1, 'never below 1');
    const r = fresh(1);
    r.maybeUpdate(5);
    r.becomeReplicate();
    r.optimisticUpdate(9);
    assert.equal(r.maybeDecrTo(4, 0), false, 'rejection below match is stale');
    assert.equal(r.maybeDecrTo(7, 0), true);
    assert.equal(r.next, 6);
  });

  test('snapshot state pauses until the snapshot is done, then probes after it', () => {
    const pr = fresh(3);
    pr.becomeSnapshot(20);
    assert.equal(pr.isPaused(), true);
    pr.becomeProbe();
    assert.equal(pr.state, ProgressState.Probe);
    assert.equal(pr.next, 21);
  });

  test('replicate pauses when the in-flight window is full', () => {
    const pr = fresh(1);
    pr.becomeReplicate();
    pr.inflights.add(1, 1);
    pr.inflights.add(2, 1);
    assert.equal(pr.isPaused(), true);
  });
});

describe('quorum', () => {
  test('committedIndex is the largest index a majority holds', () => {
    const m = new Map([
      [1n, 5],
      [2n, 3],
      [3n, 9],
    ]);
    assert.equal(
      committedIndex([1n, 2n, 3n], (id) => m.get(id)),
      5,
    );
    assert.equal(
      committedIndex([1n, 2n, 3n, 4n], (id) => m.get(id)),
      3,
      'missing voter counts 0',
    );
    assert.equal(
      committedIndex([3n], (id) => m.get(id)),
      9,
    );
    assert.equal(
      committedIndex([], () => 0),
      0,
    );
  });

  test('voteResult', () => {
    const v = (...xs: [bigint, boolean][]) => new Map(xs);
    assert.equal(voteResult([1n, 2n, 3n], v([1n, true])), VoteResult.Pending);
    assert.equal(voteResult([1n, 2n, 3n], v([1n, true], [2n, true])), VoteResult.Won);
    assert.equal(voteResult([1n, 2n, 3n], v([1n, true], [2n, false], [3n, false])), VoteResult.Lost);
    assert.equal(voteResult([1n, 2n, 3n, 4n], v([1n, true], [2n, true], [3n, false])), VoteResult.Pending);
    assert.equal(
      voteResult([1n, 2n, 3n, 4n], v([1n, true], [9n, true])),
      VoteResult.Pending,
      'non-voters do not count',
    );
  });
});
