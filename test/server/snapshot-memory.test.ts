// Maintenance.Snapshot keeps the member's memory bounded whatever the database size: a database of
// 128 MiB streamed to a reader that keeps stopping (so the stream is congested most of the time)
// grows the member's own memory (RssAnon: heap, buffers, the hashing thread; not the pages of the
// mapped database file, which the kernel may drop at will) by far less than the database, and every
// byte arrives with etcd's SHA-256 trailer (hashed on a worker thread at this size).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { decodeMessage, etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { rawGrpcCall } from '../helpers/http.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const VALUE = 1 << 20;
const KEYS = 128; // 128 MiB of values
/** The bound on a member's memory growth while it streams a snapshot. */
const MAX_GROWTH_MIB = 64;

let server: ServerProcess;

before(async () => {
  server = await startServer('conclave');
  const c = new RawClient(server.endpoint);
  try {
    for (let i = 0; i < KEYS; i += 8)
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => c.put(`big/${String(i + j).padStart(5, '0')}`, Buffer.alloc(VALUE, i + j))),
      );
  } finally {
    c.close();
  }
});
after(async () => {
  await server?.stop();
});

function memory(pid: number): { anon: number; rss: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(s)![1]) / 1024;
  return { anon: kb('RssAnon'), rss: kb('VmRSS') };
}

test('a 128 MiB snapshot to a stalling reader: memory grows by less than 64 MiB, every byte arrives', async (t) => {
  const pid = server.child.pid!;
  const base = memory(pid);
  let peak = base;
  const sampler = setInterval(() => {
    const m = memory(pid);
    if (m.anon > peak.anon) peak = m;
  }, 10);
  const client = http2.connect(`http://${server.endpoint}`);
  const sha = createHash('sha256');
  let dbBytes = 0;
  let last: Buffer | null = null;
  try {
    const req = rawGrpcCall(client, '/etcdserverpb.Maintenance/Snapshot');
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('trailers', (t) => (trailers = t));
    let pending: Buffer[] = [];
    let pendingLen = 0;
    let sinceStall = 0;
    req.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingLen += chunk.length;
      sinceStall += chunk.length;
      let buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        const res = decodeMessage(etcdserverpb.SnapshotResponse, buf.subarray(5, 5 + len));
        // The last message carries the trailer: each blob is database until another one follows.
        if (last) {
          sha.update(last);
          dbBytes += last.length;
        }
        last = Buffer.from(res.blob);
        buf = buf.subarray(5 + len);
      }
      pending = buf.length > 0 ? [buf] : [];
      pendingLen = buf.length;
      // Stop for 25 ms after every 2 MiB: the reader is slower than the member can produce.
      if (sinceStall >= 2 << 20) {
        sinceStall = 0;
        req.pause();
        setTimeout(() => req.resume(), 25);
      }
    });
    await new Promise<void>((resolve, reject) => {
      req.on('end', resolve);
      req.on('error', reject);
    });
    assert.equal(trailers['grpc-status'], '0', String(trailers['grpc-message']));
  } finally {
    clearInterval(sampler);
    client.close();
  }
  assert.ok(dbBytes > KEYS * VALUE, `${dbBytes} bytes of database`);
  const trailer = last as Buffer | null; // assigned in the data handler
  assert.equal(trailer?.length, 32, 'a SHA-256 trailer');
  assert.ok(sha.digest().equals(trailer!), 'the trailer is the SHA-256 of the database');
  const growth = peak.anon - base.anon;
  const mib = (n: number) => `${n.toFixed(1)} MiB`;
  const report = `RssAnon ${mib(base.anon)} -> ${mib(peak.anon)} (+${mib(growth)}), VmRSS ${mib(base.rss)} -> ${mib(peak.rss)}, for a ${mib(dbBytes / 2 ** 20)} database`;
  t.diagnostic(report);
  assert.ok(growth < MAX_GROWTH_MIB, report);
});
