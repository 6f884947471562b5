// A Range of ~20 MB (sent in chunks by Conclave, range-stream/) answered as etcd 3.5.30 answers it:
// the same writes on both servers (values from empty to 60 KB, leases, keys rewritten and deleted
// over many revisions), then the whole range, older revisions, limits, keys-only, sorted and
// filtered ranges, each decoded and compared (kvs, count, more, revision), and Conclave's JSON
// gateway's answer to the whole range compared with etcd's. (Sorts with many equal sort values are
// left to the model test against the plain path, range-stream/encoder.test.ts: over 2,000 keys the
// order of ties already differs from etcd 3.5.30's on the plain path, apply/go-sort.ts.)

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdserverpb, type PartialMessage } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';

const KV = etcdserverpb.KVService;
const L = etcdserverpb.LeaseService;
const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;

/** Deterministic value bytes: a length and a fill from the key number and round. */
function value(i: number, round: number): Buffer {
  const len = i % 97 === 0 ? 0 : i % 211 === 0 ? 60_000 : 8_000 + ((i * 7919 + round) % 4_000);
  return Buffer.alloc(len, (i + round) & 0xff);
}

type Put = PartialMessage<etcdserverpb.PutRequest>;

/** The writes, as txns of at most 100 puts and 1.2 MB (under etcd's default request limits). */
function writes(): Array<Put[] | { del: string }> {
  const out: Array<Put[] | { del: string }> = [];
  let batch: Put[] = [];
  let bytes = 0;
  const flush = () => {
    if (batch.length > 0) out.push(batch);
    batch = [];
    bytes = 0;
  };
  const put = (p: Put) => {
    const n = (p.value?.length ?? 0) + 64;
    if (batch.length === 100 || bytes + n > 1_200_000) flush();
    batch.push(p);
    bytes += n;
  };
  for (let i = 0; i < 2_000; i++) {
    put({
      key: Buffer.from(`big/${String(i).padStart(5, '0')}`),
      value: value(i, 0),
      lease: i % 13 === 0 ? 7777n : 0n,
    });
  }
  flush();
  for (let i = 0; i < 2_000; i += 3) put({ key: Buffer.from(`big/${String(i).padStart(5, '0')}`), value: value(i, 1) });
  flush();
  out.push({ del: 'big/00100' }, { del: 'big/00101' });
  return out;
}

describe('a 20 MB range against etcd 3.5.30', () => {
  const pair = etcd35AndConclave({ client: (s) => new RawClient(s.endpoint) });

  test('the same answers, decoded', { timeout: 120_000 }, async () => {
    const revs: number[] = [];
    for (const c of pair.clients) {
      await c.unary(L.LeaseGrant, { ID: 7777n, TTL: 3600n });
      for (const w of writes()) {
        if ('del' in w) await c.unary(KV.DeleteRange, { key: Buffer.from(w.del) });
        else await c.unary(KV.Txn, { success: w.map((p) => ({ requestPut: p })) });
      }
      const h = await c.unary(KV.Range, { key: Buffer.from('x') });
      revs.push(Number(h.header!.revision));
    }
    assert.equal(revs[0], revs[1], 'both histories end at the same revision');
    const last = revs[0]!;
    const all = { key: Buffer.from('big/'), rangeEnd: Buffer.from('big0') };
    const requests: Array<PartialMessage<etcdserverpb.RangeRequest>> = [
      all,
      { ...all, revision: BigInt(last - 10) },
      { ...all, revision: 30n },
      { ...all, limit: 1_500n },
      { ...all, keysOnly: true },
      { ...all, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.MOD, limit: 900n },
      { ...all, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.KEY, minModRevision: 10n },
      { ...all, maxCreateRevision: 15n, minModRevision: BigInt(last - 5) },
      { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) },
    ];
    let largest = 0;
    for (const req of requests) {
      const [want, got] = await Promise.all(pair.clients.map((c) => c.unary(KV.Range, req, { timeoutMs: 60_000 })));
      const where = JSON.stringify(req, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      assert.equal(got!.header!.revision, want!.header!.revision, `${where}: revision`);
      assert.equal(got!.count, want!.count, `${where}: count`);
      assert.equal(got!.more, want!.more, `${where}: more`);
      assert.equal(got!.kvs.length, want!.kvs.length, `${where}: number of kvs`);
      for (let i = 0; i < want!.kvs.length; i++) assert.deepEqual(got!.kvs[i], want!.kvs[i], `${where}: kv ${i}`);
      largest = Math.max(
        largest,
        got!.kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0),
      );
    }
    assert.ok(largest > 20_000_000, `the largest range carried ${largest} bytes`);

    // Conclave's JSON gateway (which gathers the streamed body before writing JSON) against etcd's
    // gRPC answer (etcd's own gateway dials its listen address, port 0 in tests)
    const want = await pair.clients[0].unary(KV.Range, all, { timeoutMs: 60_000 });
    const r = await fetch(`${pair.conclave.clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({
        key: Buffer.from('big/').toString('base64'),
        range_end: Buffer.from('big0').toString('base64'),
      }),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text.slice(0, 300));
    type JsonKv = {
      key: string;
      value?: string;
      create_revision: string;
      mod_revision: string;
      version: string;
      lease?: string;
    };
    const body = JSON.parse(text) as { kvs: JsonKv[]; count: string; header: { revision: string } };
    assert.equal(body.count, String(want.count));
    assert.equal(body.header.revision, String(want.header!.revision));
    assert.deepEqual(
      body.kvs.map((kv) => [kv.key, kv.value ?? '', kv.create_revision, kv.mod_revision, kv.version, kv.lease ?? '0']),
      want.kvs.map((kv) => [
        Buffer.from(kv.key).toString('base64'),
        Buffer.from(kv.value).toString('base64'),
        String(kv.createRevision),
        String(kv.modRevision),
        String(kv.version),
        String(kv.lease),
      ]),
    );
  });
});
