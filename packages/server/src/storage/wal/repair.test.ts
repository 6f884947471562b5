import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Wal, WalCorruptionError, type WalOptions } from './index.js';
import { META, collectLogs, entries, entry, tempDir } from '../../../testing/wal-fixture.js';

const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
const lastSegment = (dir: string): string => join(dir, segmentFiles(dir).at(-1)!);

async function readAll(dir: string, opts: WalOptions = {}) {
  const wal = await Wal.open(dir, opts);
  try {
    return await wal.readAll();
  } finally {
    await wal.close();
  }
}

/** A WAL with entries 1..n saved; returns the last segment's size before and after a final save of `last`. */
async function walWithTail(dir: string, n: number, opts: { segmentSize?: number; preallocate?: boolean } = {}) {
  const wal = await Wal.create(dir, { metadata: META, ...opts });
  await wal.save({ term: 1, vote: 1n, commit: n - 1 }, entries(1, n, 1, 64), true);
  const path = lastSegment(dir);
  const before = statSync(path).size;
  await wal.save(null, [entry(n + 1, 1, 256)], true);
  await wal.close();
  return { path, before, after: statSync(path).size };
}

test('torn final record: truncated at every byte offset → reopen repairs and returns everything before it', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const { path, before, after } = await walWithTail(dir, 20);
  const full = readFileSync(path);
  assert.ok(after - before > 256);
  for (let k = before; k < after; k++) {
    writeFileSync(path, full.subarray(0, k));
    const logs = collectLogs();
    const r = await readAll(dir, { logger: logs.logger });
    assert.deepEqual(r.entries, entries(1, 20, 1, 64), `cut at ${k}`);
    assert.deepEqual(r.hardState, { term: 1, vote: 1n, commit: 19 });
    assert.equal(statSync(path).size, before, `repaired size at cut ${k}`);
    const repairs = logs.events.filter((e) => e.msg === 'wal: repaired torn tail');
    assert.equal(repairs.length, k > before ? 1 : 0, `cut at ${k}`);
    if (repairs[0]) assert.equal(repairs[0].offset, before);
  }
  // After a repair, appends continue from the repaired end.
  writeFileSync(path, full.subarray(0, before + 100));
  const wal = await Wal.open(dir);
  await wal.readAll();
  await wal.save(null, [entry(21, 2, 10)], true);
  await wal.close();
  assert.deepEqual((await readAll(dir)).entries, [...entries(1, 20, 1, 64), entry(21, 2, 10)]);
});

test('bad CRC in the very last record is a torn tail', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const { path, before } = await walWithTail(dir, 5);
  const buf = readFileSync(path);
  buf[before + 40]! ^= 0xff;
  writeFileSync(path, buf);
  const logs = collectLogs();
  assert.deepEqual((await readAll(dir, { logger: logs.logger })).entries, entries(1, 5, 1, 64));
  assert.equal(logs.events[0]?.damage, 'torn');
});

test('zeroed tail (extended but unwritten space) is truncated and logged', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const { path, after } = await walWithTail(dir, 5);
  appendFileSync(path, new Uint8Array(10_000));
  const logs = collectLogs();
  const r = await readAll(dir, { logger: logs.logger });
  assert.equal(r.entries.length, 6);
  assert.equal(statSync(path).size, after);
  assert.equal(logs.events[0]?.damage, 'zeros');
});

test('preallocated segment: partial record followed by zeros is repaired, the file keeps its size', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const opts = { segmentSize: 16384, preallocate: true };
  const { path } = await walWithTail(dir, 5, opts);
  assert.equal(statSync(path).size, 16384);
  // Same records without preallocation, to learn where the final record lies.
  const { before, after } = await walWithTail(join(dir, '..', 'plain'), 5);
  const buf = readFileSync(path);
  buf.fill(0, before + 100, after); // the second half of the final write never reached the disk
  writeFileSync(path, buf);
  const logs = collectLogs();
  const r = await readAll(dir, { ...opts, logger: logs.logger });
  assert.deepEqual(r.entries, entries(1, 5, 1, 64));
  assert.equal(logs.events[0]?.damage, 'torn');
  assert.equal(statSync(path).size, 16384);
  assert.ok(
    readFileSync(path)
      .subarray(before)
      .every((b) => b === 0),
  );
});

test('corruption in the middle of the last segment, followed by valid data → WalCorruptionError naming file and offset', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  await wal.save(null, entries(1, 10), true);
  const path = lastSegment(dir);
  const mid = statSync(path).size;
  await wal.save(null, entries(11, 20), true);
  await wal.close();
  const buf = readFileSync(path);
  buf[mid + 12]! ^= 0x01; // a payload bit of entry 11
  writeFileSync(path, buf);
  const size = buf.length;
  await assert.rejects(readAll(dir), (err: unknown) => {
    assert.ok(err instanceof WalCorruptionError);
    assert.equal(err.code, 'WAL_CORRUPT');
    assert.equal(err.file, segmentFiles(dir).at(-1));
    assert.equal(err.offset, mid);
    assert.match(err.message, new RegExp(`${err.file}.*offset ${mid}.*CRC mismatch.*followed by a valid record`));
    return true;
  });
  assert.equal(statSync(path).size, size, 'nothing may be truncated');
});

test('damage in a segment that is not the last one is always corruption, even at its end', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META, segmentSize: 2048 });
  for (let i = 1; i <= 60; i++) await wal.save(null, [entry(i, 1, 100)], true);
  await wal.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3);
  const first = join(dir, files[0]!);
  const original = readFileSync(first);

  const flipped = Buffer.from(original);
  flipped[flipped.length - 12]! ^= 0x80; // inside the last record of segment 0
  writeFileSync(first, flipped);
  await assert.rejects(readAll(dir), (err: unknown) => err instanceof WalCorruptionError && err.file === files[0]);
  const padded = Buffer.from(original);
  padded[padded.length - 2] = 1; // padding must be zero too
  writeFileSync(first, padded);
  await assert.rejects(readAll(dir), (err: unknown) => err instanceof WalCorruptionError && /padding/.test(err.reason));

  writeFileSync(first, original.subarray(0, original.length - 3)); // a torn record, but not in the last segment
  await assert.rejects(
    readAll(dir),
    (err: unknown) =>
      err instanceof WalCorruptionError && err.file === files[0] && /runs past the end/.test(err.reason),
  );

  // Losing whole records at the end of a non-last segment is caught by the next segment's header.
  const cutAt = original.length - 128;
  let boundary = 0;
  for (let off = 0; off < cutAt; ) {
    boundary = off;
    off += 8 + original.readUInt32LE(off + 4) + ((8 - ((8 + original.readUInt32LE(off + 4)) % 8)) % 8);
  }
  writeFileSync(first, original.subarray(0, boundary));
  await assert.rejects(
    readAll(dir),
    (err: unknown) => err instanceof WalCorruptionError && err.file === files[1] && /previous segment/.test(err.reason),
  );

  writeFileSync(first, original);
  assert.equal((await readAll(dir)).entries.length, 60);

  rmSync(join(dir, files[1]!));
  await assert.rejects(
    readAll(dir),
    (err: unknown) => err instanceof WalCorruptionError && /sequence gap/.test(err.reason),
  );
});

test('a damaged segment header is corruption even in the last segment', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const { path } = await walWithTail(dir, 3);
  const buf = readFileSync(path);
  buf[10]! ^= 0x04;
  writeFileSync(path, buf);
  await assert.rejects(readAll(dir), (err: unknown) => err instanceof WalCorruptionError && err.offset === 0);
});

test('zeroed sector before later valid records (out-of-order writeback) is a torn tail; garbage there is corruption', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, { metadata: META });
  await wal.save(null, entries(1, 5, 1, 100), true);
  const path = lastSegment(dir);
  const synced = statSync(path).size;
  await wal.save(null, entries(6, 40, 1, 100), true); // one batch: ~4.3 KB
  await wal.close();
  const original = readFileSync(path);
  const sector = Math.ceil(synced / 512) * 512 + 512;

  const zeroed = Buffer.from(original);
  zeroed.fill(0, sector, sector + 512);
  writeFileSync(path, zeroed);
  const logs = collectLogs();
  const r = await readAll(dir, { logger: logs.logger });
  const n = r.entries.length;
  assert.ok(n > 5 && n < 40, `kept ${n}`);
  assert.deepEqual(r.entries, entries(1, n, 1, 100));
  assert.equal(logs.events[0]?.damage, 'torn-reordered');
  assert.ok(statSync(path).size <= sector);

  const garbage = Buffer.from(original);
  garbage.fill(0xa5, sector, sector + 512);
  writeFileSync(path, garbage);
  await assert.rejects(readAll(dir), WalCorruptionError);
});
