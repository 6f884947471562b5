import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Snapshot } from '../../raft/types.js';
import { Wal } from '../wal/index.js';
import { META, collectLogs, entries, tempDir } from '../../../testing/wal-fixture.js';
import { SnapError, Snapshotter, parseSnapName, snapName } from './index.js';

function snap(index: number, term: number, size = 1000): Snapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index + i * 13) & 0xff;
  return { metadata: { index, term, confState: { voters: [1n, 0xffffffffffffffffn], learners: [3n] } }, data };
}

const snapFiles = (dir: string): string[] => readdirSync(dir).sort();

test('save + load round-trip, etcd-style names, no temp files left', async (t) => {
  const dir = join(tempDir(t, 'conclave-snap-'), 'snap');
  const s = new Snapshotter(dir);
  assert.equal(await s.loadNewest(), null); // no directory yet
  const big = { ...snap(1000, 4), data: new Uint8Array(randomBytes(3 * 1024 * 1024)) };
  assert.equal(await s.save(big), '0000000000000004-00000000000003e8.snap');
  assert.equal(snapName(4, 1000), '0000000000000004-00000000000003e8.snap');
  assert.deepEqual(parseSnapName('0000000000000004-00000000000003e8.snap'), { term: 4, index: 1000 });
  assert.deepEqual(snapFiles(dir), ['0000000000000004-00000000000003e8.snap']);
  assert.deepEqual(await s.load('0000000000000004-00000000000003e8.snap'), big);
  assert.deepEqual(await s.loadNewest(), big);
  assert.equal(await s.save(snap(0, 0)), null); // empty snapshots are not saved
  const empty = { ...snap(5, 1), data: new Uint8Array(0) };
  await s.save(empty);
  assert.deepEqual(await s.load(snapName(1, 5)), empty);
  await assert.rejects(s.load(snapName(9, 9)), { code: 'SNAP_NOT_FOUND' });
});

test('loadNewest picks the highest index, skips corrupt files (renamed .broken) and rejected ones', async (t) => {
  const dir = tempDir(t, 'conclave-snap-');
  const logs = collectLogs();
  const s = new Snapshotter(dir, { logger: logs.logger });
  for (const [i, term] of [
    [10, 1],
    [20, 1],
    [30, 2],
    [40, 2],
  ] as const) {
    await s.save(snap(i, term));
  }
  assert.deepEqual(
    (await s.list()).map((n) => parseSnapName(n)?.index),
    [40, 30, 20, 10],
  );

  // Corrupt 40 (flipped data bit) and 30 (truncated).
  const p40 = join(dir, snapName(2, 40));
  const b40 = readFileSync(p40);
  b40[b40.length - 1]! ^= 1;
  writeFileSync(p40, b40);
  const p30 = join(dir, snapName(2, 30));
  writeFileSync(p30, readFileSync(p30).subarray(0, 50));

  const got = await s.loadNewest((m) => m.index !== 20); // 20 has no WAL marker, say
  assert.deepEqual(got, snap(10, 1));
  assert.deepEqual(snapFiles(dir), [
    snapName(1, 10),
    snapName(1, 20),
    `${snapName(2, 30)}.broken`,
    `${snapName(2, 40)}.broken`,
  ]);
  assert.equal(logs.events.filter((e) => e.msg === 'snap: renamed corrupt snapshot').length, 2);
  // Without the filter, 20 is now the newest valid one.
  assert.deepEqual(await s.loadNewest(), snap(20, 1));
  await assert.rejects(
    s.load(`${snapName(2, 40)}.broken`),
    (err: unknown) => err instanceof SnapError && err.code === 'SNAP_CORRUPT',
  );
});

test('every kind of damage is detected: bit flips anywhere, truncation, wrong name', async (t) => {
  const dir = tempDir(t, 'conclave-snap-');
  const s = new Snapshotter(dir);
  const name = (await s.save(snap(7, 3, 64)))!;
  const good = readFileSync(join(dir, name));
  for (let i = 0; i < good.length; i++) {
    const b = Buffer.from(good);
    b[i]! ^= 0x40;
    writeFileSync(join(dir, name), b);
    await assert.rejects(s.load(name), { code: 'SNAP_CORRUPT' }, `flip at ${i}`);
  }
  for (const cut of [0, 10, 24, good.length - 1]) {
    writeFileSync(join(dir, name), good.subarray(0, cut));
    await assert.rejects(s.load(name), { code: 'SNAP_CORRUPT' }, `cut at ${cut}`);
  }
  writeFileSync(join(dir, snapName(3, 8)), good); // valid content under another snapshot's name
  await assert.rejects(s.load(snapName(3, 8)), /file name disagrees/);
});

test('purge keeps the newest N (etcd --max-snapshots), 0 keeps all, leftovers of interrupted saves go', async (t) => {
  const dir = tempDir(t, 'conclave-snap-');
  const s = new Snapshotter(dir);
  for (let i = 1; i <= 8; i++) await s.save(snap(i * 100, 1, 10));
  writeFileSync(join(dir, `${snapName(1, 900)}.tmp`), 'partial');
  assert.deepEqual(await s.purge(0), [`${snapName(1, 900)}.tmp`]);
  assert.equal((await s.list()).length, 8);
  const purged = await s.purge(5);
  assert.deepEqual(purged, [snapName(1, 100), snapName(1, 200), snapName(1, 300)]);
  assert.deepEqual(
    await s.list(),
    [800, 700, 600, 500, 400].map((i) => snapName(1, i)),
  );
  assert.deepEqual(await s.purge(), []);
});

test('startup as etcd does it: newest snapshot with a WAL marker, then WAL replay after it', async (t) => {
  const base = tempDir(t, 'conclave-snap-');
  const walDir = join(base, 'wal');
  const snaps = new Snapshotter(join(base, 'snap'));
  const wal = await Wal.create(walDir, { metadata: META });
  await wal.save({ term: 1, vote: 1n, commit: 50 }, entries(1, 50), true);
  for (const i of [20, 40]) {
    await snaps.save(snap(i, 1)); // snapshot file first, then the marker, as etcd's storage.SaveSnap
    await wal.saveSnapshotMarker({ index: i, term: 1 });
    wal.releaseTo(i);
  }
  await snaps.save(snap(45, 1)); // crash before its marker was written
  await wal.close();

  const markers = await Wal.validSnapshotMarkers(walDir);
  const s = await snaps.loadNewest((m) => markers.some((k) => k.index === m.index && k.term === m.term));
  assert.equal(s?.metadata.index, 40);
  const w2 = await Wal.open(walDir);
  const r = await w2.readAll({ index: s!.metadata.index, term: s!.metadata.term });
  assert.deepEqual(r.entries, entries(41, 50));
  await w2.close();
});
