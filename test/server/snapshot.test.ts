// Maintenance.Snapshot of a database of several MB: etcdctl saves it (and checks the SHA-256 the
// server appends), and a reader that keeps pausing, with a small flow-control window, still gets
// every byte. The server waits for a congested stream to drain instead of queueing the whole
// database; this checks that the wait always resumes.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import http2 from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeMessage, etcdserverpb } from '@conclave/api';
import { etcdctl } from '../helpers/etcdctl.js';
import { RawClient } from '../helpers/grpc.js';
import { rawGrpcCall } from '../helpers/http.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

let server: ServerProcess;
const dir = tempDir('conclave-snapshot');

before(async () => {
  server = await startServer('conclave');
  const c = new RawClient(server.endpoint);
  try {
    const value = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < 400; i += 20)
      await Promise.all(Array.from({ length: 20 }, (_, j) => c.put(`snap/${i + j}`, value)));
  } finally {
    c.close();
  }
});
after(async () => {
  await server?.stop();
  dir.cleanup();
});

describe('Maintenance.Snapshot of a multi-MB database', () => {
  test('etcdctl snapshot save gets the whole database with a matching checksum', async () => {
    const file = join(dir.path, 'snap.db');
    const r = await etcdctl(server.endpoint, ['snapshot', 'save', file], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /Snapshot saved at/);
    assert.ok(statSync(file).size > 6_000_000, `${statSync(file).size} bytes`);
  });

  test('a slow reader with a 16 KiB window receives every chunk, then the SHA-256 of them all', async () => {
    const client = http2.connect(`http://${server.endpoint}`, { settings: { initialWindowSize: 16_384 } });
    try {
      const req = rawGrpcCall(client, '/etcdserverpb.Maintenance/Snapshot'); // an empty SnapshotRequest
      let buf = Buffer.alloc(0);
      const blobs: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders = {};
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
          const len = buf.readUInt32BE(1);
          blobs.push(Buffer.from(decodeMessage(etcdserverpb.SnapshotResponse, buf.subarray(5, 5 + len)).blob));
          buf = buf.subarray(5 + len);
        }
        // keep pausing: the server's stream stays congested most of the time
        req.pause();
        setTimeout(() => req.resume(), 1);
      });
      await new Promise<void>((resolve, reject) => {
        req.on('end', resolve);
        req.on('error', reject);
      });
      assert.equal(trailers['grpc-status'], '0');
      const sha = blobs.pop()!;
      const db = Buffer.concat(blobs);
      assert.ok(db.length > 6_000_000, `${db.length} bytes`);
      assert.ok(createHash('sha256').update(db).digest().equals(sha), 'checksum of the streamed database');
    } finally {
      client.close();
    }
  });

  test('the JSON gateway streams the same database in 32 KiB messages, then its SHA-256', async () => {
    const res = await fetch(`http://${server.endpoint}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    const lines = (await res.text()).trim().split('\n');
    const blobs = lines.map((l) => Buffer.from((JSON.parse(l) as { result: { blob: string } }).result.blob, 'base64'));
    const sha = blobs.pop()!;
    const db = Buffer.concat(blobs);
    assert.ok(db.length > 6_000_000, `${db.length} bytes`);
    assert.ok(blobs.every((b) => b.length <= 32 * 1024));
    assert.ok(createHash('sha256').update(db).digest().equals(sha), 'checksum of the streamed database');
    assert.equal(db.subarray(16, 20).readUInt32LE(0), 0xed0cdaed, 'a bbolt file (meta page magic)');
  });
});
