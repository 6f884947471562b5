import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError } from './errors.js';
import { b, del, kvt, openFixture, put } from '../../testing/mvcc-fixture.js';
import type { MvccEvent } from './types.js';

const show = (evs: MvccEvent[]) => evs.map((e) => `${e.type}:${e.kv.key.toString()}@${e.kv.modRevision}`);

test('history returns events in revision order with etcd-shaped deletes and prev values', async () => {
  const fx = await openFixture();
  put(fx.store, 'a', '1', 5n); // 2
  fx.store.write((t) => {
    t.put(b('b'), b('1')); // 3.0
    t.put(b('a'), b('2')); // 3.1
  });
  del(fx.store, 'a'); // 4
  put(fx.store, 'a', '3'); // 5
  assert.deepEqual(show(fx.store.history(1, 100)), ['put:a@2', 'put:b@3', 'put:a@3', 'delete:a@4', 'put:a@5']);
  const evs = fx.store.history(2, 5, { prevKv: true });
  assert.equal(evs[0]!.prevKv, undefined);
  assert.equal(evs[0]!.prevLease, 0n);
  assert.deepEqual(kvt(evs[2]!.prevKv!), ['a', '1', 2, 2, 1, 5n]);
  assert.equal(evs[2]!.prevLease, 5n);
  assert.deepEqual(kvt(evs[3]!.kv), ['a', '', 0, 4, 0, 0n]);
  assert.deepEqual(kvt(evs[3]!.prevKv!), ['a', '2', 2, 3, 2, 0n]);
  assert.equal(evs[4]!.prevKv, undefined);
  assert.deepEqual(kvt(evs[4]!.kv), ['a', '3', 5, 5, 1, 0n]);
  assert.equal(fx.store.history(2, 5)[0]!.prevLease, undefined);
  await fx.close();
});

test('history bounds: toRev capped, limit and limitBytes end at a revision boundary, compaction', async () => {
  const fx = await openFixture();
  for (let i = 0; i < 5; i++) {
    fx.store.write((t) => {
      t.put(b(`x${i}`), b('1'));
      t.put(b(`y${i}`), b('1'));
    });
  }
  // revisions 2..6, two events each
  assert.equal(fx.store.history(2, 1000).length, 10);
  assert.deepEqual(fx.store.history(7, 10), []);
  assert.deepEqual(fx.store.history(4, 3), []);
  assert.deepEqual(show(fx.store.history(3, 6, { limit: 3 })), ['put:x1@3', 'put:y1@3', 'put:x2@4', 'put:y2@4']);
  assert.deepEqual(show(fx.store.history(3, 6, { limit: 2 })), ['put:x1@3', 'put:y1@3']);
  // Each event counts 3 bytes (key "x1", value "1"): 4 bytes end after revision 3's second event.
  assert.deepEqual(show(fx.store.history(3, 6, { limitBytes: 4 })), ['put:x1@3', 'put:y1@3']);
  assert.deepEqual(show(fx.store.history(3, 6, { limitBytes: 7 })), ['put:x1@3', 'put:y1@3', 'put:x2@4', 'put:y2@4']);
  await fx.store.compact(4).done;
  assert.throws(() => fx.store.history(3, 6), CompactedError);
  assert.deepEqual(show(fx.store.history(4, 5)), ['put:x2@4', 'put:y2@4', 'put:x3@5', 'put:y3@5']);
  del(fx.store, 'x4');
  assert.deepEqual(show(fx.store.history(7, 7, { prevKv: true })), ['delete:x4@7']);
  await fx.close();
});
