// Conclave's own HTTP/2 server against nghttp2's command-line clients (Debian nghttp2-client, which
// .ci/run and scripts/ensure.mjs install): nghttp reads /health and puts through the JSON gateway,
// and h2load runs thousands of requests over several connections with many streams each, on the
// plain HTTP path and on the gRPC path (a framed PutRequest, trailers), with no failed request and
// no error from either side.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-nghttp');
let srv: ServerProcess;
before(async () => {
  srv = await startServer('conclave');
});
after(async () => {
  await srv?.stop();
  dir.cleanup();
});

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** h2load's summary: requests done, succeeded, failed, errored and the 2xx count. */
function summary(out: string): { done: number; ok: number; failed: number; errored: number; s2xx: number } {
  const m = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const s = /status codes: (\d+) 2xx/.exec(out);
  assert.ok(m && s, out);
  return { done: Number(m[1]), ok: Number(m[2]), failed: Number(m[3]), errored: Number(m[4]), s2xx: Number(s[1]) };
}

test('nghttp: GET /health over HTTP/2 (prior knowledge), every frame accepted', async () => {
  const r = await run('nghttp', ['-v', `http://${srv.endpoint}/health`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /recv \(stream_id=\d+\) :status: 200/);
  assert.match(r.out, /\{"health":"true"\}/);
  // The only GOAWAY is nghttp's own at the end (NO_ERROR); the server sent none and no RST_STREAM.
  assert.doesNotMatch(r.out, /recv (GOAWAY|RST_STREAM)/);
});

test('nghttp: a put through the JSON gateway', async () => {
  const body = join(dir.path, 'put.json');
  writeFileSync(
    body,
    JSON.stringify({ key: Buffer.from('nghttp').toString('base64'), value: Buffer.from('ok').toString('base64') }),
  );
  const r = await run('nghttp', ['-v', '-d', body, `http://${srv.endpoint}/v3/kv/put`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /:status: 200/);
  const c = new RawClient(srv.endpoint);
  try {
    assert.equal(Buffer.from((await c.get('nghttp'))!.value).toString(), 'ok');
  } finally {
    c.close();
  }
});

test('h2load: 4,000 GET /health on 4 connections, 32 streams at a time each', async () => {
  const r = await run('h2load', ['-n', '4000', '-c', '4', '-m', '32', `http://${srv.endpoint}/health`]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(summary(r.out), { done: 4000, ok: 4000, failed: 0, errored: 0, s2xx: 4000 });
});

test('h2load: 2,000 gRPC Puts (framed request, te: trailers) on 4 connections', async () => {
  const msg = encodeMessage(etcdserverpb.PutRequest, { key: Buffer.from('h2load'), value: Buffer.from('v') });
  const framed = Buffer.alloc(5 + msg.length);
  framed.writeUInt32BE(msg.length, 1);
  Buffer.from(msg).copy(framed, 5);
  const body = join(dir.path, 'put.grpc');
  writeFileSync(body, framed);
  const r = await run('h2load', [
    '-n',
    '2000',
    '-c',
    '4',
    '-m',
    '16',
    '-d',
    body,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://${srv.endpoint}/etcdserverpb.KV/Put`,
  ]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(summary(r.out), { done: 2000, ok: 2000, failed: 0, errored: 0, s2xx: 2000 });
  // Every Put was applied: the key's version counts them.
  const c = new RawClient(srv.endpoint);
  try {
    const kv = await c.get('h2load');
    assert.equal(kv?.version, 2000n);
  } finally {
    c.close();
  }
});
