// The /members/hashkv peer route and its client: etcd's request/response JSON forms, its errors
// (405 for other methods, 400 with the mvcc text for compacted and future revisions), and the
// client's reading of them.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CompactedError, FutureRevisionError, type HashKVResult } from '../mvcc/index.js';
import { fetchPeerHashKV, getPeerHashKVs, hashKVJson, serveHashKV } from './peer-hashkv.js';

let server: http.Server;
let url = '';
const asked: number[] = [];

function hashKV(rev: number): HashKVResult {
  asked.push(rev);
  if (rev === 3) throw new CompactedError(5);
  if (rev > 20) throw new FutureRevisionError(20);
  return { hash: 0xdeadbeef, revision: 20, compactRevision: rev === 7 ? -1 : 5 };
}

before(async () => {
  server = http.createServer((req, res) => serveHashKV({ clusterId: () => 0xabcn, hashKV }, req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('response JSON is etcd HashKVResponse with omitempty (a never-compacted store reports -1)', () => {
  assert.equal(
    hashKVJson({ hash: 0xdeadbeef, revision: 9, compactRevision: -1 }),
    '{"header":{"revision":9},"hash":3735928559,"compact_revision":-1}',
  );
  assert.equal(hashKVJson({ hash: 0, revision: 0, compactRevision: 0 }), '{"header":{}}');
});

test('the client reads a hash at the requested revision; the server answers as etcd', async () => {
  asked.length = 0;
  assert.deepEqual(await fetchPeerHashKV(url, 12, { timeoutMs: 2000 }), {
    hash: 0xdeadbeef,
    revision: 20,
    compactRevision: 5,
  });
  assert.deepEqual(await fetchPeerHashKV(`${url}/`, 7, { timeoutMs: 2000 }), {
    hash: 0xdeadbeef,
    revision: 20,
    compactRevision: -1,
  });
  await fetchPeerHashKV(url, 0, { timeoutMs: 2000 });
  assert.deepEqual(asked, [12, 7, 0]);
  const raw = await fetch(`${url}/members/hashkv`, { method: 'POST', body: '{}' });
  assert.equal(raw.status, 405);
  assert.equal(raw.headers.get('allow'), 'GET');
  assert.equal(await raw.text(), 'Method Not Allowed\n');
});

test('compacted and future revisions come back as etcd errors; other failures as unknown errors', async () => {
  await assert.rejects(fetchPeerHashKV(url, 3, { timeoutMs: 2000 }), {
    kind: 'compacted',
    message: 'etcdserver: mvcc: required revision has been compacted',
  });
  await assert.rejects(fetchPeerHashKV(url, 21, { timeoutMs: 2000 }), {
    kind: 'future',
    message: 'etcdserver: mvcc: required revision is a future revision',
  });
  const bad = http.createServer((_req, res) => {
    res.writeHead(500);
    res.end('boom');
  });
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  const badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
  try {
    await assert.rejects(fetchPeerHashKV(badUrl, 1, { timeoutMs: 2000 }), {
      kind: 'other',
      message: 'unknown error: boom',
    });
    // a member is asked on each of its URLs until one answers; failures are reported per URL
    const failed: string[] = [];
    const res = await getPeerHashKVs(
      [
        { id: 1n, peerUrls: [badUrl, url] },
        { id: 2n, peerUrls: [badUrl] },
        { id: 3n, peerUrls: [] },
      ],
      4,
      { timeoutMs: 2000, onFailure: (u) => failed.push(u) },
    );
    assert.equal(res.length, 2);
    assert.equal(res[0]!.resp?.hash, 0xdeadbeef);
    assert.equal(res[1]!.resp, null);
    assert.match(String(res[1]!.err?.message), /unknown error: boom/);
    assert.deepEqual(failed, [badUrl, badUrl]);
  } finally {
    bad.close();
  }
});
