// Range answers etcd's: model test over a random history (creates, updates, deletes, re-creates,
// several keys written in one revision so that revisions tie, a compaction): every combination of
// sort target, order, create/mod bounds, limit and read revision must give exactly what etcd's
// steps give over a full read — including when the key index picks the first keys before values
// are read (RangeSelect). The same requests against etcd 3.4 and 3.5: test/conformance/range-diff.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { type Fixture, b, openFixture } from '../../testing/mvcc-fixture.js';
import type { KeyValue } from '../mvcc/index.js';
import { goSort } from './go-sort.js';
import { applyRange } from './kv.js';

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;

let fx: Fixture;
let seed = 12345;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

before(async () => {
  fx = await openFixture();
  const keys = Array.from({ length: 30 }, (_, i) => `k/${String(i).padStart(2, '0')}`);
  for (let i = 0; i < 400; i++) {
    fx.store.write((t) => {
      // 1–3 operations in one revision: equal create/mod revisions across keys
      for (let j = 0, n = 1 + rnd(3); j < n; j++) {
        const k = keys[rnd(keys.length)]!;
        if (rnd(5) === 0) t.deleteRange(b(k), null);
        else t.put(b(k), b(`v${i}-${j}`), 0n);
      }
    });
    if (i === 150) await fx.store.compact(fx.store.currentRevision - 20).done;
  }
});
after(async () => {
  await fx?.close();
});

/**
 * What etcd returns, step by step from its applierV3backend.Range, over a full read in key order:
 * the first limit + 1 keys unless sorting or filtering, the revision filters, the sort (Go's
 * sort.Sort; a target other than KEY with order NONE sorts ascending), the cut.
 */
function reference(r: etcdserverpb.RangeRequest): { keys: string[]; more: boolean; count: number } {
  const rr = fx.store.range(Buffer.from(r.key), Buffer.from(r.rangeEnd), { rev: Number(r.revision) });
  const limit = Number(r.limit);
  const filtered =
    r.minModRevision !== 0n || r.maxModRevision !== 0n || r.minCreateRevision !== 0n || r.maxCreateRevision !== 0n;
  let kvs: KeyValue[] = r.sortOrder === SortOrder.NONE && !filtered && limit > 0 ? rr.kvs.slice(0, limit + 1) : rr.kvs;
  kvs = kvs.filter(
    (kv) =>
      (r.minModRevision === 0n || kv.modRevision >= Number(r.minModRevision)) &&
      (r.maxModRevision === 0n || kv.modRevision <= Number(r.maxModRevision)) &&
      (r.minCreateRevision === 0n || kv.createRevision >= Number(r.minCreateRevision)) &&
      (r.maxCreateRevision === 0n || kv.createRevision <= Number(r.maxCreateRevision)),
  );
  const less = (x: KeyValue, y: KeyValue): boolean => {
    switch (r.sortTarget) {
      case SortTarget.CREATE:
        return x.createRevision < y.createRevision;
      case SortTarget.MOD:
        return x.modRevision < y.modRevision;
      case SortTarget.VERSION:
        return x.version < y.version;
      case SortTarget.VALUE:
        return Buffer.compare(x.value, y.value) < 0;
      default:
        return Buffer.compare(x.key, y.key) < 0;
    }
  };
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  kvs = [...kvs];
  if (order === SortOrder.ASCEND) goSort(kvs, less);
  if (order === SortOrder.DESCEND) goSort(kvs, (x, y) => less(y, x));
  const more = limit > 0 && kvs.length > limit;
  if (more) kvs = kvs.slice(0, limit);
  return { keys: kvs.map((kv) => `${kv.key.toString('latin1')}@${kv.modRevision}`), more, count: rr.count };
}

test("every Range option combination equals etcd's steps over a full read (index selection included)", () => {
  const current = fx.store.currentRevision;
  const compacted = fx.store.compactRevision;
  let checked = 0;
  for (let i = 0; i < 3000; i++) {
    const lo = rnd(current) + 1;
    const r = etcdserverpb.RangeRequest.create({
      key: b('k/'),
      rangeEnd: rnd(4) === 0 ? b(`k/${String(rnd(30)).padStart(2, '0')}`) : b('k0'),
      sortTarget: [SortTarget.KEY, SortTarget.CREATE, SortTarget.MOD, SortTarget.VERSION, SortTarget.VALUE][rnd(5)]!,
      sortOrder: [SortOrder.NONE, SortOrder.ASCEND, SortOrder.DESCEND][rnd(3)]!,
      limit: BigInt(rnd(3) === 0 ? 0 : 1 + rnd(5)),
      revision: BigInt(rnd(2) === 0 ? 0 : Math.max(compacted, 1) + rnd(current - Math.max(compacted, 1) + 1)),
      minCreateRevision: BigInt(rnd(3) === 0 ? lo : 0),
      maxCreateRevision: BigInt(rnd(3) === 0 ? lo + rnd(200) : 0),
      minModRevision: BigInt(rnd(4) === 0 ? lo : 0),
      maxModRevision: BigInt(rnd(4) === 0 ? lo + rnd(200) : 0),
    });
    if (r.rangeEnd.length > 0 && Buffer.compare(Buffer.from(r.rangeEnd), Buffer.from(r.key)) <= 0) continue;
    const got = applyRange(fx.store, r);
    const want = reference(r);
    const gotKeys = (got.kvs ?? []).map((kv) => `${Buffer.from(kv.key!).toString('latin1')}@${Number(kv.modRevision)}`);
    assert.deepEqual(
      { keys: gotKeys, more: got.more ?? false, count: got.count },
      want,
      JSON.stringify({ ...r, key: 'k/' }, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    );
    checked++;
  }
  assert.ok(checked > 2000);
});
