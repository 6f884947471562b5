import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from './config.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError, RaftUsageError } from './errors.js';
import { RaftLog } from './log.js';
import { Unstable } from './log-unstable.js';
import { MemoryStorage } from './storage.js';
import { type Entry, EntryType, type Snapshot } from './types.js';

function ents(from: number, terms: number[], size = 0): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: EntryType.Normal, data: new Uint8Array(size) }));
}

function snap(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: { voters: [1n], learners: [] } }, data: new Uint8Array([1]) };
}

function logWith(stable: Entry[], unstable: Entry[] = []): RaftLog {
  const s = new MemoryStorage();
  s.append(stable);
  const log = new RaftLog(s, silentLogger, Number.MAX_SAFE_INTEGER);
  log.append(unstable);
  return log;
}

describe('MemoryStorage', () => {
  test('term, entries and bounds', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 3]));
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 4);
    assert.equal(s.term(0), 0);
    assert.equal(s.term(3), 2);
    assert.throws(() => s.term(5), UnavailableError);
    assert.deepEqual(
      s.entries(2, 4, Infinity).map((e) => e.index),
      [2, 3],
    );
    assert.throws(() => s.entries(0, 2, Infinity), CompactedError);
    assert.throws(() => s.entries(2, 6, Infinity), UnavailableError);
    assert.deepEqual(s.entries(3, 3, Infinity), []);
  });

  test('entries() honours maxSize but returns at least one entry', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1, 1], 100));
    assert.equal(s.entries(1, 5, 0).length, 1);
    assert.equal(s.entries(1, 5, 250).length, 2);
    assert.equal(s.entries(1, 5, Infinity).length, 4);
  });

  test('append truncates a conflicting suffix and ignores compacted entries', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1]));
    s.append(ents(2, [2]));
    assert.equal(s.lastIndex(), 2);
    assert.equal(s.term(2), 2);
    assert.throws(() => s.append(ents(5, [2])), UnavailableError, 'a gap');
    s.createSnapshot(2, { voters: [1n], learners: [] }, new Uint8Array());
    s.compact(2);
    s.append(ents(1, [1, 2, 2]));
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.lastIndex(), 3);
  });

  test('snapshots and compaction', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2, 3]));
    assert.throws(() => s.compact(3), RaftUsageError, 'cannot compact past the snapshot');
    const sn = s.createSnapshot(3, { voters: [1n, 2n], learners: [] }, new Uint8Array([7]));
    assert.deepEqual(sn.metadata, { index: 3, term: 2, confState: { voters: [1n, 2n], learners: [] } });
    assert.throws(() => s.createSnapshot(2, { voters: [], learners: [] }, new Uint8Array()), SnapshotOutOfDateError);
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 2, 'the snapshot index keeps its term');
    assert.throws(() => s.term(2), CompactedError);
    assert.throws(() => s.compact(3), CompactedError);
    s.applySnapshot(snap(10, 4));
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.deepEqual(s.initialState().confState, { voters: [1n], learners: [] });
    assert.throws(() => s.applySnapshot(snap(9, 4)), SnapshotOutOfDateError);
  });
});

describe('Unstable', () => {
  test('truncateAndAppend: append, replace all, truncate in the middle', () => {
    const u = new Unstable(5);
    u.truncateAndAppend(ents(5, [1, 1, 1]));
    u.truncateAndAppend(ents(8, [1]));
    assert.deepEqual(
      u.entries.map((e) => e.index),
      [5, 6, 7, 8],
    );
    u.truncateAndAppend(ents(7, [2]));
    assert.deepEqual(
      u.entries.map((e) => [e.index, e.term]),
      [
        [5, 1],
        [6, 1],
        [7, 2],
      ],
    );
    u.truncateAndAppend(ents(3, [3]));
    assert.equal(u.offset, 3);
    assert.deepEqual(
      u.entries.map((e) => e.index),
      [3],
    );
  });

  test('stableTo ignores a stale (replaced) entry', () => {
    const u = new Unstable(1);
    u.truncateAndAppend(ents(1, [1, 1, 1]));
    u.truncateAndAppend(ents(3, [2]));
    u.stableTo(3, 1);
    assert.equal(u.entries.length, 3, 'entry 3 of term 1 was replaced: nothing is stable yet');
    u.stableTo(2, 1);
    assert.equal(u.offset, 3);
    assert.deepEqual(
      u.entries.map((e) => [e.index, e.term]),
      [[3, 2]],
    );
  });
});

describe('RaftLog', () => {
  test('maybeAppend: matches, conflicts and commit', () => {
    const log = logWith(ents(1, [1, 2, 3]));
    assert.equal(log.maybeAppend(3, 2, 3, ents(4, [4])), undefined, 'prev term mismatch');
    assert.equal(log.maybeAppend(3, 3, 2, ents(4, [4, 4])), 5);
    assert.equal(log.committed, 2);
    assert.equal(log.maybeAppend(2, 2, 10, ents(3, [5])), 3, 'conflict at 3 truncates 3..5');
    assert.equal(log.lastIndex(), 3);
    assert.equal(log.committed, 3, 'commit capped at the last new entry');
    assert.throws(() => log.maybeAppend(1, 1, 3, ents(2, [9])), /conflicts with committed/);
  });

  test('findConflict and findConflictByTerm', () => {
    const log = logWith(ents(1, [1, 1, 2, 2, 3]));
    assert.equal(log.findConflict(ents(1, [1, 1])), 0);
    assert.equal(log.findConflict(ents(4, [2, 3, 3])), 6, 'new entries beyond the log');
    assert.equal(log.findConflict(ents(3, [3])), 3);
    assert.deepEqual(log.findConflictByTerm(5, 2), [4, 2]);
    assert.deepEqual(log.findConflictByTerm(5, 1), [2, 1]);
    assert.deepEqual(log.findConflictByTerm(5, 0), [0, 0]);
  });

  test('isUpToDate compares last term, then length', () => {
    const log = logWith(ents(1, [1, 2, 2]));
    assert.equal(log.isUpToDate(1, 3), true);
    assert.equal(log.isUpToDate(3, 2), true);
    assert.equal(log.isUpToDate(2, 2), false);
    assert.equal(log.isUpToDate(9, 1), false);
  });

  test('maybeCommit only commits an entry of the given term', () => {
    const log = logWith(ents(1, [1, 2]));
    assert.equal(log.maybeCommit(1, 2), false);
    assert.equal(log.maybeCommit(2, 2), true);
    assert.equal(log.committed, 2);
    assert.throws(() => log.commitTo(5), /out of range/);
  });

  test('nextEnts spans storage and unstable entries and respects applied', () => {
    const log = logWith(ents(1, [1, 1]), ents(3, [1, 1]));
    log.commitTo(3);
    assert.deepEqual(
      log.nextEnts().map((e) => e.index),
      [1, 2, 3],
    );
    log.appliedTo(2);
    assert.deepEqual(
      log.nextEnts().map((e) => e.index),
      [3],
    );
    assert.equal(log.hasNextEnts(), true);
    log.appliedTo(3);
    assert.equal(log.hasNextEnts(), false);
  });

  test('slice across the stable/unstable boundary, size-limited, and compaction errors', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 1, 1], 10));
    s.createSnapshot(2, { voters: [1n], learners: [] }, new Uint8Array());
    s.compact(2);
    const log = new RaftLog(s, silentLogger, Infinity);
    log.append(ents(5, [2, 2], 10));
    assert.deepEqual(
      log.slice(3, 7, Infinity).map((e) => e.index),
      [3, 4, 5, 6],
    );
    assert.deepEqual(
      log.slice(3, 7, 44).map((e) => e.index),
      [3, 4],
    );
    assert.throws(() => log.slice(2, 4, Infinity), CompactedError);
    assert.equal(log.term(2), 1, 'the snapshot index has a term');
    assert.equal(log.term(1), undefined, 'compacted');
    assert.equal(log.term(7), undefined, 'beyond the end');
  });

  test('restore replaces the log with a snapshot', () => {
    const log = logWith(ents(1, [1, 1]));
    log.restore(snap(10, 3));
    assert.equal(log.committed, 10);
    assert.equal(log.firstIndex(), 11);
    assert.equal(log.lastIndex(), 10);
    assert.equal(log.lastTerm(), 3);
    assert.equal(log.hasPendingSnapshot(), true);
    log.stableSnapTo(10);
    assert.equal(log.hasPendingSnapshot(), false);
  });
});
