// KV, transactions, pagination, compaction and namespaces through @conclave/client, with the same
// bodies against every target that has 'kv' (see targets.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AbortedError,
  CompactedError,
  ConclaveError,
  DuplicateKeyError,
  EmptyKeyError,
  FutureRevisionError,
  KeyValue,
  RequestTooLargeError,
  TooManyOpsError,
  cmp,
  op,
} from '@conclave/client';
import { describeTargets } from './targets.js';
import { eventually } from './wait.js';

const keys = (kvs: KeyValue[]): string[] => kvs.map((k) => k.keyString);

describeTargets(['kv'], (ctx) => {
  test('put and get: revisions, versions, prevKv, missing keys', async () => {
    const c = ctx.client;
    const p1 = await c.put('kv/a', '1');
    assert.equal(typeof p1.revision, 'bigint');
    const p2 = await c.put('kv/a', '2', { prevKv: true });
    assert.equal(p2.revision, p1.revision + 1n);
    assert.equal(p2.prevKv?.valueString, '1');
    const kv = await c.get('kv/a');
    assert.ok(kv instanceof KeyValue);
    assert.equal(kv.keyString, 'kv/a');
    assert.equal(kv.valueString, '2');
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, kv.lease], [p1.revision, p2.revision, 2n, 0n]);
    assert.equal(await c.get('kv/missing'), undefined);
    // historic read
    assert.equal((await c.get('kv/a', { revision: p1.revision }))?.valueString, '1');
    // keep the value, replace nothing else
    await c.put('kv/a', '', { ignoreValue: true });
    assert.equal((await c.get('kv/a'))?.valueString, '2');
    // a serializable read is served by one member and may lag briefly
    assert.equal(
      (
        await eventually(
          () => c.get('kv/a', { serializable: true }),
          (kv) => kv?.valueString === '2',
        )
      )?.valueString,
      '2',
    );
  });

  test('binary keys and values round-trip byte for byte', async () => {
    const c = ctx.client;
    const key = Uint8Array.from([0x62, 0x69, 0x6e, 0x2f, 0x00, 0xff, 0x80, 0x01]);
    const value = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 7 + 3) & 0xff);
    await c.put(key, value);
    const kv = await c.get(key);
    assert.ok(kv);
    assert.deepEqual(Buffer.from(kv.key), Buffer.from(key));
    assert.deepEqual(Buffer.from(kv.value), Buffer.from(value));
    await c.put('bin/ünï ✓', 'välue ✓');
    assert.equal((await c.get('bin/ünï ✓'))?.valueString, 'välue ✓');
    const r = await c.range('bin/', { prefix: true, keysOnly: true });
    assert.equal(r.count, 2);
    assert.equal(r.kvs[0]!.value.length, 0);
  });

  test('values near the request limit are accepted; larger ones fail with RequestTooLargeError', async () => {
    const c = ctx.client;
    const big = new Uint8Array(1_572_864 - 1024).fill(0x61);
    await c.put('large/ok', big);
    assert.equal((await c.get('large/ok'))?.value.length, big.length);
    for (const size of [1_800_000, 3 * 1024 * 1024]) {
      await assert.rejects(
        c.put('large/no', new Uint8Array(size)),
        (e: unknown) => e instanceof RequestTooLargeError && e.retriable === false,
        `${size} bytes`,
      );
    }
    await c.delete('large/ok');
  });

  test('range: prefix, [key, end), fromKey, limit, count, sort, keysOnly, countOnly, revision filters', async () => {
    const c = ctx.client;
    const revs: bigint[] = [];
    for (const k of ['e', 'b', 'd', 'a', 'c']) revs.push((await c.put(`r/${k}`, `v-${k}`)).revision);
    await c.put('r/c', 'v-c2');
    await c.put('rz', 'outside');
    assert.deepEqual(keys((await c.range('r/', { prefix: true })).kvs), ['r/a', 'r/b', 'r/c', 'r/d', 'r/e']);
    assert.deepEqual(keys((await c.range({ key: 'r/', prefix: true })).kvs), ['r/a', 'r/b', 'r/c', 'r/d', 'r/e']);
    assert.deepEqual(keys((await c.range('r/b', { end: 'r/d' })).kvs), ['r/b', 'r/c']);
    assert.deepEqual(keys((await c.range('r/d', { fromKey: true })).kvs), ['r/d', 'r/e', 'rz']);
    const lim = await c.range('r/', { prefix: true, limit: 2 });
    assert.deepEqual([keys(lim.kvs), lim.more, lim.count], [['r/a', 'r/b'], true, 5]);
    assert.deepEqual(keys((await c.range('r/', { prefix: true, sort: { target: 'key', order: 'descend' } })).kvs), [
      'r/e',
      'r/d',
      'r/c',
      'r/b',
      'r/a',
    ]);
    assert.deepEqual(keys((await c.range('r/', { prefix: true, sort: { target: 'create', order: 'ascend' } })).kvs), [
      'r/e',
      'r/b',
      'r/d',
      'r/a',
      'r/c',
    ]);
    assert.equal(
      (await c.range('r/', { prefix: true, sort: { target: 'mod', order: 'descend' } })).kvs[0]!.keyString,
      'r/c',
    );
    assert.equal(
      (await c.range('r/', { prefix: true, sort: { target: 'version', order: 'descend' } })).kvs[0]!.keyString,
      'r/c',
    );
    assert.deepEqual(
      keys((await c.range('r/', { prefix: true, sort: { target: 'value', order: 'descend' }, limit: 2 })).kvs),
      ['r/e', 'r/d'],
    );
    const co = await c.range('r/', { prefix: true, countOnly: true });
    assert.deepEqual([co.kvs.length, co.count], [0, 5]);
    const ko = await c.range('r/', { prefix: true, keysOnly: true });
    assert.ok(ko.kvs.every((k) => k.value.length === 0));
    assert.ok(typeof ko.revision === 'bigint' && ko.revision >= revs[4]!);
    // at a past revision, and with modification/creation revision filters
    assert.deepEqual(keys((await c.range('r/', { prefix: true, revision: revs[1]! })).kvs), ['r/b', 'r/e']);
    assert.deepEqual(keys((await c.range('r/', { prefix: true, minModRevision: revs[4]! + 1n })).kvs), ['r/c']);
    assert.deepEqual(keys((await c.range('r/', { prefix: true, maxCreateRevision: revs[1]! })).kvs), ['r/b', 'r/e']);
    assert.equal(
      (
        await eventually(
          () => c.range('r/', { prefix: true, serializable: true }),
          (r) => r.count === 5,
        )
      ).count,
      5,
    );
  });

  test('paginate walks a large range at one revision', async () => {
    const c = ctx.client;
    const want: string[] = [];
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => {
        const k = `pg/${String(i).padStart(3, '0')}`;
        want.push(k);
        return c.put(k, String(i));
      }),
    );
    want.sort();
    const seen: string[] = [];
    for await (const kv of c.paginate('pg/', { prefix: true, pageSize: 7 })) {
      seen.push(kv.keyString);
      // written during the iteration: not part of the snapshot being paged
      if (seen.length === 3) await c.put('pg/001x', 'late');
    }
    assert.deepEqual(seen, want);
    const ns: string[] = [];
    for await (const kv of c.namespace('pg/').paginate('', { prefix: true, pageSize: 10, keysOnly: true }))
      ns.push(kv.keyString);
    assert.equal(ns.length, 26);
    assert.equal(ns[0], '000');
  });

  test('delete: one key, a prefix with prevKv, a range; deleting nothing keeps the revision', async () => {
    const c = ctx.client;
    for (const k of ['a', 'b', 'c', 'd']) await c.put(`del/${k}`, k);
    assert.equal((await c.delete('del/a')).deleted, 1);
    const r = await c.delete({ key: 'del/b', end: 'del/d' }, { prevKv: true });
    assert.deepEqual([r.deleted, keys(r.prevKvs)], [2, ['del/b', 'del/c']]);
    const before = (await c.put('del/x', 'x')).revision;
    const none = await c.delete('del/nothing');
    assert.deepEqual([none.deleted, none.revision], [0, before]);
    const all = await c.delete('del/', { prefix: true, prevKv: true });
    assert.deepEqual(keys(all.prevKvs), ['del/d', 'del/x']);
    assert.equal((await c.range('del/', { prefix: true })).count, 0);
  });

  test('transactions: every compare target, both branches, nested, ranges, and errors', async () => {
    const c = ctx.client;
    const p = await c.put('tx/a', '1');
    const res = await c
      .txn()
      .if(
        cmp.version('tx/none', '=', 0),
        cmp.createRevision('tx/a', '=', p.revision),
        cmp.modRevision('tx/a', '<', p.revision + 1n),
        cmp.value('tx/a', '=', '1'),
        cmp.lease('tx/a', '=', 0),
      )
      .then(
        op.put('tx/a', '2', { prevKv: true }),
        op.get('tx/a'),
        op.delete('tx/none'),
        // nested conditions are evaluated before any op of the transaction runs, as in etcd
        op.txn([cmp.value('tx/a', '=', '1')], [op.put('tx/n', 'nested')], [op.put('tx/n', 'wrong')]),
      )
      .else(op.get('tx/a'))
      .commit();
    assert.equal(res.succeeded, true);
    assert.deepEqual(
      res.responses.map((r) => r.type),
      ['put', 'get', 'delete', 'txn'],
    );
    const [put, get, , nested] = res.responses;
    assert.ok(put?.type === 'put' && put.prevKv?.valueString === '1');
    assert.ok(get?.type === 'get' && get.kvs[0]?.valueString === '2');
    assert.ok(nested?.type === 'txn' && nested.succeeded);
    assert.equal((await c.get('tx/n'))?.valueString, 'nested');
    assert.equal(res.revision, p.revision + 1n);
    const other = await c
      .txn()
      .if(cmp.value('tx/a', '!=', '2'))
      .then(op.put('tx/a', 'x'))
      .else(op.get('tx/a'))
      .commit();
    assert.equal(other.succeeded, false);
    assert.ok(other.responses[0]?.type === 'get' && other.responses[0].kvs[0]?.valueString === '2');
    assert.equal((await c.get('tx/a'))?.valueString, '2');
    // a condition over a prefix holds only if every key satisfies it. (Each txn carries a range:
    // etcd 3.4 serves a txn without any range op as serializable, from a member that may lag.)
    await c.put('tx/p/1', 'x');
    await c.put('tx/p/2', 'y');
    assert.equal(
      (
        await c
          .txn()
          .if(cmp.version('tx/p/', '>', 0, { prefix: true }))
          .then(op.get('tx/p/1'))
          .commit()
      ).succeeded,
      true,
    );
    assert.equal(
      (
        await c
          .txn()
          .if(cmp.value('tx/p/', '=', 'x', { prefix: true }))
          .then(op.get('tx/p/1'))
          .commit()
      ).succeeded,
      false,
    );
    // a read-only transaction
    const ro = await c
      .txn()
      .then(op.get('tx/p/', { prefix: true, countOnly: true }))
      .commit();
    assert.ok(ro.responses[0]?.type === 'get' && ro.responses[0].count === 2);
    await assert.rejects(c.txn().then(op.put('tx/d', '1'), op.put('tx/d', '2')).commit(), DuplicateKeyError);
    const many = Array.from({ length: 129 }, (_, i) => op.put(`tx/m${i}`, 'v'));
    await assert.rejects(
      c
        .txn()
        .then(...many)
        .commit(),
      TooManyOpsError,
    );
  });

  test('compaction: old revisions become unreadable, future ones are refused', async () => {
    const c = ctx.client;
    const r1 = (await c.put('cp/a', '1')).revision;
    const r2 = (await c.put('cp/a', '2')).revision;
    await c.compact(r2, { physical: true });
    await assert.rejects(
      c.get('cp/a', { revision: r1 }),
      (e: unknown) => e instanceof CompactedError && e.code === 'Compacted' && !e.retriable,
    );
    assert.equal((await c.get('cp/a', { revision: r2 }))?.valueString, '2');
    await assert.rejects(c.compact(r1), CompactedError);
    await assert.rejects(c.get('cp/a', { revision: r2 + 1000n }), FutureRevisionError);
  });

  test('namespaces prefix every key transparently, also in transactions and ranges', async () => {
    const c = ctx.client;
    const ns = c.namespace('app/');
    const deeper = ns.namespace('cfg/');
    await ns.put('x', '1');
    await deeper.put('y', '2');
    await c.put('apq', 'outside');
    assert.equal((await c.get('app/x'))?.valueString, '1');
    assert.equal((await c.get('app/cfg/y'))?.valueString, '2');
    assert.equal((await ns.get('x'))?.keyString, 'x');
    assert.equal((await deeper.get('y'))?.keyString, 'y');
    assert.deepEqual(keys((await ns.range('', { prefix: true })).kvs), ['cfg/y', 'x']);
    assert.deepEqual(keys((await ns.range('a', { fromKey: true })).kvs), ['cfg/y', 'x']);
    assert.deepEqual(keys((await deeper.range('', { fromKey: true })).kvs), ['y']);
    const t = await ns
      .txn()
      .if(cmp.value('x', '=', '1'))
      .then(op.put('x', '3', { prevKv: true }), op.get('cfg/', { prefix: true }))
      .commit();
    assert.ok(t.succeeded);
    assert.ok(t.responses[0]?.type === 'put' && t.responses[0].prevKv?.keyString === 'x');
    assert.ok(t.responses[1]?.type === 'get' && t.responses[1].kvs[0]?.keyString === 'cfg/y');
    const d = await ns.delete('', { prefix: true, prevKv: true });
    assert.deepEqual(keys(d.prevKvs), ['cfg/y', 'x']);
    assert.equal((await c.get('apq'))?.valueString, 'outside');
  });

  test('errors are typed; an aborted signal stops the call', async () => {
    const c = ctx.client;
    const e = await c.put('', 'v').catch((x: unknown) => x);
    assert.ok(e instanceof EmptyKeyError && e instanceof ConclaveError);
    assert.equal(e.code, 'EmptyKey');
    await assert.rejects(c.get('k', { signal: AbortSignal.abort() }), AbortedError);
    await assert.rejects(c.put('k', 'v', { signal: AbortSignal.abort() }), AbortedError);
  });
});
