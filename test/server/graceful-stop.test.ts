// Graceful stop (SIGTERM/SIGINT on the binary, close() when embedded): the member stops accepting,
// sends GOAWAY NO_ERROR on its HTTP/2 connections, closes idle HTTP/1.1 keep-alive connections at
// once, ends watch streams with etcd's "server stopped", gives in-flight requests a short grace and
// stops well within a second when nothing is in flight. One idle keep-alive connection used to hold
// the stop for the 30 s keep-alive timeout.

import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { etcdserverpb, GrpcCode, v3lockpb } from '@conclave/api';
import { FrameType, H2Error } from '@conclave/h2';
import { startServer as startEmbedded } from '@conclave/server';
import { RawClient } from '../helpers/grpc.js';
import { streamClient } from '../helpers/etcd-streams.js';
import { startServer } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { CLIENT_START, RawH2, type Target } from './hostile/harness.js';

const dir = tempDir('conclave-stop');
after(() => dir.cleanup());

/** Stop must take less than this with idle connections and open watch streams (nothing in flight). */
const STOP_BOUND_MS = 1000;

interface Open {
  /** Everything that must be over once the member stopped; resolves with what each connection saw. */
  check(): Promise<void>;
  close(): void;
}

/** An idle HTTP/1.1 keep-alive connection, an idle HTTP/2 connection and a gRPC watch stream. */
async function openConnections(endpoint: string): Promise<Open> {
  const [host, portStr] = endpoint.split(':') as [string, string];
  const port = Number(portStr);
  const agent = new http.Agent({ keepAlive: true });
  let h1Closed = false;
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host, port, path: '/health', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('socket', (sock) => sock.once('close', () => (h1Closed = true)));
    req.on('error', reject);
  });
  const raw = await RawH2.connect({ mode: 'cleartext', host, port } as Target);
  raw.write(CLIENT_START);
  await raw.until((f) => f.type === FrameType.SETTINGS);
  const sc = streamClient(endpoint);
  const watch = sc.watch();
  watch.write({ createRequest: { key: Buffer.from('w') } });
  await watch.count(1);
  return {
    async check() {
      const goAway = raw.frames.find((f) => f.type === FrameType.GOAWAY);
      assert.ok(goAway, `GOAWAY on the idle HTTP/2 connection; got ${raw.describe()}`);
      assert.equal(goAway.payload.readUInt32BE(4), H2Error.NO_ERROR);
      assert.ok(await raw.closedWithin(1000), 'the HTTP/2 connection was closed');
      const err = await watch.closed();
      assert.equal(err?.code, GrpcCode.UNAVAILABLE);
      assert.equal(err?.details, 'etcdserver: server stopped');
      assert.ok(h1Closed, 'the keep-alive HTTP/1.1 connection was closed');
    },
    close() {
      raw.close();
      sc.close();
      agent.destroy();
    },
  };
}

describe('graceful stop', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: the binary exits within ${STOP_BOUND_MS} ms with idle keep-alive connections and a watch open`, async () => {
      const srv = await startServer('conclave');
      const open = await openConnections(srv.endpoint);
      try {
        const start = performance.now();
        const exited = new Promise<number | null>((r) => srv.child.once('exit', (code) => r(code)));
        srv.child.kill(signal);
        assert.equal(await exited, 0);
        const took = performance.now() - start;
        assert.ok(took < STOP_BOUND_MS, `stopped in ${Math.round(took)} ms`);
        await open.check();
      } finally {
        open.close();
        await srv.stop();
      }
    });
  }

  test(`embedded close() resolves within ${STOP_BOUND_MS} ms with idle keep-alive connections and a watch open`, async () => {
    const server = await startEmbedded({ dataDir: join(dir.path, 'embedded'), logWrite: () => {} });
    const open = await openConnections(server.endpoint);
    try {
      const start = performance.now();
      await server.close();
      const took = performance.now() - start;
      assert.ok(took < STOP_BOUND_MS, `closed in ${Math.round(took)} ms`);
      await open.check();
    } finally {
      open.close();
    }
  });

  test('a request still in flight after the grace period is cut, and the stop completes', async () => {
    const srv = await startServer('conclave');
    const c = new RawClient(srv.endpoint);
    try {
      // A lock held by one lease makes a second Lock call wait: a request that will not finish by itself.
      const l1 = await c.unary(etcdserverpb.LeaseService.LeaseGrant, { TTL: 60 });
      const l2 = await c.unary(etcdserverpb.LeaseService.LeaseGrant, { TTL: 60 });
      await c.unary(v3lockpb.LockService.Lock, { name: Buffer.from('l'), lease: l1.ID });
      const waiting = c
        .unary(v3lockpb.LockService.Lock, { name: Buffer.from('l'), lease: l2.ID }, { timeoutMs: 30_000 })
        .then(
          () => null,
          (e: unknown) => e,
        );
      await new Promise((r) => setTimeout(r, 200));
      const start = performance.now();
      const exited = new Promise<number | null>((r) => srv.child.once('exit', (code) => r(code)));
      srv.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const took = performance.now() - start;
      // The grace period is 2 s.
      assert.ok(took > 1500 && took < 4000, `stopped in ${Math.round(took)} ms`);
      assert.ok((await waiting) instanceof Error, 'the waiting Lock failed');
    } finally {
      c.close();
      await srv.stop();
    }
  });
});
