import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError, FutureRevisionError } from './errors.js';
import { decodeKeyValue } from './kv-codec.js';
import { b, del, kvt, openFixture, put } from '../../testing/mvcc-fixture.js';
import type { MvccEvent } from './types.js';

const ALL = Buffer.from([0]);

test('revisions: empty store is 1, each changing txn bumps by one, no-op txns do not', async () => {
  const { store, close } = await openFixture();
  assert.equal(store.currentRevision, 1);
  assert.equal(store.compactRevision, -1);
  assert.equal(put(store, 'a', '1'), 2);
  assert.equal(del(store, 'missing'), 0);
  assert.equal(store.currentRevision, 2);
  store.write((t) => t.range(b('a'), null));
  assert.equal(store.currentRevision, 2);
  // One txn, three writes: one main revision, sub revisions 0, 1, 2.
  store.write((t) => {
    assert.equal(t.rev, 3);
    t.put(b('x'), b('1'));
    t.put(b('y'), b('2'));
    t.deleteRange(b('a'), null);
  });
  assert.equal(store.currentRevision, 3);
  const hist = store.history(3, 3);
  assert.deepEqual(
    hist.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]),
    [
      ['put', 'x', 3],
      ['put', 'y', 3],
      ['delete', 'a', 3],
    ],
  );
  await close();
});

test('versions, create revisions and tombstones', async () => {
  const { store, close } = await openFixture();
  put(store, 'k', 'v1'); // rev 2
  put(store, 'k', 'v2'); // rev 3
  assert.deepEqual(kvt(store.range(b('k'), null).kvs[0]!), ['k', 'v2', 2, 3, 2, 0n]);
  assert.equal(del(store, 'k'), 1); // rev 4
  assert.equal(store.range(b('k'), null).count, 0);
  put(store, 'k', 'v3', 7n); // rev 5: version resets, create revision is the new one
  assert.deepEqual(kvt(store.range(b('k'), null).kvs[0]!), ['k', 'v3', 5, 5, 1, 7n]);
  assert.deepEqual(kvt(store.range(b('k'), null, { rev: 3 }).kvs[0]!), ['k', 'v2', 2, 3, 2, 0n]);
  assert.equal(store.range(b('k'), null, { rev: 4 }).count, 0);
  assert.equal(store.range(b('k'), null, { rev: 1 }).count, 0);
  assert.equal(store.keyCount, 1);
  await close();
});

test('a txn reads its own writes; put and delete report previous values and leases', async () => {
  const { store, close } = await openFixture();
  put(store, 'a', 'old', 5n);
  const seen = store.write((t) => {
    assert.equal(t.range(b('a'), null).rev, 2);
    const p = t.put(b('a'), b('new'), 0n, { prevKv: true });
    assert.deepEqual(kvt(p.prevKv!), ['a', 'old', 2, 2, 1, 5n]);
    assert.equal(p.prevLease, 5n);
    const r = t.range(b('a'), null);
    assert.equal(r.rev, 3);
    const d = t.deleteRange(b('a'), b('b'), { prevKv: true });
    assert.equal(d.deleted, 1);
    assert.deepEqual(kvt(d.prevKvs[0]!), ['a', 'new', 2, 3, 2, 0n]);
    return [kvt(r.kvs[0]!), t.range(b('a'), null).count, t.events.length];
  });
  assert.deepEqual(seen, [['a', 'new', 2, 3, 2, 0n], 0, 2]);
  const fresh = store.write((t) => t.put(b('z'), b('1'), 0n, { prevKv: true }));
  assert.deepEqual(fresh, { prevLease: 0n });
  await close();
});

test('range conventions: single key, prefix, from-key, all keys, binary keys, empty ranges', async () => {
  const { store, close } = await openFixture();
  const keys = [
    Buffer.from([0x00]),
    Buffer.from([0x00, 0x01]),
    b('a'),
    b('ab'),
    b('abc'),
    b('b'),
    Buffer.from([0x7f]),
    Buffer.from([0xff]),
    Buffer.from([0xff, 0xff]),
  ];
  store.write((t) => {
    for (const k of [...keys].reverse()) t.put(k, Buffer.concat([b('v-'), k]));
  });
  const hex = (r: { kvs: Array<{ key: Buffer }> }) => r.kvs.map((kv) => kv.key.toString('hex'));
  assert.deepEqual(hex(store.range(b('ab'), null)), ['6162']);
  assert.deepEqual(hex(store.range(b('ab'), b('ac'))), ['6162', '616263']); // prefix "ab"
  assert.deepEqual(hex(store.range(b('b'), ALL)), ['62', '7f', 'ff', 'ffff']); // from-key
  assert.deepEqual(
    hex(store.range(ALL, ALL)),
    keys.map((k) => k.toString('hex')),
  ); // every key
  assert.deepEqual(hex(store.range(Buffer.from([0xff]), ALL)), ['ff', 'ffff']);
  assert.deepEqual(hex(store.range(Buffer.from([0x00]), Buffer.from([0x00, 0x01]))), ['00']);
  assert.deepEqual(hex(store.range(b('b'), b('a'))), []); // end before key
  assert.deepEqual(hex(store.range(b('zz'), null)), []);
  assert.deepEqual(hex(store.range(b('ab'), Buffer.alloc(0))), ['6162']); // empty end = single key
  assert.equal(store.range(Buffer.from([0xff, 0xff]), null).kvs[0]!.value.toString('latin1'), 'v-\xff\xff');
  await close();
});

test('count is the total in range, limit truncates; countOnly and keysOnly; rangeRaw bytes', async () => {
  const { store, close } = await openFixture();
  store.write((t) => {
    for (let i = 0; i < 10; i++) t.put(b(`k${i}`), b(`v${i}`), BigInt(i));
  });
  del(store, 'k3');
  const r = store.range(b('k'), b('l'), { limit: 4 });
  assert.equal(r.count, 9);
  assert.deepEqual(
    r.kvs.map((kv) => kv.key.toString()),
    ['k0', 'k1', 'k2', 'k4'],
  );
  assert.equal(r.rev, 3);
  assert.deepEqual(store.range(b('k'), b('l'), { countOnly: true }), { kvs: [], count: 9, rev: 3 });
  const ko = store.range(b('k'), b('l'), { keysOnly: true, limit: 2 });
  assert.deepEqual(ko.kvs.map(kvt), [
    ['k0', '', 2, 2, 1, 0n],
    ['k1', '', 2, 2, 1, 1n],
  ]);
  const old = store.range(b('k'), b('l'), { rev: 2 });
  assert.equal(old.count, 10);
  assert.equal(old.rev, 3);
  const raw = store.rangeRaw(b('k'), b('l'), { limit: 0 });
  assert.equal(raw.count, 9);
  assert.deepEqual(
    raw.kvs.map((x) => kvt(decodeKeyValue(x))),
    store.range(b('k'), b('l')).kvs.map(kvt),
  );
  const rawKeys = store.rangeRaw(b('k5'), null, { keysOnly: true });
  assert.deepEqual(kvt(decodeKeyValue(rawKeys.kvs[0]!)), ['k5', '', 2, 2, 1, 5n]);
  await close();
});

test('future and compacted revisions; the compacted revision itself is readable', async () => {
  const { store, close } = await openFixture();
  for (let i = 0; i < 5; i++) put(store, 'k', `v${i}`); // revs 2..6
  assert.throws(() => store.range(b('k'), null, { rev: 7 }), FutureRevisionError);
  assert.throws(() => store.write((t) => t.range(b('k'), null, { rev: 7 })), FutureRevisionError);
  store.write((t) => {
    t.put(b('j'), b('1'));
    assert.equal(t.range(b('j'), null, { rev: 7 }).count, 1); // the txn's own revision is readable inside it
  });
  const { done } = store.compact(4);
  assert.equal(store.compactRevision, 4);
  assert.throws(() => store.range(b('k'), null, { rev: 3 }), CompactedError);
  assert.equal(store.range(b('k'), null, { rev: 4 }).kvs[0]!.value.toString(), 'v2');
  assert.throws(() => store.compact(4), CompactedError);
  assert.throws(() => store.compact(3), CompactedError);
  assert.throws(() => store.compact(8), FutureRevisionError);
  await done;
  assert.equal(store.range(b('k'), null, { rev: 4 }).kvs[0]!.value.toString(), 'v2');
  assert.equal(store.range(b('k'), null, { rev: 5 }).kvs[0]!.value.toString(), 'v3');
  await close();
});

test('a logical txn that throws is undone; the rest of the batch commits', async () => {
  const { backend, store, close } = await openFixture();
  put(store, 'a', '1');
  const commits: number[] = [];
  store.onCommit((rev) => commits.push(rev));
  backend.batch(() => {
    store.write((t) => t.put(b('b'), b('1')));
    assert.throws(() =>
      store.write((t) => {
        t.put(b('c'), b('1'));
        t.put(b('a'), b('2'));
        t.deleteRange(b('b'), null);
        throw new Error('abort this txn');
      }),
    );
    store.write((t) => t.put(b('d'), b('1')));
    backend.setAppliedIndex(3, 1);
  });
  assert.equal(store.currentRevision, 4);
  assert.deepEqual(commits, [3, 4]);
  assert.deepEqual(store.range(ALL, ALL).kvs.map(kvt), [
    ['a', '1', 2, 2, 1, 0n],
    ['b', '1', 3, 3, 1, 0n],
    ['d', '1', 4, 4, 1, 0n],
  ]);
  assert.deepEqual(
    store.history(1, 10).map((e) => e.kv.modRevision),
    [2, 3, 4],
  );
  await close();
});

test('a batch that throws leaves no trace: state, revision, applied index, events', async () => {
  const fx = await openFixture();
  const { backend } = fx;
  put(fx.store, 'a', '1');
  backend.batch(() => backend.setAppliedIndex(1, 1));
  const events: MvccEvent[][] = [];
  fx.store.onCommit((_rev, evs) => events.push([...evs]));
  const compactions: Array<Promise<void>> = [];
  assert.throws(
    () =>
      backend.batch(() => {
        fx.store.write((t) => {
          t.put(b('a'), b('2'));
          t.put(b('new'), b('x'), 9n);
        });
        fx.store.write((t) => t.deleteRange(b('a'), null));
        compactions.push(fx.store.compact(3).done);
        backend.setAppliedIndex(2, 1);
        throw new Error('crash before commit');
      }),
    /crash before commit/,
  );
  await assert.rejects(compactions[0]!, /crash before commit/);
  assert.equal(fx.store.currentRevision, 2);
  assert.equal(fx.store.compactRevision, -1);
  assert.equal(backend.appliedIndex(), 1);
  assert.deepEqual(events, []);
  assert.deepEqual(fx.store.range(ALL, ALL).kvs.map(kvt), [['a', '1', 2, 2, 1, 0n]]);
  assert.equal(fx.store.keyCount, 1);
  assert.deepEqual([...fx.store.keysWithLease()], []);
  put(fx.store, 'a', '3');
  assert.deepEqual(kvt(fx.store.range(b('a'), null).kvs[0]!), ['a', '3', 2, 3, 2, 0n]);
  await fx.reopen();
  assert.equal(fx.store.currentRevision, 3);
  assert.equal(fx.backend.appliedIndex(), 1);
  await fx.close();
});

test('onCommit gets each changing txn after the commit, with delete events like etcd', async () => {
  const { backend, store, close } = await openFixture();
  const got: Array<[number, Array<[string, string, number]>, boolean]> = [];
  store.onCommit((rev, evs) =>
    got.push([rev, evs.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]), backend.inBatch]),
  );
  backend.batch(() => {
    store.write((t) => t.put(b('a'), b('1'), 3n));
    store.write((t) => t.deleteRange(b('zz'), null));
    store.write((t) => t.deleteRange(b('a'), b('b')));
    assert.equal(got.length, 0);
  });
  assert.deepEqual(got, [
    [2, [['put', 'a', 2]], false],
    [3, [['delete', 'a', 3]], false],
  ]);
  const ev = store.history(3, 3, { prevKv: true })[0]!;
  assert.deepEqual(kvt(ev.kv), ['a', '', 0, 3, 0, 0n]);
  assert.deepEqual(kvt(ev.prevKv!), ['a', '1', 2, 2, 1, 3n]);
  assert.equal(ev.prevLease, 3n);
  await close();
});

test('keys of 10 KB and binary values work, also after reopen', async () => {
  const fx = await openFixture();
  const big = Buffer.alloc(10 * 1024, 0xfe);
  big[0] = 0x00;
  const big2 = Buffer.from(big);
  big2[big2.length - 1] = 0xff;
  const value = Buffer.alloc(100 * 1024, 0x01);
  put(fx.store, big, value);
  put(fx.store, big2, b('x'));
  assert.deepEqual(fx.store.range(big, null).kvs[0]!.value, value);
  assert.equal(fx.store.range(big, ALL).count, 2);
  await fx.reopen();
  assert.deepEqual(
    fx.store.range(big, ALL).kvs.map((kv) => kv.key),
    [big, big2],
  );
  del(fx.store, big.toString('latin1'));
  assert.equal(fx.store.range(big, ALL).count, 1);
  await fx.close();
});

test('keysWithLease lists live leased keys', async () => {
  const fx = await openFixture();
  put(fx.store, 'a', '1', 10n);
  put(fx.store, 'b', '1', 11n);
  put(fx.store, 'c', '1');
  put(fx.store, 'b', '2', 0n);
  put(fx.store, 'd', '1', 12n);
  del(fx.store, 'd');
  put(fx.store, 'e', '1', 0x7fffffffffffffffn);
  const list = () => [...fx.store.keysWithLease()].map(({ key, lease }) => [key.toString(), lease]);
  assert.deepEqual(list(), [
    ['a', 10n],
    ['e', 0x7fffffffffffffffn],
  ]);
  await fx.reopen();
  assert.deepEqual(list(), [
    ['a', 10n],
    ['e', 0x7fffffffffffffffn],
  ]);
  await fx.close();
});

test('write transactions cannot nest and must be synchronous', async () => {
  const { store, close } = await openFixture();
  assert.throws(() => store.write(() => store.write((t) => t.put(b('x'), b('1')))), /cannot be nested/);
  assert.throws(() =>
    store.write(async (t) => {
      t.put(b('y'), b('1'));
    }),
  );
  assert.equal(store.currentRevision, 1);
  assert.equal(store.range(b('y'), null).count, 0);
  const txn = store.write((t) => t);
  assert.throws(() => txn.put(b('z'), b('1')), /already ended/);
  await close();
});
