import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Wal } from './index.js';
import { META, collectLogs, entries, entry, tempDir } from '../../../testing/wal-fixture.js';

async function reopen(dir: string, opts: Parameters<typeof Wal.open>[1] = {}, from?: { index: number; term: number }) {
  const wal = await Wal.open(dir, opts);
  const r = await wal.readAll(from);
  return { wal, r };
}

const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();

test('replay returns exactly what was saved: metadata, last hard state, entries', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  assert.equal(wal.lastIndex, 0);
  await wal.save({ term: 1, vote: 3n, commit: 0 }, entries(1, 10), true);
  await wal.save(null, entries(11, 20, 2, 1000), true);
  await wal.save({ term: 2, vote: 0xffffffffffffffffn, commit: 15 }, [], true);
  assert.equal(wal.lastIndex, 20);
  await wal.close();

  const { wal: w2, r } = await reopen(dir);
  assert.deepEqual(r.metadata, META);
  assert.deepEqual(r.hardState, { term: 2, vote: 0xffffffffffffffffn, commit: 15 });
  assert.deepEqual(r.entries, [...entries(1, 10), ...entries(11, 20, 2, 1000)]);
  assert.equal(r.lastSnapshotMarker, null);
  assert.equal(w2.lastIndex, 20);
  // Appends continue where the log ended.
  await w2.save(null, entries(21, 22), true);
  await w2.close();
  const { wal: w3, r: r3 } = await reopen(dir);
  assert.equal(r3.entries.length, 22);
  await w3.close();
});

test('group commit: 1,000 concurrent saves share few fsyncs, all resolve, order is kept', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  // 1,000 saves issued without awaiting.
  let next = 1;
  const resolvedOrder: number[] = [];
  const all: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) {
    const idx = next++;
    all.push(
      wal
        .save({ term: 1, vote: 1n, commit: idx - 1 }, [entry(idx, 1, 256)], true)
        .then(() => void resolvedOrder.push(idx)),
    );
  }
  await Promise.all(all);
  const s = wal.stats;
  assert.equal(s.saves, 1000);
  assert.ok(s.fsyncs <= 10, `expected far fewer fsyncs than saves, got ${s.fsyncs}`);
  assert.deepEqual(
    resolvedOrder,
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );

  // A second wave issued while a flush is in flight coalesces into the following batch.
  const wave: Promise<void>[] = [wal.save(null, [entry(1001)], true)];
  await new Promise((r) => setImmediate(r));
  for (let i = 1002; i <= 1100; i++) wave.push(wal.save(null, [entry(i)], true));
  await Promise.all(wave);
  assert.ok(wal.stats.fsyncs - s.fsyncs <= 4, `second wave used ${wal.stats.fsyncs - s.fsyncs} fsyncs`);

  // 50 writers, each saving again as soon as its previous save resolves.
  const before = wal.stats;
  let idx = 1100;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let k = 0; k < 20; k++) {
        const i = ++idx;
        await wal.save(null, [entry(i, 1, 256)], true);
      }
    }),
  );
  const saves = wal.stats.saves - before.saves;
  const fsyncs = wal.stats.fsyncs - before.fsyncs;
  assert.equal(saves, 1000);
  assert.ok(fsyncs * 5 < saves, `${saves} saves took ${fsyncs} fsyncs`);
  await wal.close();

  const { wal: w2, r } = await reopen(dir);
  assert.deepEqual(
    r.entries.map((e) => e.index),
    Array.from({ length: 2100 }, (_, i) => i + 1),
  );
  assert.deepEqual(r.entries[999], entry(1000, 1, 256));
  assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 999 });
  await w2.close();
});

test('sync=false saves resolve after the write; close() makes them durable', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  await Promise.all([wal.save(null, entries(1, 5), false), wal.save(null, entries(6, 9), false)]);
  assert.equal(wal.stats.fsyncs, 0);
  const empty = wal.save(null, [], true); // waits for the earlier writes to become durable
  await empty;
  assert.equal(wal.stats.fsyncs, 1);
  await wal.close();
  const { wal: w2, r } = await reopen(dir);
  assert.equal(r.entries.length, 9);
  await w2.close();
});

test('overwritten tails: a later append at index i supersedes earlier entries ≥ i', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 2048 });
  await wal.save(null, entries(1, 30, 1, 100), true); // fills the first segment
  await wal.save(null, entries(11, 15, 2, 100), true); // new leader overwrites 11.. (16..30 of term 1 gone), in segment 2
  assert.equal(wal.lastIndex, 15);
  await wal.save(null, entries(16, 18, 2, 100), true);
  await wal.save(null, entries(18, 19, 3, 100), true); // and again
  await wal.close();
  assert.ok(segmentFiles(dir).length > 1);

  const { wal: w2, r } = await reopen(dir);
  assert.deepEqual(r.entries, [...entries(1, 10, 1, 100), ...entries(11, 17, 2, 100), ...entries(18, 19, 3, 100)]);
  assert.equal(w2.lastIndex, 19);
  await w2.close();
});

test('segment rollover: files named <seq>-<firstIndex>.wal, replay across segments', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 4096 });
  for (let i = 1; i <= 200; i++) await wal.save({ term: 1, vote: 0n, commit: i - 1 }, [entry(i, 1, 100)], true);
  const cut = wal.stats.segmentsCut;
  await wal.close();
  const files = segmentFiles(dir);
  assert.equal(files.length, cut + 1);
  assert.ok(files.length >= 5, `only ${files.length} segments`);
  files.forEach((name, seq) =>
    assert.match(name, new RegExp(`^${seq.toString(16).padStart(16, '0')}-[0-9a-f]{16}\\.wal$`)),
  );
  // Each segment's first index is one past the last entry before it.
  for (const name of files.slice(1)) {
    const first = Number.parseInt(name.slice(17, 33), 16);
    assert.ok(first > 1 && first <= 200);
  }
  // Full segments are trimmed to their data, roughly the configured size.
  for (const name of files.slice(0, -1)) assert.ok(statSync(join(dir, name)).size < 4096 + 200);

  const { wal: w2, r } = await reopen(dir);
  assert.deepEqual(
    r.entries,
    Array.from({ length: 200 }, (_, i) => entry(i + 1, 1, 100)),
  );
  assert.deepEqual(r.hardState, { term: 1, vote: 0n, commit: 199 });
  await w2.close();
});

test('preallocated segments: zero-filled files, clean reopen without a repair, cuts trim the old file', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const logs = collectLogs();
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 8192, preallocate: true, logger: logs.logger });
  assert.equal(statSync(join(dir, segmentFiles(dir)[0]!)).size, 8192);
  for (let i = 1; i <= 100; i++) await wal.save(null, [entry(i, 1, 200)], true);
  await wal.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3);
  assert.equal(statSync(join(dir, files.at(-1)!)).size, 8192); // the last one keeps its preallocated size
  assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));

  const logs2 = collectLogs();
  const { wal: w2, r } = await reopen(dir, { preallocate: true, segmentSize: 8192, logger: logs2.logger });
  assert.equal(r.entries.length, 100);
  assert.ok(!logs2.events.some((e) => /repair/.test(e.msg)), 'no repair expected');
  await w2.save(null, [entry(101, 1, 200)], true);
  await w2.close();
  const { wal: w3, r: r3 } = await reopen(dir, { preallocate: true, segmentSize: 8192 });
  assert.equal(r3.entries.length, 101);
  await w3.close();
});

test('API misuse fails clearly', async (t) => {
  const dir = join(tempDir(t), 'wal');
  await assert.rejects(Wal.open(dir), { code: 'WAL_NOT_FOUND' });
  const wal = await Wal.create(dir, { metadata: META });
  await assert.rejects(Wal.create(dir, { metadata: META }), { code: 'WAL_EXISTS' });
  await assert.rejects(wal.save(null, [entry(2)], true), RangeError); // gap after 0
  await assert.rejects(wal.save(null, [entry(1), entry(3)], true), RangeError); // not contiguous
  await wal.save(null, [entry(1)], true);
  await wal.close();
  await assert.rejects(wal.save(null, [entry(2)], true), { code: 'WAL_CLOSED' });

  const w2 = await Wal.open(dir);
  await assert.rejects(Wal.open(dir), { code: 'WAL_STATE' }); // already open in this process
  await assert.rejects(w2.save(null, [entry(2)], true), { code: 'WAL_STATE' }); // before readAll
  await w2.readAll();
  await assert.rejects(w2.readAll(), { code: 'WAL_STATE' });
  await w2.close();
  assert.equal(await Wal.exists(dir), true);
  assert.equal(await Wal.exists(join(dir, 'nope')), false);
});

test('close() drains saves still queued, then rejects new ones; create refuses a non-empty non-WAL directory', async (t) => {
  const base = tempDir(t);
  const dir = join(base, 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  const pending = [
    wal.save(null, entries(1, 50), true),
    wal.save(null, entries(51, 60), false),
    wal.saveSnapshotMarker({ index: 60, term: 1 }),
  ];
  const closing = wal.close();
  await assert.rejects(wal.save(null, [entry(61)], true), { code: 'WAL_CLOSED' });
  await Promise.all([...pending, closing]);
  const { wal: w2, r } = await reopen(dir, {}, { index: 60, term: 1 });
  assert.deepEqual(r.lastSnapshotMarker, { index: 60, term: 1 });
  assert.equal(w2.lastIndex, 60);
  await w2.close();

  const other = join(base, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'unrelated'), 'x');
  await assert.rejects(Wal.create(other, { metadata: META }), { code: 'ENOTEMPTY' });
  assert.equal(existsSync(`${other}.tmp`), false);
});

test('inline saves: written and synced on the calling thread when idle, queued otherwise, order kept across segments', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 4096, preallocate: true });
  // Idle log: the save is done (fsynced) before save() returns.
  const before = wal.stats.fsyncs;
  const p = wal.save({ term: 1, vote: 0n, commit: 0 }, entries(1, 1), true, { inline: true });
  assert.equal(wal.stats.fsyncs, before + 1);
  await p;
  // A queued save in flight: the inline request joins the queue behind it.
  const queued = wal.save(null, entries(2, 30, 1, 100), true);
  const inlineBehind = wal.save(null, entries(31, 31), true, { inline: true });
  await Promise.all([queued, inlineBehind]);
  // Inline saves that fill segments: the flush loop cuts to new ones.
  for (let i = 32; i <= 120; i++) await wal.save(null, entries(i, i, 1, 200), true, { inline: true });
  assert.ok(segmentFiles(dir).length > 3, 'segments were cut');
  await wal.close();
  const { wal: w2, r } = await reopen(dir);
  assert.deepEqual(r.entries, [
    ...entries(1, 1),
    ...entries(2, 30, 1, 100),
    ...entries(31, 31),
    ...Array.from({ length: 89 }, (_, k) => entries(32 + k, 32 + k, 1, 200)[0]!),
  ]);
  await w2.close();
});
