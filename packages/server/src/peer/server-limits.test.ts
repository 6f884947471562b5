// The peer listener's bounds (limits.ts) with small values, in process: a snapshot with its declared
// size is saved whole and handed on; one declared beyond the free disk space is refused (507) before
// anything is written; forwarded bodies draw on one held-bytes budget (503 beyond it) and are served
// within it; an HTTP/2 connection without a frame for sessionIdleMs is closed with GOAWAY while one
// that keeps talking stays. The hostile tests (test/server/hostile/peer-*.test.ts) play the
// attacks against a member process with the default limits.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BoundListener, listenUrl, nodeHttp2 } from '../grpc/listener.js';
import { createLogger } from '../log/index.js';
import { ByteWriter, writeMessage } from '../raft/codec.js';
import { type Message, MessageType } from '../raft/types.js';
import { PeerFaults } from './faults.js';
import type { PeerLimits } from './limits.js';
import { PeerSender } from './sender.js';
import { type PeerHandler, PeerServer } from './server.js';

const MEMBER = 0xaan;
const CLUSTER = 0xccn;
const HEADERS = { 'x-conclave-cluster-id': 'cc', 'x-conclave-from': 'bb', 'x-conclave-to': 'aa' };

interface Peer {
  url: string;
  dir: string;
  received: Array<{ m: Message; db: Buffer }>;
  logs: string[];
  /** HTTP/2 connections accepted so far. */
  sessions: number;
  stop(): Promise<void>;
}

async function startPeer(limits: Partial<PeerLimits>): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-peer-limits-'));
  const received: Peer['received'] = [];
  const logs: string[] = [];
  const handler: PeerHandler = {
    memberId: MEMBER,
    clusterId: () => CLUSTER,
    isRemoved: () => false,
    knows: (id) => id === 0xbbn,
    receive: () => {},
    receiveSnapshot: (m, path) => received.push({ m, db: readFileSync(path) }),
    snapshotDir: dir,
    members: () => [],
    version: { etcdserver: '3.5.0', etcdcluster: '3.5.0' },
    // an echo route: answers a forwarded request with its body
    forwarded: (path, body) => (path === '/echo' ? Promise.resolve(body) : undefined),
  };
  const logger = createLogger({ write: (d) => void logs.push(d) });
  const server = new PeerServer(handler, new PeerFaults(undefined), logger, limits);
  const l: BoundListener = await listenUrl('http://127.0.0.1:0', { h2: nodeHttp2(server.h2), h1: server.h1 });
  const peer: Peer = {
    url: l.url,
    dir,
    received,
    logs,
    sessions: 0,
    stop: async () => {
      server.closeConnections();
      await l.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  server.h2.on('session', () => peer.sessions++);
  return peer;
}

function snapshotMessage(): Buffer {
  const w = new ByteWriter(256);
  writeMessage(w, {
    type: MessageType.Snap,
    to: MEMBER,
    from: 0xbbn,
    term: 3,
    logTerm: 3,
    index: 9,
    entries: [],
    commit: 0,
    snapshot: { metadata: { index: 9, term: 3, confState: { voters: [0xbbn], learners: [] } }, data: new Uint8Array() },
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(),
  });
  const body = w.finish();
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** POSTs `body` (or, with a content-length only, nothing but the head) and returns status and answer. */
async function post(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  headers: http2.OutgoingHttpHeaders = {},
  end = true,
): Promise<{ status: number; text: string }> {
  const req = session.request({ ':method': 'POST', ':path': path, ...HEADERS, ...headers });
  req.on('error', () => {});
  let text = '';
  req.setEncoding('latin1');
  req.on('data', (d: string) => (text += d));
  if (end) req.end(body);
  else req.write(body);
  const [h] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  await once(req, 'close');
  return { status: Number(h[':status']), text };
}

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(url);
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

describe('peer listener limits', () => {
  let peer: Peer;
  before(async () => {
    peer = await startPeer({
      heldBytes: 256 << 10,
      forwardedBodyBytes: 200 << 10,
      sessionIdleMs: 600,
      concurrentStreams: 50,
    });
  });
  after(() => peer?.stop());

  test('a snapshot of its declared size is saved whole and handed on', async () => {
    const s = await connect(peer.url);
    try {
      const msg = snapshotMessage();
      const db = Buffer.alloc(3 << 20, 0x42);
      db.write('first', 0);
      db.write('last', db.length - 4);
      const r = await post(s, '/raft/snapshot', Buffer.concat([msg, db]), {
        'content-length': String(msg.length + db.length),
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(peer.received.length, 1);
      assert.equal(peer.received[0]!.m.snapshot!.metadata.index, 9);
      assert.ok(peer.received[0]!.db.equals(db), 'the database arrived byte for byte');
      assert.deepEqual(
        readdirSync(peer.dir).filter((f) => f.endsWith('.tmp')),
        [],
      );
    } finally {
      s.destroy();
    }
  });

  test('a snapshot declared beyond the free disk space: 507 before anything is written', async () => {
    const s = await connect(peer.url);
    try {
      const msg = snapshotMessage();
      const declared = 2 ** 52;
      const r = await post(s, '/raft/snapshot', msg, { 'content-length': String(msg.length + declared) }, false);
      assert.equal(r.status, 507, r.text);
      assert.match(
        r.text,
        new RegExp(`^not enough disk space for a snapshot database of ${declared} bytes \\(\\d+ free\\)`),
      );
      assert.deepEqual(
        readdirSync(peer.dir).filter((f) => f.endsWith('.tmp')),
        [],
      );
      assert.ok(peer.logs.some((l) => l.includes('failed to receive database snapshot') && l.includes('"status":507')));
    } finally {
      s.destroy();
    }
  });

  test('forwarded bodies share the held-bytes budget: within it served, beyond it 503', async () => {
    const s = await connect(peer.url);
    try {
      const small = Buffer.alloc(100 << 10, 1);
      const ok = await post(s, '/echo', small);
      assert.equal(ok.status, 200);
      assert.equal(ok.text.length, small.length);
      // two bodies of 150 KiB held at once exceed the 256 KiB budget: one is refused
      const a = s.request({ ':method': 'POST', ':path': '/echo', ...HEADERS });
      const b = s.request({ ':method': 'POST', ':path': '/echo', ...HEADERS });
      const statuses = [a, b].map(
        (req) =>
          new Promise<number>((resolve) => {
            req.on('error', () => {});
            req.on('response', (h) => resolve(Number(h[':status'])));
            req.resume();
          }),
      );
      a.write(Buffer.alloc(150 << 10, 2));
      b.write(Buffer.alloc(150 << 10, 3));
      const first = await Promise.race(statuses);
      assert.equal(first, 503);
      a.end();
      b.end();
      assert.deepEqual((await Promise.all(statuses)).sort(), [200, 503]);
      // too large on its own: 413
      const big = await post(s, '/echo', Buffer.alloc(250 << 10, 4));
      assert.equal(big.status, 413);
      assert.match(big.text, /^request body too large \(limit 204800 bytes\)/);
    } finally {
      s.destroy();
    }
  });

  test('SETTINGS_MAX_CONCURRENT_STREAMS is the limit', async () => {
    const s = await connect(peer.url);
    try {
      if (!s.remoteSettings.maxConcurrentStreams || s.remoteSettings.maxConcurrentStreams > 50)
        await once(s, 'remoteSettings');
      assert.equal(s.remoteSettings.maxConcurrentStreams, 50);
    } finally {
      s.destroy();
    }
  });

  test('an HTTP/2 connection without frames for sessionIdleMs is closed with GOAWAY; a talking one stays', async () => {
    const idle = await connect(peer.url);
    const talking = await connect(peer.url);
    try {
      const started = Date.now();
      let goaway = false;
      idle.on('goaway', () => (goaway = true));
      const closed = once(idle, 'close');
      let talkingClosed = false;
      talking.on('close', () => (talkingClosed = true));
      const ticker = setInterval(() => {
        const req = talking.request({ ':method': 'GET', ':path': '/version' });
        req.on('error', () => {});
        req.resume();
      }, 150);
      await closed;
      const ms = Date.now() - started;
      clearInterval(ticker);
      assert.ok(goaway, 'GOAWAY came first');
      assert.ok(ms >= 500 && ms < 3000, `closed after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(talkingClosed, false, 'the connection with requests every 150 ms is open');
    } finally {
      idle.destroy();
      talking.destroy();
    }
  });

  test("a member's kept session PINGs and is not closed between forwarded requests", async () => {
    const sender = new PeerSender(MEMBER, [peer.url], {
      localId: 0xbbn,
      clusterId: () => CLUSTER,
      logger: createLogger({ write: () => {} }),
      tls: undefined,
      reportUnreachable: () => {},
      reportSnapshot: () => {},
      openSnapshotDb: () => Promise.reject(new Error('no snapshots here')),
      keepaliveMs: 150,
    });
    try {
      const before = peer.sessions;
      assert.equal((await sender.forward('/echo', Buffer.from('one'), 5000)).toString(), 'one');
      // three times the idle limit without a request
      await new Promise((r) => setTimeout(r, 1800));
      assert.equal((await sender.forward('/echo', Buffer.from('two'), 5000)).toString(), 'two');
      assert.equal(peer.sessions - before, 1, 'both requests went over one connection');
    } finally {
      sender.stop();
    }
  });
});
