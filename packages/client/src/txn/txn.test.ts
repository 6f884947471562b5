import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage, etcdserverpb } from '@conclave/api';
import { toBytes } from '../util/bytes.js';
import { cmp } from './compare.js';
import { Txn, hasWrites, op, txnRequest, txnResult, type TxnResult } from './txn.js';

test('compares encode every target and operator, with oneof presence for zero', () => {
  const ns = toBytes('ns/');
  const req = txnRequest(
    ns,
    [
      cmp.version('a', '=', 0),
      cmp.createRevision('b', '>', 5n),
      cmp.modRevision('c', '<', 7),
      cmp.value('d', '!=', 'x'),
      cmp.lease('e', '==', 0n),
      cmp.version('p/', '>', 0, { prefix: true }),
    ],
    [
      op.put('a', 'v', { lease: 9n }),
      op.get('p/', { prefix: true, limit: 2 }),
      op.delete('z', { fromKey: true, prevKv: true }),
    ],
    [op.txn([cmp.value('a', '=', 'v')], [op.get('a')])],
  );
  const bytes = etcdserverpb.TxnRequest.create(req);
  const c = bytes.compare;
  assert.equal(c.length, 6);
  assert.deepEqual([c[0]!.target, c[0]!.result, c[0]!.version], [0, 0, 0n]);
  assert.deepEqual([c[1]!.target, c[1]!.result, c[1]!.createRevision], [1, 1, 5n]);
  assert.deepEqual([c[2]!.target, c[2]!.result, c[2]!.modRevision], [2, 2, 7n]);
  assert.deepEqual([c[3]!.target, c[3]!.result, Buffer.from(c[3]!.value!).toString()], [3, 3, 'x']);
  assert.deepEqual([c[4]!.target, c[4]!.lease], [4, 0n]);
  assert.equal(Buffer.from(c[0]!.key).toString(), 'ns/a');
  assert.equal(Buffer.from(c[5]!.rangeEnd).toString(), 'ns/p0');
  // the zero-valued oneof survives a wire round trip
  const wire = etcdserverpb.TxnRequest;
  const back = decodeMessage(wire, encodeMessage(wire, req));
  assert.equal(back.compare[0]!.version, 0n);
  assert.equal(back.compare[4]!.lease, 0n);
  const s = back.success;
  assert.equal(Buffer.from(s[0]!.requestPut!.key).toString(), 'ns/a');
  assert.equal(s[0]!.requestPut!.lease, 9n);
  assert.equal(Buffer.from(s[1]!.requestRange!.rangeEnd).toString(), 'ns/p0');
  assert.equal(s[1]!.requestRange!.limit, 2n);
  assert.equal(Buffer.from(s[2]!.requestDeleteRange!.rangeEnd).toString(), 'ns0');
  assert.equal(back.failure[0]!.requestTxn!.compare.length, 1);
  assert.throws(() => cmp.version('a', '>=' as never, 1), TypeError);
});

test('read-only transactions are detected (they are retried like reads)', () => {
  assert.equal(hasWrites([op.get('a')]), false);
  assert.equal(hasWrites([op.get('a'), op.txn([], [op.get('b')], [op.delete('c')])]), true);
  assert.equal(hasWrites([op.put('a', 'b')]), true);
});

test('txn results strip the namespace and carry the revision', () => {
  const kv = { key: toBytes('ns/a'), value: toBytes('1'), createRevision: 2n, modRevision: 3n, version: 2n, lease: 0n };
  const res = etcdserverpb.TxnResponse.create({
    header: { revision: 10n },
    succeeded: true,
    responses: [
      { responseRange: { kvs: [kv], count: 1n } },
      { responsePut: { prevKv: kv } },
      { responseDeleteRange: { deleted: 1n, prevKvs: [kv] } },
    ],
  });
  const r = txnResult(res, 3);
  assert.equal(r.succeeded, true);
  assert.equal(r.revision, 10n);
  const [g, p, d] = r.responses;
  assert.ok(g?.type === 'get' && g.kvs[0]!.keyString === 'a' && g.count === 1 && g.revision === 10n);
  assert.ok(p?.type === 'put' && p.prevKv?.valueString === '1');
  assert.ok(d?.type === 'delete' && d.deleted === 1 && d.prevKvs[0]!.keyString === 'a');
});

test('the builder appends and commits; awaiting it by mistake commits instead of hanging', async () => {
  const seen: unknown[] = [];
  const done: TxnResult = { succeeded: false, revision: 1n, responses: [] };
  const t = new Txn(async (c, s, f, o) => {
    seen.push([c.length, s.length, f.length, o]);
    return done;
  });
  t.if(cmp.version('a', '=', 0))
    .if(cmp.value('b', '=', 'x'))
    .then(op.put('a', '1'))
    .then(op.get('b'))
    .else(op.get('a'));
  assert.equal(await t.commit({ timeoutMs: 5 }), done);
  assert.equal(await (t as unknown as PromiseLike<TxnResult>), done);
  assert.deepEqual(seen, [
    [2, 2, 1, { timeoutMs: 5 }],
    [2, 2, 1, {}],
  ]);
});
