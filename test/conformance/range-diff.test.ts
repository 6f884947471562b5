// Range, differentially: the same random history (puts of several keys in one txn so that create
// and mod revisions tie, values and versions that repeat, deletes, re-creates, a compaction) goes to
// etcd 3.4, etcd 3.5 and Conclave; then random RangeRequests — every sort target and order, limits,
// revision filters, read revisions, count_only and keys_only — must get the same answer from all
// three: the same keys in the same order (etcd's sort is Go's unstable sort.Sort, so equal sort
// values are a real test), the same `more` and `count`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb, type PartialMessage } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

const KV = etcdserverpb.KVService;
const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;
const KINDS: ServerKind[] = ['etcd', 'etcd35', 'conclave'];
const b = (s: string): Buffer => Buffer.from(s);

let seed = 20240611;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

const servers: ServerProcess[] = [];
const clients: RawClient[] = [];
let current = 0;
let compacted = 0;

before(async () => {
  servers.push(...(await Promise.all(KINDS.map((k) => startServer(k)))));
  clients.push(...servers.map((s) => new RawClient(s.endpoint)));
  const keys = Array.from({ length: 40 }, (_, i) => `r/${String(i).padStart(2, '0')}`);
  const history: PartialMessage<etcdserverpb.TxnRequest>[] = [];
  for (let i = 0; i < 160; i++) {
    const ops: PartialMessage<etcdserverpb.RequestOp>[] = [];
    const used = new Set<string>();
    for (let j = 0, n = 1 + rnd(4); j < n; j++) {
      const k = keys[rnd(keys.length)]!;
      if (used.has(k)) continue;
      used.add(k);
      ops.push(
        rnd(6) === 0 ? { requestDeleteRange: { key: b(k) } } : { requestPut: { key: b(k), value: b(`v${rnd(5)}`) } },
      );
    }
    history.push({ success: ops });
  }
  for (const c of clients) {
    for (const [i, t] of history.entries()) {
      await c.unary(KV.Txn, t);
      if (i === 60) await c.unary(KV.Compact, { revision: 30 });
    }
  }
  // for the quirk: q/a at version 2, q/b at version 3, q/c at version 1
  for (const c of clients) {
    for (const k of ['q/a', 'q/a', 'q/b', 'q/b', 'q/b', 'q/c']) await c.unary(KV.Put, { key: b(k), value: b('x') });
  }
  const revs = await Promise.all(
    clients.map(async (c) => (await c.unary(KV.Range, { key: b('r/') })).header!.revision),
  );
  assert.equal(new Set(revs).size, 1, `the three stores reached the same revision: ${revs}`);
  current = Number(revs[0]);
  compacted = 30;
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
});

type Answer = { keys: string[]; more: boolean; count: string; rev: string };

async function ask(c: RawClient, r: PartialMessage<etcdserverpb.RangeRequest>): Promise<Answer> {
  const res = await c.unary(KV.Range, r);
  return {
    keys: res.kvs.map(
      (kv) =>
        `${Buffer.from(kv.key).toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version} =${Buffer.from(kv.value).toString()}`,
    ),
    more: res.more,
    count: String(res.count),
    rev: String(res.header!.revision),
  };
}

describe('Range against etcd 3.4 and 3.5', () => {
  test('the quirk: sort order NONE with another target sorts only the first limit + 1 keys', async () => {
    const r = { key: b('q/'), rangeEnd: b('q0'), sortTarget: SortTarget.VERSION, limit: 1n };
    const answers = (await Promise.all(clients.map((cl) => ask(cl, r)))) as [Answer, Answer, Answer];
    // q/a and q/b are read (limit + 1), sorted by version: q/a (2) before q/b (3); q/c is never read
    for (const a of answers) assert.deepEqual([a.keys.map((k) => k.split(' ')[0]), a.more], [['q/a'], true]);
    const asc = await ask(clients[2]!, { ...r, sortOrder: SortOrder.ASCEND });
    assert.deepEqual(
      asc.keys.map((k) => k.split(' ')[0]),
      ['q/c'],
    );
  });

  test('random requests: same keys in the same order, more and count', async () => {
    let differ35 = 0;
    for (let i = 0; i < 400; i++) {
      const lo = 1 + rnd(current);
      const r: PartialMessage<etcdserverpb.RangeRequest> = {
        key: b('r/'),
        rangeEnd: rnd(5) === 0 ? b(`r/${String(10 + rnd(30)).padStart(2, '0')}`) : b('r0'),
        sortTarget: rnd(5) as etcdserverpb.RangeRequest_SortTarget,
        sortOrder: rnd(3) as etcdserverpb.RangeRequest_SortOrder,
        limit: BigInt(rnd(3) === 0 ? 0 : 1 + rnd(20)),
        revision: BigInt(rnd(3) === 0 ? compacted + rnd(current - compacted + 1) : 0),
        minCreateRevision: BigInt(rnd(4) === 0 ? lo : 0),
        maxCreateRevision: BigInt(rnd(4) === 0 ? lo + rnd(100) : 0),
        minModRevision: BigInt(rnd(5) === 0 ? lo : 0),
        maxModRevision: BigInt(rnd(5) === 0 ? lo + rnd(100) : 0),
        countOnly: rnd(12) === 0,
        keysOnly: rnd(6) === 0,
      };
      const [e34, e35, c] = (await Promise.all(clients.map((cl) => ask(cl, r)))) as [Answer, Answer, Answer];
      const what = JSON.stringify(r, (_k, v) =>
        typeof v === 'bigint' ? String(v) : Buffer.isBuffer(v) ? v.toString() : v,
      );
      assert.deepEqual(c, e34, `etcd 3.4 vs Conclave: ${what}`);
      if (JSON.stringify(e35) !== JSON.stringify(e34)) differ35++;
      assert.deepEqual(c, e35, `etcd 3.5 vs Conclave: ${what}`);
    }
    assert.equal(differ35, 0);
  });
});
