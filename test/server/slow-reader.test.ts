// A client that asks for 64 MB (one unlimited Range, and a Watch replaying the whole history) and
// grants no flow-control window costs the member a bounded amount of memory: the Range is written a
// chunk at a time as the stream drains (range-stream/, GrpcCall.sendStreamed), the Watch catch-up
// waits for a congested stream (watch/hub.ts). The member's anonymous memory (heap and buffers;
// not the LMDB pages it maps) is sampled while the client stalls; meanwhile other clients are
// answered, a full read of the same range by a client that reads completes, and when the stalled
// client goes away its read transactions are released (a defragment, which waits for them, ends).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const KV = etcdserverpb.KVService;
const MB = 1024 * 1024;
const VALUE = 256 * 1024;
const KEYS = 256; // 64 MB of values
/** Growth of the member's anonymous memory allowed while the stalled client holds its streams. */
const BOUND_MB = 40;

let server: ServerProcess;
let client: RawClient;

before(async () => {
  server = await startServer('conclave');
  client = new RawClient(server.endpoint);
  for (let i = 0; i < KEYS; i += 4) {
    const success = [0, 1, 2, 3].map((j) => ({
      requestPut: { key: Buffer.from(`s/${String(i + j).padStart(4, '0')}`), value: Buffer.alloc(VALUE, i + j) },
    }));
    await client.unary(KV.Txn, { success });
  }
});
after(async () => {
  client?.client.close();
  await server?.stop();
});

function anonMB(pid: number): number {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^RssAnon:\s+(\d+)/m.exec(st)![1]) / 1024;
}

/** Opens a gRPC call on `session` with one request message; the request stays open unless `end`. */
function call(session: http2.ClientHttp2Session, path: string, msg: Uint8Array, end: boolean): http2.ClientHttp2Stream {
  const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  if (end) req.end(frame);
  else req.write(frame);
  return req;
}

test('a client that grants no window makes the member hold a bounded amount', { timeout: 60_000 }, async (ctx) => {
  const pid = server.child.pid!;
  const all = { key: Buffer.from('s/'), rangeEnd: Buffer.from('s0') };
  await new Promise((r) => setTimeout(r, 500));
  const base = anonMB(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, anonMB(pid))), 25);

  // no stream window at all: the member may send nothing on these streams
  const stalled = http2.connect(server.clientUrl, { settings: { initialWindowSize: 0 } });
  const ranges = [0, 1, 2].map(() => call(stalled, KV.Range.path, encodeMessage(etcdserverpb.RangeRequest, all), true));
  const watchReq = { createRequest: { key: Buffer.from('s/'), rangeEnd: Buffer.from('s0'), startRevision: 1n } };
  const watch = call(stalled, '/etcdserverpb.Watch/Watch', encodeMessage(etcdserverpb.WatchRequest, watchReq), false);
  let stalledBytes = 0;
  for (const s of [...ranges, watch]) s.on('data', (d: Buffer) => (stalledBytes += d.length));
  for (const s of [...ranges, watch]) s.on('error', () => {});
  await new Promise((r) => setTimeout(r, 2_000));

  // other clients are answered meanwhile, including one that reads the whole range
  const t = performance.now();
  await client.unary(KV.Put, { key: Buffer.from('other'), value: Buffer.from('v') });
  const one = await client.unary(KV.Range, { key: Buffer.from('other') });
  assert.equal(one.kvs.length, 1);
  const answerMs = performance.now() - t;
  const full = await client.unary(KV.Range, all, { timeoutMs: 30_000 });
  assert.equal(full.kvs.length, KEYS);
  assert.equal(full.kvs[KEYS - 1]!.value.length, VALUE);
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);

  assert.equal(stalledBytes, 0, 'nothing was sent without a window');
  assert.ok(answerMs < 2_000, `a put and a get took ${answerMs.toFixed(0)} ms while the client stalled`);
  const grew = peak - base;
  ctx.diagnostic(
    `RssAnon ${base.toFixed(1)} MB before, peak ${peak.toFixed(1)} MB; a put and a get took ${answerMs.toFixed(0)} ms`,
  );
  assert.ok(
    grew < BOUND_MB,
    `anonymous memory grew by ${grew.toFixed(1)} MB (from ${base.toFixed(1)}) for 4 stalled streams of ${(KEYS * VALUE) / MB} MB each`,
  );

  // the stalled client goes away: its read transactions end (a defragment waits for every open one)
  stalled.destroy();
  await client.unary(etcdserverpb.MaintenanceService.Defragment, {}, { timeoutMs: 20_000 });
});
