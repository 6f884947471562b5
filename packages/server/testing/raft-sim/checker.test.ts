// The simulator is only as good as its checks: each invariant must catch a violation.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeConfChange } from '../../src/raft/codec.js';
import { ConfChangeType, type Entry, EntryType, EMPTY_BYTES } from '../../src/raft/types.js';
import { Checker, InvariantViolation, nextStateHash } from './checker.js';
import { Disk } from './disk.js';
import { Rng } from './rng.js';

const e = (index: number, term: number, data = `${index}/${term}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(data),
});
const conf = (index: number, type: ConfChangeType, id: bigint): Entry => ({
  index,
  term: 1,
  type: EntryType.ConfChange,
  data: encodeConfChange({ type, nodeId: id, context: EMPTY_BYTES, id: 0n }),
});

/** A checker that has seen a founding configuration of voters 1..3 committed at indexes 1..3. */
function bootstrapped(): Checker {
  const c = new Checker();
  c.onCommitted(1n, [
    conf(1, ConfChangeType.AddNode, 1n),
    conf(2, ConfChangeType.AddNode, 2n),
    conf(3, ConfChangeType.AddNode, 3n),
  ]);
  return c;
}

const noLog = () => undefined;

describe('Checker', () => {
  test('two leaders in one term', () => {
    const c = bootstrapped();
    c.onElected(1n, 2, [1n, 2n, 3n], [1n, 2n], () => 1, 1, 3);
    assert.throws(() => c.onElected(2n, 2, [1n, 2n, 3n], [2n, 3n], () => 1, 1, 3), InvariantViolation);
  });

  test('log matching: different entries at the same index and term, or different predecessors', () => {
    const c = new Checker();
    c.onPersistedEntries(1n, [e(4, 2, 'a'), e(5, 2)], 1);
    assert.throws(() => c.onPersistedEntries(2n, [e(4, 2, 'b')], 1), InvariantViolation);
    assert.throws(() => new Checker().onPersistedEntries(1n, [e(4, 2), e(4, 2, 'x')], 1), InvariantViolation);
    const d = new Checker();
    d.onPersistedEntries(1n, [e(4, 2)], 1);
    assert.throws(() => d.onPersistedEntries(2n, [e(4, 2)], 2), InvariantViolation);
  });

  test('a committed entry may not change', () => {
    const c = bootstrapped();
    c.onCommitted(1n, [e(4, 2, 'a')]);
    assert.throws(() => c.onCommitted(2n, [e(4, 3, 'b')]), InvariantViolation);
  });

  test('leader completeness', () => {
    const c = bootstrapped();
    c.onCommit(1n, 2, 4, [1n, 2n, 3n], [1n, 2n]);
    c.onCommitted(1n, [e(4, 2)]);
    const terms = [0, 1, 1, 1, 2];
    assert.throws(() => c.onElected(3n, 3, [1n, 2n, 3n], [2n, 3n], (i) => terms[i], 1, 3), /leader completeness/);
    assert.throws(
      () => c.onElected(3n, 3, [1n, 2n, 3n], [2n, 3n], (i) => (i === 4 ? 1 : terms[i]), 1, 4),
      /leader completeness/,
    );
    c.onElected(3n, 3, [1n, 2n, 3n], [2n, 3n], (i) => terms[i], 1, 4);
  });

  test('state machine safety', () => {
    const c = bootstrapped();
    c.onCommitted(1n, [e(4, 2)]);
    c.onApplied(1n, e(4, 2), nextStateHash(7, e(4, 2)));
    assert.throws(
      () => c.onApplied(2n, e(4, 2), nextStateHash(8, e(4, 2))),
      InvariantViolation,
      'same entry, different state',
    );
    assert.throws(() => c.onApplied(2n, e(5, 2), 1), /no node has committed/);
  });

  test('stale reads', () => {
    const c = new Checker();
    c.onReadState(1n, 10, 10);
    assert.throws(() => c.onReadState(1n, 9, 10), /stale read/);
  });

  test('membership: decisions must use the latest committed configuration or the one before', () => {
    const c = bootstrapped();
    c.onCommit(1n, 2, 4, [1n, 2n, 3n], [1n, 2n]);
    c.onCommitted(1n, [conf(4, ConfChangeType.AddNode, 4n)]);
    c.onCommit(1n, 2, 5, [1n, 2n, 3n], [1n, 2n]); // the previous configuration is still fine
    c.onCommitted(1n, [conf(5, ConfChangeType.RemoveNode, 1n)]);
    c.onCommit(2n, 3, 6, [2n, 3n, 4n], [2n, 3n]);
    assert.throws(() => c.onElected(1n, 4, [1n, 2n, 3n], [1n, 3n], noLog, 1, 0), /membership/);
    assert.throws(() => c.onCommit(2n, 3, 7, [2n, 3n, 4n], [2n]), /not a majority/);
  });
});

describe('Checker configurations', () => {
  test('follow the servers: a removed member is never added back', () => {
    const c = bootstrapped();
    c.onCommitted(1n, [
      conf(4, ConfChangeType.RemoveNode, 3n),
      conf(5, ConfChangeType.AddNode, 3n),
      conf(6, ConfChangeType.AddLearnerNode, 4n),
    ]);
    const latest = c.latestConfig()!;
    assert.deepEqual([...latest.voters], [1n, 2n]);
    assert.deepEqual([...latest.learners], [4n]);
  });
});

describe('Disk', () => {
  test('a crash keeps what was synced and loses at most an unsynced tail', () => {
    const d = new Disk();
    d.write(null, { term: 1, vote: 1n, commit: 0 }, [e(1, 1), e(2, 1)], true);
    d.write(null, { term: 1, vote: 1n, commit: 2 }, [], false);
    d.write(null, null, [e(3, 1)], false);
    d.crash(new Rng(1));
    const { storage } = d.open();
    assert.ok(storage.lastIndex() >= 2, 'synced entries survive');
    assert.ok(storage.lastIndex() <= 3);
    const d2 = new Disk();
    d2.write(null, null, [e(1, 1)], false);
    d2.write(null, null, [e(2, 1)], true);
    d2.crash(new Rng(2));
    assert.equal(d2.open().storage.lastIndex(), 2, 'a sync makes everything before it durable');
  });
});
