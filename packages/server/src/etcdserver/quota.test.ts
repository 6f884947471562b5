// The backend quota: etcd's cost formulas (Put 256 + key + value; Txn the larger branch of its
// top-level Puts; LeaseGrant 64), "fits while size + cost < quota", free requests always fit, the
// size cache (100 ms) and its reset when the data file is replaced.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { BackendQuota, costPut, costTxn, humanizeBytes, KV_OVERHEAD, LEASE_OVERHEAD, quotaLogLines } from './quota.js';

const b = (s: string): Buffer => Buffer.from(s);
const put = (k: string, v: string) => etcdserverpb.RequestOp.create({ requestPut: { key: b(k), value: b(v) } });

test('costs are etcd 3.4s', () => {
  assert.equal(KV_OVERHEAD, 256);
  assert.equal(LEASE_OVERHEAD, 64);
  assert.equal(costPut({ key: b('abc'), value: b('12345') }), 264);
  const nested = etcdserverpb.RequestOp.create({ requestTxn: { success: [put('x', 'y'.repeat(1000))] } });
  const t = etcdserverpb.TxnRequest.create({
    success: [put('a', '1'), put('b', '22'), nested, etcdserverpb.RequestOp.create({ requestRange: { key: b('r') } })],
    failure: [put('c', 'x'.repeat(300))],
  });
  // success: 258 + 259 = 517 (the nested txn costs nothing); failure: 557
  assert.equal(costTxn(t), 557);
  assert.equal(costTxn(etcdserverpb.TxnRequest.create({ success: [nested] })), 0);
});

function fakeBackend(size: number) {
  const listeners: Array<() => void> = [];
  const fb = {
    size,
    reads: 0,
    sizeInUse: () => {
      fb.reads++;
      return fb.size;
    },
    onReplace: (l: () => void) => {
      listeners.push(l);
      return () => {};
    },
    replace: () => {
      for (const l of listeners) l();
    },
  };
  return fb;
}

test('a request fits while size + cost < quota; free requests and a disabled quota always fit', () => {
  const fb = fakeBackend(1000);
  const q = new BackendQuota(fb, 1300, () => 0);
  assert.equal(q.available(299), true);
  assert.equal(q.available(300), false);
  assert.equal(q.available(0), true);
  assert.equal(q.remaining(), 300);
  const off = new BackendQuota(fakeBackend(10 ** 12), null, () => 0);
  assert.equal(off.available(10 ** 9), true);
  assert.equal(off.remaining(), Number.POSITIVE_INFINITY);
});

test('the size is read at most every 100 ms, and at once after the data file was replaced', () => {
  const fb = fakeBackend(1000);
  let now = 0;
  const q = new BackendQuota(fb, 1300, () => now);
  assert.equal(q.available(100), true);
  fb.size = 1250;
  now = 99;
  assert.equal(q.available(100), true, 'cached size still used');
  assert.equal(fb.reads, 1);
  now = 100;
  assert.equal(q.available(100), false);
  assert.equal(fb.reads, 2);
  fb.size = 500; // a defragment shrank the file
  fb.replace();
  now = 101;
  assert.equal(q.available(100), true);
  assert.equal(fb.reads, 3);
});

test('start-up log lines are etcd 3.4s, with go-humanize sizes', () => {
  assert.equal(humanizeBytes(5), '5 B');
  assert.equal(humanizeBytes(53248), '53 kB');
  assert.equal(humanizeBytes(2 * 1024 ** 3), '2.1 GB');
  assert.equal(humanizeBytes(9 * 1024 ** 3), '9.7 GB');
  assert.deepEqual(quotaLogLines(0), [
    {
      level: 'info',
      msg: 'enabled backend quota with default value',
      fields: { 'quota-name': 'v3-applier', 'quota-size-bytes': 2147483648, 'quota-size': '2.1 GB' },
    },
  ]);
  assert.deepEqual(quotaLogLines(-1), [
    { level: 'info', msg: 'disabled backend quota', fields: { 'quota-name': 'v3-applier', 'quota-size-bytes': -1 } },
  ]);
  assert.deepEqual(
    quotaLogLines(9 * 1024 ** 3).map((l) => [l.level, l.msg]),
    [
      ['warn', 'quota exceeds the maximum value'],
      ['info', 'enabled backend quota'],
    ],
  );
  assert.deepEqual(quotaLogLines(53248)[0]!.fields, {
    'quota-name': 'v3-applier',
    'quota-size-bytes': 53248,
    'quota-size': '53 kB',
  });
});
