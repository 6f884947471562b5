import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Wal, WalCorruptionError, WalSnapshotMismatchError, WalSnapshotNotFoundError } from './index.js';
import { META, entries, entry, tempDir } from '../../../testing/wal-fixture.js';

const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
const firstIndexOf = (name: string): number => Number.parseInt(name.slice(17, 33), 16);

async function readAll(dir: string, from?: { index: number; term: number }) {
  const wal = await Wal.open(dir);
  try {
    return await wal.readAll(from);
  } finally {
    await wal.close();
  }
}

test('a snapshot marker makes replay start after it; unknown or mismatched snapshots fail', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 2048 });
  await wal.save({ term: 1, vote: 1n, commit: 40 }, entries(1, 50, 1, 100), true);
  await wal.saveSnapshotMarker({ index: 30, term: 1 });
  await wal.save(null, entries(51, 60, 1, 100), true);
  await wal.saveSnapshotMarker({ index: 55, term: 1 }); // beyond commit 40
  await wal.close();

  const r = await readAll(dir, { index: 30, term: 1 });
  assert.deepEqual(r.entries, entries(31, 60, 1, 100));
  assert.deepEqual(r.lastSnapshotMarker, { index: 55, term: 1 });
  assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 40 });
  assert.deepEqual((await readAll(dir, { index: 55, term: 1 })).entries, entries(56, 60, 1, 100));
  assert.equal((await readAll(dir)).entries.length, 60);

  await assert.rejects(readAll(dir, { index: 30, term: 2 }), WalSnapshotMismatchError);
  await assert.rejects(readAll(dir, { index: 25, term: 1 }), WalSnapshotNotFoundError);
  // Only markers at or below the committed index are loadable snapshots (etcd's ValidSnapshotEntries).
  assert.deepEqual(await Wal.validSnapshotMarkers(dir), [{ index: 30, term: 1 }]);
});

test('a marker beyond the log (snapshot received from the leader) moves lastIndex', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  await wal.save(null, entries(1, 5), true);
  await wal.saveSnapshotMarker({ index: 100, term: 3 });
  assert.equal(wal.lastIndex, 100);
  await wal.save({ term: 3, vote: 0n, commit: 101 }, entries(101, 103, 3), true);
  await wal.close();
  const w2 = await Wal.open(dir);
  const r = await w2.readAll({ index: 100, term: 3 });
  assert.deepEqual(r.entries, entries(101, 103, 3));
  assert.equal(w2.lastIndex, 103);
  await w2.close();
  // Without the snapshot, the entries after the marker do not follow the entries before it.
  await assert.rejects(readAll(dir), (err: unknown) => err instanceof WalCorruptionError && /missing/.test(err.reason));
});

test('every segment is self-describing: replay from any segment boundary works with older segments gone', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 1024 });
  for (let i = 1; i <= 60; i++) {
    await wal.save({ term: 2, vote: 7n, commit: i }, [entry(i, 2, 100)], true);
    await wal.saveSnapshotMarker({ index: i, term: 2 });
  }
  await wal.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 6);
  for (let k = 1; k < files.length; k++) rmSync(join(dir, files[k - 1]!));
  // Only the last segment is left; its header carries metadata, hard state and the newest marker.
  const last = files.at(-1)!;
  const f = firstIndexOf(last);
  const r = await readAll(dir, { index: f - 1, term: 2 });
  assert.deepEqual(r.metadata, META);
  assert.deepEqual(r.entries, entries(f, 60, 2, 100));
  assert.deepEqual(r.hardState, { term: 2, vote: 7n, commit: 60 });
  assert.deepEqual(r.lastSnapshotMarker, { index: 60, term: 2 });
});

test('releaseTo + purge keep at most N segments, never one still needed after the newest marker', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 2048 });
  for (let i = 1; i <= 200; i++) await wal.save(null, [entry(i, 1, 100)], true);
  const all = segmentFiles(dir);
  assert.ok(all.length >= 10, `${all.length} segments`);

  // Nothing is released before a snapshot marker exists, whatever index is asked for.
  wal.releaseTo(200);
  assert.deepEqual(await wal.purge(1), []);

  await wal.saveSnapshotMarker({ index: 150, term: 1 });
  wal.releaseTo(1000); // clamped to the marker: 150
  assert.deepEqual(await wal.purge(0), []); // 0 = unlimited
  const purged = await wal.purge(1);
  const left = segmentFiles(dir);
  assert.deepEqual([...purged, ...left], all);
  // The oldest remaining segment is the one replay after snapshot 150 starts from.
  assert.ok(firstIndexOf(left[0]!) <= 151);
  assert.ok(left.length < 2 || firstIndexOf(left[1]!) > 151);
  assert.equal(wal.stats.segmentsPurged, purged.length);
  await wal.close();

  const r = await readAll(dir, { index: 150, term: 1 });
  assert.deepEqual(r.entries, entries(151, 200, 1, 100));
  await assert.rejects(readAll(dir), WalCorruptionError); // entries 1..150 are gone
});

test('purge(maxFiles) keeps maxFiles when more than that are released; releaseTo is monotonic', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 2048 });
  for (let i = 1; i <= 200; i++) await wal.save(null, [entry(i, 1, 100)], true);
  await wal.saveSnapshotMarker({ index: 190, term: 1 });
  wal.releaseTo(190);
  wal.releaseTo(20); // does not un-release
  const before = segmentFiles(dir).length;
  const purged = await wal.purge(5);
  assert.equal(purged.length, before - 5);
  assert.equal(segmentFiles(dir).length, 5);
  assert.equal((await wal.purge(5)).length, 0);
  await wal.close();
  assert.deepEqual((await readAll(dir, { index: 190, term: 1 })).entries, entries(191, 200, 1, 100));
});
