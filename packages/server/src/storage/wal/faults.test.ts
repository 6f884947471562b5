import assert from 'node:assert/strict';
import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SegmentCutStage, Wal, WalFailedError, type WalFaults } from './index.js';
import { META, collectLogs, entries, entry, tempDir } from '../../../testing/wal-fixture.js';

class Crash extends Error {}

async function readAll(dir: string) {
  const logs = collectLogs();
  const wal = await Wal.open(dir, { logger: logs.logger });
  try {
    return { ...(await wal.readAll()), logs: logs.events };
  } finally {
    await wal.close();
  }
}

/** Saves 1..10, then arms `faults` and saves 11..15 (which crashes); returns what the failed save did. */
async function crashDuringSave(dir: string, faults: WalFaults): Promise<unknown> {
  let armed = false;
  const gated: WalFaults = {};
  for (const [k, fn] of Object.entries(faults) as [keyof WalFaults, (ctx: never) => void][]) {
    gated[k] = (ctx: never) => (armed ? fn(ctx) : undefined);
  }
  const wal = await Wal.create(dir, { metadata: META, faults: gated });
  await wal.save({ term: 1, vote: 1n, commit: 10 }, entries(1, 10), true);
  armed = true;
  const err = await wal.save({ term: 1, vote: 1n, commit: 15 }, entries(11, 15), true).then(
    () => null,
    (e: unknown) => e,
  );
  // The WAL is dead now, like a crashed process.
  await assert.rejects(wal.save(null, [entry(16)], true), WalFailedError);
  await wal.close();
  return err;
}

test('fault beforeWrite: the save fails, nothing of it reaches the log', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const err = await crashDuringSave(dir, {
    beforeWrite: () => {
      throw new Crash('beforeWrite');
    },
  });
  assert.ok(err instanceof WalFailedError && err.cause instanceof Crash);
  const r = await readAll(dir);
  assert.deepEqual(r.entries, entries(1, 10));
  assert.equal(r.hardState.commit, 10);
});

test('fault afterWriteBeforeSync with a torn write: several truncation lengths all recover the acknowledged prefix', async (t) => {
  const base = tempDir(t);
  let size = 0;
  // Learn how big the crashing write is.
  await crashDuringSave(join(base, 'probe'), {
    afterWriteBeforeSync: (ctx) => {
      size = ctx.bytes;
      throw new Crash('probe');
    },
  });
  assert.ok(size > 0);
  for (const keep of [0, 1, 7, 8, 9, Math.floor(size / 2), size - 1, size]) {
    const dir = join(base, `w${keep}`);
    const err = await crashDuringSave(dir, {
      afterWriteBeforeSync: (ctx) => {
        truncateSync(ctx.file, ctx.offset + keep); // only `keep` bytes of the write made it to disk
        throw new Crash('torn');
      },
    });
    assert.ok(err instanceof WalFailedError);
    const r = await readAll(dir);
    // Entries 1..10 were acknowledged; of 11..15 (not acknowledged) only whole records may survive, in order.
    assert.deepEqual(r.entries.slice(0, 10), entries(1, 10));
    assert.deepEqual(r.entries.slice(10), entries(11, 10 + r.entries.length - 10));
    if (keep === size) assert.equal(r.entries.length, 15);
    if (keep > 0 && keep < size)
      assert.ok(
        r.logs.some((e) => e.msg === 'wal: repaired torn tail'),
        `keep ${keep}`,
      );
  }
});

test('fault afterSync: the save rejects, but its data is durable and replayed', async (t) => {
  const dir = join(tempDir(t), 'wal');
  const err = await crashDuringSave(dir, {
    afterSync: () => {
      throw new Crash('afterSync');
    },
  });
  assert.ok(err instanceof WalFailedError);
  const r = await readAll(dir);
  assert.deepEqual(r.entries, entries(1, 15));
  assert.equal(r.hardState.commit, 15);
});

for (const stage of ['beforeCreate', 'beforeRename', 'afterRename'] as SegmentCutStage[]) {
  test(`fault duringSegmentCut (${stage}): acknowledged entries survive, the WAL reopens and keeps cutting`, async (t) => {
    const dir = join(tempDir(t), 'wal');
    let acked = 0;
    let crashed: unknown = null;
    const wal = await Wal.create(dir, {
      metadata: META,
      segmentSize: 1024,
      faults: {
        duringSegmentCut: (ctx) => {
          if (ctx.stage === stage) throw new Crash(stage);
        },
      },
    });
    for (let i = 1; i <= 30 && !crashed; i++) {
      await wal.save(null, [entry(i, 1, 100)], true).then(
        () => void (acked = i),
        (e: unknown) => void (crashed = e),
      );
    }
    // The cut runs after a batch is synced and acknowledged; the next save sees the failure.
    await wal.close();
    assert.ok(acked > 0 && acked < 30, `acked ${acked}`);
    const names = readdirSync(dir);
    if (stage === 'beforeRename') assert.ok(names.some((n) => n.endsWith('.wal.tmp')));

    const logs = collectLogs();
    const w2 = await Wal.open(dir, { segmentSize: 1024, logger: logs.logger });
    const r = await w2.readAll();
    assert.deepEqual(
      r.entries,
      Array.from({ length: acked }, (_, i) => entry(i + 1, 1, 100)),
    );
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));
    for (let i = acked + 1; i <= 60; i++) await w2.save(null, [entry(i, 1, 100)], true);
    assert.ok(w2.stats.segmentsCut >= 3);
    await w2.close();
    assert.equal((await readAll(dir)).entries.length, 60);
  });
}

test("preallocated WAL: a crash right after a cut's rename leaves a readable, appendable log", async (t) => {
  const dir = join(tempDir(t), 'wal');
  const wal = await Wal.create(dir, {
    metadata: META,
    segmentSize: 4096,
    preallocate: true,
    faults: {
      duringSegmentCut: (ctx) => {
        if (ctx.stage === 'afterRename') throw new Crash('afterRename');
      },
    },
  });
  let acked = 0;
  for (let i = 1; i <= 100; i++) {
    const ok = await wal.save(null, [entry(i, 1, 100)], true).then(
      () => true,
      () => false,
    );
    if (!ok) break;
    acked = i;
  }
  await wal.close();
  const w2 = await Wal.open(dir, { segmentSize: 4096, preallocate: true });
  const r = await w2.readAll();
  assert.equal(r.entries.length, acked);
  await w2.save(null, [entry(acked + 1, 1, 100)], true);
  await w2.close();
});
