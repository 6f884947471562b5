import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError, FutureRevisionError } from './errors.js';
import { b, del, openFixture, put } from '../../testing/mvcc-fixture.js';
import type { MvccStore } from './store.js';

// The history run against etcd 3.4.23 (etcdctl) to obtain the reference hashes below:
//   2 put foo bar · 3 put foo baz · 4 put k1 v1 · 5 del foo · 6 put foo again ·
//   7 txn { put a 1; put b 2; del k1 } · 8 del "" --from-key · 9 put z last
function etcdHistory(store: MvccStore): void {
  put(store, 'foo', 'bar');
  put(store, 'foo', 'baz');
  put(store, 'k1', 'v1');
  del(store, 'foo');
  put(store, 'foo', 'again');
  store.write((t) => {
    t.put(b('a'), b('1'));
    t.put(b('b'), b('2'));
    t.deleteRange(b('k1'), null);
  });
  store.write((t) => t.deleteRange(b(''), Buffer.from([0])));
  put(store, 'z', 'last');
}

test('hashKV equals etcd 3.4 for the same history, before and after compaction', async () => {
  const fx = await openFixture();
  etcdHistory(fx.store);
  assert.equal(fx.store.currentRevision, 9);
  assert.deepEqual(fx.store.hashKV(), { hash: 550858969, compactRevision: -1, revision: 9 });
  assert.equal(fx.store.hashKV(7).hash, 194316346);
  assert.equal(fx.store.hashKV(5).hash, 195518769);
  await fx.store.compact(7).done;
  assert.deepEqual(fx.store.hashKV(0), { hash: 1969384186, compactRevision: 7, revision: 9 });
  assert.equal(fx.store.hashKV(8).hash, 3284299764);
  assert.throws(() => fx.store.hashKV(7), CompactedError); // etcd 3.4: rev ≤ compacted fails
  assert.throws(() => fx.store.hashKV(10), FutureRevisionError);
  await fx.store.compact(9).done;
  assert.equal(fx.store.hashKV().hash, 846934638);
  await fx.reopen();
  assert.equal(fx.store.hashKV().hash, 846934638);
  await fx.close();
});

test('identical histories hash the same, whether or not physical compaction has finished', async () => {
  const [a, c] = [await openFixture(), await openFixture()];
  for (const fx of [a, c]) {
    for (let i = 0; i < 300; i++) put(fx.store, `key-${i % 37}`, `value-${i}`, BigInt(i % 3));
    for (let i = 0; i < 37; i += 5) del(fx.store, `key-${i}`);
  }
  assert.deepEqual(a.store.hashKV(), c.store.hashKV());
  assert.equal(a.store.hashKV(150).hash, c.store.hashKV(150).hash);
  await a.store.compact(200).done;
  const { done } = c.store.compact(200); // hash before the background work ran
  assert.deepEqual(a.store.hashKV(), c.store.hashKV());
  await done;
  assert.deepEqual(a.store.hashKV(), c.store.hashKV());
  put(c.store, 'key-1', 'different');
  put(a.store, 'key-1', 'other');
  assert.notEqual(a.store.hashKV().hash, c.store.hashKV().hash);
  assert.equal(a.store.hashKV(a.store.currentRevision - 1).hash, c.store.hashKV(c.store.currentRevision - 1).hash);
  await Promise.all([a.close(), c.close()]);
});
