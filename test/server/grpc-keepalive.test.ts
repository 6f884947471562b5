// --grpc-keepalive-min-time / -interval / -timeout against etcd 3.5.30 and Conclave, each side
// played the same frames by a raw HTTP/2 client: grpc-go's ping policy (the fourth PING too soon in a
// row is answered, then GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; without an open stream any two
// PINGs are too soon; PINGs after stream data are forgiven), the server's PINGs on a silent
// connection (closed after interval + timeout; an interval under 1 s counts as 1 s), and TLS client
// URLs, where etcd serves gRPC through Go's net/http and neither applies.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { Flag, FrameType, H2Error } from '@conclave/h2';
import { makeTestPki } from '../helpers/pki.js';
import { startServer, type ServerProcess, type ServerKind } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { CLIENT_START, type Frame, frame, grpcMessage, RawH2, requestHeaders } from './hostile/harness.js';

const KINDS: readonly ServerKind[] = ['etcd35', 'conclave'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function target(srv: ServerProcess, ca?: Buffer) {
  const i = srv.endpoint.lastIndexOf(':');
  return {
    mode: ca ? ('tls' as const) : ('cleartext' as const),
    host: srv.endpoint.slice(0, i),
    port: Number(srv.endpoint.slice(i + 1)),
    ...(ca ? { ca } : {}),
  };
}

const pingFrame = (n: number, flags = 0): Buffer => {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(n, 4);
  return frame(FrameType.PING, flags, 0, p);
};
const isAckOf = (n: number) => (f: Frame) =>
  f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && f.payload.readUInt32BE(4) === n;
const goAwayOf = (c: RawH2): Frame | undefined => c.frames.find((f) => f.type === FrameType.GOAWAY);

/** A GOAWAY as text: last stream, error code, debug data. */
function goAwayText(f: Frame | undefined): string {
  if (!f) return 'none';
  return `last ${f.payload.readUInt32BE(0)} ${H2Error[f.payload.readUInt32BE(4)]} "${f.payload.subarray(8).toString()}"`;
}

/**
 * Sends PING n, waits for its ack, then briefly for a GOAWAY; returns whether the connection is
 * still usable (no GOAWAY, not closed).
 */
async function pingOnce(c: RawH2, n: number): Promise<boolean> {
  c.write(pingFrame(n));
  await c.until((f) => isAckOf(n)(f) || f.type === FrameType.GOAWAY, 5000);
  await c.until((f) => f.type === FrameType.GOAWAY, 150).catch(() => undefined);
  return !goAwayOf(c) && !c.closed;
}

/** PINGs spaced `gapMs` apart until the server sends GOAWAY (or `max` were sent): how many it took. */
async function pingUntilGoAway(c: RawH2, max: number, gapMs = 0, first = 1): Promise<number> {
  for (let i = first; i < first + max; i++) {
    if (i > first && gapMs > 0) await sleep(gapMs);
    if (!(await pingOnce(c, i))) return i - first + 1;
  }
  return 0;
}

/** Opens stream `sid` as a Watch call that stays open (no END_STREAM, no message). */
function openWatch(c: RawH2, sid: number): void {
  c.write(c.headers(sid, requestHeaders('/etcdserverpb.Watch/Watch'), false));
}

/** A unary Range on stream `sid`; resolves when its trailers arrived. */
async function range(c: RawH2, sid: number): Promise<void> {
  c.write(c.headers(sid, requestHeaders('/etcdserverpb.KV/Range'), false));
  c.write(
    frame(
      FrameType.DATA,
      Flag.END_STREAM,
      sid,
      grpcMessage(encodeMessage(etcdserverpb.RangeRequest, { key: Buffer.from('k') })),
    ),
  );
  await c.until((f) => f.type === FrameType.HEADERS && f.sid === sid && (f.flags & Flag.END_STREAM) !== 0, 5000);
}

for (const kind of KINDS) {
  describe(`gRPC keepalive on a cleartext client URL (${kind})`, () => {
    let dflt: ServerProcess;
    let tuned: ServerProcess;
    const open: RawH2[] = [];
    const connect = async (srv: ServerProcess): Promise<RawH2> => {
      const c = await RawH2.connect(target(srv));
      open.push(c);
      c.write(CLIENT_START);
      return c;
    };

    before(async () => {
      [dflt, tuned] = await Promise.all([
        startServer(kind),
        startServer(kind, {
          args: [
            '--grpc-keepalive-min-time',
            '500ms',
            // below grpc-go's 1 s minimum: pings come every second
            '--grpc-keepalive-interval',
            '200ms',
            '--grpc-keepalive-timeout',
            '1s',
          ],
        }),
      ]);
    });
    after(async () => {
      for (const c of open) c.close();
      await Promise.all([dflt?.stop(), tuned?.stop()]);
    });

    test('defaults: the fourth PING in a row is answered, then GOAWAY ENHANCE_YOUR_CALM "too_many_pings"', async () => {
      const c = await connect(dflt);
      openWatch(c, 1);
      assert.equal(await pingUntilGoAway(c, 8), 4);
      assert.ok(c.frames.some(isAckOf(4)), 'the fourth PING was acknowledged');
      assert.equal(goAwayText(goAwayOf(c)), 'last 1 ENHANCE_YOUR_CALM "too_many_pings"');
      assert.ok(await c.closedWithin(3000), 'the server closed the connection');
    });

    test('defaults: PINGs that each follow an answer are forgiven; three in a row after that are not', async () => {
      const c = await connect(dflt);
      for (let i = 0; i < 6; i++) {
        await range(c, 1 + 2 * i);
        assert.ok(await pingOnce(c, i + 1), `PING ${i + 1} after answer ${i + 1}`);
      }
      // no stream open now and no answer since the last PING: each one is too soon (2 h without streams)
      assert.equal(await pingUntilGoAway(c, 8, 0, 100), 3);
      assert.equal(goAwayText(goAwayOf(c)), 'last 11 ENHANCE_YOUR_CALM "too_many_pings"');
    });

    test('min-time 500ms: PINGs 700 ms apart are fine with a stream open; without one the fourth is too many', async () => {
      const [withStream, without] = await Promise.all([connect(tuned), connect(tuned)]);
      openWatch(withStream, 1);
      const [a, b] = await Promise.all([pingUntilGoAway(withStream, 6, 700), pingUntilGoAway(without, 6, 700)]);
      assert.equal(a, 0, 'no GOAWAY with a stream open');
      assert.equal(b, 4);
      assert.equal(goAwayText(goAwayOf(without)), 'last 0 ENHANCE_YOUR_CALM "too_many_pings"');
    });

    test('a silent client: PING after the interval (at least 1 s), closed without GOAWAY after interval + timeout', async () => {
      const t0 = performance.now();
      const c = await connect(tuned);
      const ping = await c.until((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) === 0, 5000);
      const pingAt = performance.now() - t0;
      assert.ok(ping, 'the server pinged');
      assert.deepEqual([...ping.payload], [0, 0, 0, 0, 0, 0, 0, 0]);
      assert.ok(await c.closedWithin(5000), 'the server closed the connection');
      const closedAt = performance.now() - t0;
      assert.ok(pingAt >= 900 && pingAt < 1800, `pinged after ${Math.round(pingAt)} ms`);
      assert.ok(closedAt >= 1900 && closedAt < 3200, `closed after ${Math.round(closedAt)} ms`);
      assert.equal(goAwayOf(c), undefined);
    });

    test('a client that answers the server PINGs is kept', async () => {
      const c = await connect(tuned);
      const acked = new Set<Frame>();
      const deadline = performance.now() + 3500;
      while (performance.now() < deadline && !c.closed) {
        for (const f of c.frames) {
          if (f.type !== FrameType.PING || f.flags & Flag.ACK || acked.has(f)) continue;
          acked.add(f);
          c.write(frame(FrameType.PING, Flag.ACK, 0, f.payload));
        }
        await sleep(20);
      }
      assert.equal(c.closed, false);
      assert.ok(acked.size >= 2 && acked.size <= 4, `${acked.size} server PINGs in 3.5 s`);
    });
  });
}

describe('TLS client URLs: no ping policy (etcd serves gRPC over TLS through Go net/http)', () => {
  const dir = tempDir('conclave-keepalive-pki');
  const pki = makeTestPki(dir.path);
  const servers: ServerProcess[] = [];
  const open: RawH2[] = [];
  before(async () => {
    const tls = [
      '--listen-client-urls',
      'https://127.0.0.1:0',
      '--advertise-client-urls',
      'https://127.0.0.1:0',
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
    ];
    servers.push(...(await Promise.all(KINDS.map((k) => startServer(k, { args: tls })))));
  });
  after(async () => {
    for (const c of open) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    dir.cleanup();
  });

  test('ten PINGs in a row with a stream open are all answered, on both', async () => {
    const ca = readFileSync(pki.ca);
    for (const srv of servers) {
      const c = await RawH2.connect(target(srv, ca));
      open.push(c);
      c.write(CLIENT_START);
      openWatch(c, 1);
      assert.equal(await pingUntilGoAway(c, 10), 0, `${srv.kind}: no GOAWAY`);
    }
  });
});
