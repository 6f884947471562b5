import assert from 'node:assert/strict';
import { test } from 'node:test';
import { META } from '../storage/backend/index.js';
import { CompactedError, StoreClosedError } from './errors.js';
import { decodeRevKey, encodeRevKey, revKeyMain } from './revision.js';
import { b, del, dumpIndex, dumpKeyDb, kvt, openFixture, put, type Fixture } from '../../testing/mvcc-fixture.js';

const ALL = Buffer.from([0]);

/** Stored revisions as "main.sub" (+ "t" for tombstones). */
function storedRevs(fx: Fixture): string[] {
  const out: string[] = [];
  for (const key of fx.backend.dbs.key.getKeys({})) {
    const r = decodeRevKey(key as Buffer);
    out.push(`${r.main}.${r.sub}${r.tombstone ? 't' : ''}`);
  }
  return out;
}

function smallHistory(fx: Fixture): void {
  put(fx.store, 'a', '1'); // 2
  put(fx.store, 'a', '2'); // 3
  put(fx.store, 'b', '1'); // 4
  del(fx.store, 'b'); // 5
  put(fx.store, 'c', '1'); // 6
  put(fx.store, 'a', '3'); // 7
  del(fx.store, 'c'); // 8
}

test('compaction keeps the newest revision ≤ rev of each key and drops tombstoned histories', async () => {
  const fx = await openFixture();
  smallHistory(fx);
  assert.deepEqual(storedRevs(fx), ['2.0', '3.0', '4.0', '5.0t', '6.0', '7.0', '8.0t']);
  await fx.store.compact(6).done;
  assert.deepEqual(storedRevs(fx), ['3.0', '6.0', '7.0', '8.0t']);
  assert.equal(revKeyMain(fx.backend.getMeta(META.finishedCompactRev)!), 6);
  assert.deepEqual(fx.store.range(ALL, ALL, { rev: 6 }).kvs.map(kvt), [
    ['a', '2', 2, 3, 2, 0n],
    ['c', '1', 6, 6, 1, 0n],
  ]);
  assert.deepEqual(fx.store.range(ALL, ALL, { rev: 7 }).kvs.map(kvt), [
    ['a', '3', 2, 7, 3, 0n],
    ['c', '1', 6, 6, 1, 0n],
  ]);
  assert.throws(() => fx.store.range(ALL, ALL, { rev: 5 }), CompactedError);
  assert.throws(() => fx.store.history(5, 8), CompactedError);
  assert.deepEqual(
    fx.store.history(6, 8).map((e) => `${e.type}:${e.kv.key}@${e.kv.modRevision}`),
    ['put:c@6', 'put:a@7', 'delete:c@8'],
  );
  await fx.store.compact(8).done;
  assert.deepEqual(storedRevs(fx), ['7.0']);
  assert.deepEqual(dumpIndex(fx.store), [['a', '0', [[2, 3, [7, 0]]]]]);
  put(fx.store, 'a', '4');
  assert.deepEqual(kvt(fx.store.range(b('a'), null).kvs[0]!), ['a', '4', 2, 9, 4, 0n]);
  await fx.close();
});

test('compacting away the newest revision keeps the current revision across reopen', async () => {
  const fx = await openFixture();
  put(fx.store, 'a', '1');
  del(fx.store, 'a'); // rev 3, the last revision, a tombstone
  await fx.store.compact(3).done;
  assert.deepEqual(storedRevs(fx), []);
  await fx.reopen();
  assert.equal(fx.store.currentRevision, 3);
  assert.equal(fx.store.compactRevision, 3);
  assert.equal(put(fx.store, 'a', '2'), 4);
  await fx.close();
});

test('an interrupted compaction is finished after a restart', async () => {
  const ref = await openFixture();
  const fx = await openFixture();
  for (const f of [ref, fx]) {
    smallHistory(f);
    f.backend.batch(() => {
      for (let i = 0; i < 2500; i++) put(f.store, `k${i % 700}`, `v${i}`);
      for (let i = 0; i < 700; i += 3) del(f.store, `k${i}`);
    });
  }
  const target = 2000;
  await ref.store.compact(target).done;

  // Crash 1: the schedule was recorded, nothing else happened.
  const { done } = fx.store.compact(target);
  await fx.store.close();
  await assert.rejects(done, StoreClosedError);
  assert.equal(revKeyMain(fx.backend.getMeta(META.scheduledCompactRev)!), target);
  // Crash 2 (simulated): part of the physical deletion happened before the crash.
  fx.backend.batch(() => {
    fx.backend.dbs.key.removeSync(encodeRevKey(2, 0));
    fx.backend.dbs.key.removeSync(encodeRevKey(4, 0)); // "b" put, whose tombstone at 5 is still there
  });
  await fx.reopen();
  assert.equal(fx.store.compactRevision, target);
  assert.throws(() => fx.store.range(ALL, ALL, { rev: target - 1 }), CompactedError);
  await fx.store.compactionIdle();
  assert.equal(revKeyMain(fx.backend.getMeta(META.finishedCompactRev)!), target);
  assert.deepEqual(dumpKeyDb(fx.backend), dumpKeyDb(ref.backend));
  assert.deepEqual(dumpIndex(fx.store), dumpIndex(ref.store));
  assert.deepEqual(fx.store.hashKV(), ref.store.hashKV());
  await Promise.all([ref.close(), fx.close()]);
});

test('the index rebuilt on reopen equals the index before', async () => {
  const fx = await openFixture();
  fx.backend.batch(() => {
    for (let i = 0; i < 3000; i++) {
      const k = Buffer.from([i % 5 === 0 ? 0x00 : 0x61, 0xff, i % 97]);
      if (i % 11 === 0) fx.store.write((t) => t.deleteRange(k, null));
      else fx.store.write((t) => t.put(k, Buffer.from(`v${i}`), BigInt(i % 4)));
    }
  });
  await fx.store.compact(1500).done;
  for (let i = 0; i < 200; i++) put(fx.store, `later-${i % 13}`, `x${i}`);
  del(fx.store, 'later-3');
  const before = {
    index: dumpIndex(fx.store),
    rev: fx.store.currentRevision,
    compact: fx.store.compactRevision,
    keys: fx.store.keyCount,
  };
  const leased = [...fx.store.keysWithLease()];
  await fx.reopen();
  assert.deepEqual(
    {
      index: dumpIndex(fx.store),
      rev: fx.store.currentRevision,
      compact: fx.store.compactRevision,
      keys: fx.store.keyCount,
    },
    before,
  );
  assert.deepEqual([...fx.store.keysWithLease()], leased);
  await fx.close();
});

test('compaction runs in the background in batches while writes and reads continue', async () => {
  const fx = await openFixture();
  fx.backend.batch(() => {
    for (let i = 0; i < 12_000; i++) fx.store.write((t) => t.put(b(`key-${i}`), b('first')));
  });
  fx.backend.batch(() => {
    for (let i = 0; i < 12_000; i++) fx.store.write((t) => t.put(b(`key-${i}`), b('second')));
  });
  const rev = fx.store.currentRevision;
  const { done } = fx.store.compact(rev);
  let turns = 0;
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    turns++;
    put(fx.store, `during-${turns}`, 'x');
    assert.equal(fx.store.range(b('key-5'), null).kvs[0]!.value.toString(), 'second');
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(turns > 10, `compaction yielded to the event loop (${turns} turns)`);
  assert.equal(fx.backend.dbs.key.getCount(), 12_000 + turns);
  assert.equal(fx.store.range(b('during-'), b('during.'), { countOnly: true }).count, turns);
  await fx.close();
});

test('defragment keeps the store working; restore reloads it', async () => {
  const fx = await openFixture();
  put(fx.store, 'a', '1');
  put(fx.store, 'b', '1');
  fx.backend.batch(() => fx.backend.setAppliedIndex(2, 1));
  const snap = `${fx.dir}/snap.db`;
  await fx.backend.snapshotTo(snap);
  for (let i = 0; i < 500; i++) put(fx.store, 'a', Buffer.alloc(2000, i % 256));
  await fx.store.compact(fx.store.currentRevision).done;
  const sizeBefore = fx.backend.size();
  await fx.backend.defragment();
  assert.ok(fx.backend.size() < sizeBefore);
  assert.equal(fx.store.range(b('a'), null).kvs[0]!.version, 501);
  assert.equal(put(fx.store, 'c', '1'), 504);

  const events: number[] = [];
  fx.store.onCommit((rev) => events.push(rev));
  await fx.backend.restoreFrom(snap);
  assert.equal(fx.backend.appliedIndex(), 2);
  assert.equal(fx.store.currentRevision, 3);
  assert.equal(fx.store.compactRevision, -1);
  assert.deepEqual(fx.store.range(ALL, ALL).kvs.map(kvt), [
    ['a', '1', 2, 2, 1, 0n],
    ['b', '1', 3, 3, 1, 0n],
  ]);
  assert.equal(put(fx.store, 'a', '2'), 4);
  assert.deepEqual(events, [4]);
  await fx.close();
});
