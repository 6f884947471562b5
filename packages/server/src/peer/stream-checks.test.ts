// Who may open a Raft stream on the peer listener, and how long a silent one stays open (in process,
// with a small streamIdleMs). Refusals in etcd's order with its answers (an unknown sender 404 "error
// sender not found", a removed one 410, another cluster or another addressee 412), the same for a
// forwarded request, while a snapshot is taken from any member of the cluster (as etcd: how a member
// that fell behind learns members added since). A stream from which nothing arrives for streamIdleMs,
// or that stops half-way through a frame, is closed; heartbeat frames keep one open, and a member's
// sender, writing them, keeps its stream through many times the bound without a message.
// test/server/hostile/peer-streams.test.ts plays the same against a member process and etcd.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BoundListener, listenUrl, nodeHttp2 } from '../grpc/listener.js';
import { createLogger } from '../log/index.js';
import { ByteWriter, writeMessage } from '../raft/codec.js';
import { type Message, MessageType } from '../raft/types.js';
import { PeerFaults } from './faults.js';
import { encodeFrames, HEARTBEAT_FRAME } from './frame.js';
import { PeerSender } from './sender.js';
import { PeerServer } from './server.js';
import { askRaw, closedAfter, type RawAnswer } from '../../testing/http-answer.js';

const IDLE_MS = 600;
/** The member (aa), members it knows (bb, bc), one removed (ee); cluster cc. */
const HEADERS = { 'x-conclave-cluster-id': 'cc', 'x-conclave-from': 'bb', 'x-conclave-to': 'aa' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function message(from: bigint, type = MessageType.Heartbeat): Message {
  return {
    type,
    to: 0xaan,
    from,
    term: 3,
    logTerm: 3,
    index: 9,
    entries: [],
    commit: 0,
    snapshot:
      type === MessageType.Snap
        ? { metadata: { index: 9, term: 3, confState: { voters: [from], learners: [] } }, data: new Uint8Array() }
        : null,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(),
  };
}

let url: string;
let dir: string;
let listener: BoundListener;
let server: PeerServer;
const received: Message[] = [];
const snapshots: Message[] = [];
const logs: string[] = [];
const removed = new Set([0xeen]);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conclave-peer-streams-'));
  server = new PeerServer(
    {
      memberId: 0xaan,
      clusterId: () => 0xccn,
      isRemoved: (id) => removed.has(id),
      knows: (id) => id === 0xbbn || id === 0xbcn,
      receive: (m) => received.push(m),
      receiveSnapshot: (m) => snapshots.push(m),
      snapshotDir: dir,
      members: () => [],
      version: { etcdserver: '3.5.0', etcdcluster: '3.5.0' },
      forwarded: (path, body) => (path === '/echo' ? Promise.resolve(body) : undefined),
    },
    new PeerFaults(undefined),
    createLogger({ write: (d) => void logs.push(d) }),
    { streamIdleMs: IDLE_MS },
  );
  listener = await listenUrl('http://127.0.0.1:0', { h2: nodeHttp2(server.h2), h1: server.h1 });
  url = listener.url;
});
after(async () => {
  server?.closeConnections();
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Asks for a Raft stream with `headers`; resolves with the answer's status and body, and the socket. */
function upgrade(headers: Record<string, string>): Promise<RawAnswer> {
  const u = new URL(url);
  const lines = ['POST /raft/stream HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: conclave-raft/1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return askRaw(u.hostname, Number(u.port), `${lines.join('\r\n')}\r\n\r\n`);
}

describe('who may open a Raft stream', () => {
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['a member this one knows', HEADERS, 101, ''],
    ['an unknown sender', { ...HEADERS, 'x-conclave-from': 'dd' }, 404, 'error sender not found\n'],
    ['a removed member', { ...HEADERS, 'x-conclave-from': 'ee' }, 410, 'removed member\n'],
    ['another cluster', { ...HEADERS, 'x-conclave-cluster-id': 'c0' }, 412, 'cluster ID mismatch\n'],
    ['another addressee', { ...HEADERS, 'x-conclave-to': 'a0' }, 412, 'to field mismatch\n'],
    ['no member headers', {}, 400, 'missing member headers\n'],
  ];
  for (const [name, headers, status, body] of cases)
    test(`${name}: ${status}`, async () => {
      const r = await upgrade(headers);
      r.sock.destroy();
      assert.equal(r.status, status);
      assert.equal(r.body, body);
    });

  test("a member's sender refused as an unknown sender logs it once, however often it retries", async () => {
    const said: string[] = [];
    const sender = new PeerSender(0xaan, [url], {
      localId: 0xddn,
      clusterId: () => 0xccn,
      logger: createLogger({ write: (d) => void said.push(d) }),
      tls: undefined,
      reportUnreachable: () => {},
      reportSnapshot: () => {},
      openSnapshotDb: () => Promise.reject(new Error('no snapshots here')),
    });
    try {
      // backoff 50, 100, 200, 400 ms: five attempts
      const earlier = logs.filter((l) => l.includes('failed to find remote peer in cluster')).length;
      await sleep(1200);
      const refusals = said.filter((l) => l.includes('peer refused the Raft stream'));
      assert.equal(refusals.length, 1, said.join(''));
      assert.match(refusals[0]!, /"status":404,"reason":"error sender not found"/);
      const attempts = logs.filter((l) => l.includes('failed to find remote peer in cluster')).length - earlier;
      assert.ok(attempts >= 3, `${attempts} attempts`);
    } finally {
      sender.stop();
    }
  });
});

describe('messages on an open stream', () => {
  /** Writes frames of `messages` on `sock`; resolves once `received` grew by `expect` or after 500 ms. */
  async function deliver(sock: net.Socket, messages: Message[], expect: number): Promise<number> {
    const count = received.length;
    sock.write(encodeFrames(messages));
    for (let i = 0; i < 50 && received.length < count + expect; i++) await sleep(10);
    if (expect === 0) await sleep(100);
    return received.length - count;
  }

  test('a member removed while its stream is open: the stream ends at its next message, which is dropped', async () => {
    const { sock } = await upgrade({ ...HEADERS, 'x-conclave-from': 'bc' });
    try {
      assert.equal(await deliver(sock, [message(0xbcn)], 1), 1);
      removed.add(0xbcn);
      const closed = closedAfter(sock, 2000);
      assert.equal(await deliver(sock, [message(0xbcn)], 0), 0);
      assert.ok((await closed) < 2000, 'the stream was closed');
      assert.ok(logs.some((l) => l.includes('closed the Raft stream of a removed member')));
    } finally {
      removed.delete(0xbcn);
      sock.destroy();
    }
  });

  test("a removed member's message relayed by another is dropped; the relay's own messages arrive", async () => {
    const { sock } = await upgrade(HEADERS);
    try {
      // (raft relays a proposal as it came: a follower forwards another's MsgProp to the leader)
      assert.equal(await deliver(sock, [message(0xeen), message(0xbbn)], 1), 1);
      assert.equal(received.at(-1)?.from, 0xbbn);
      assert.ok(logs.some((l) => l.includes('rejected Raft message from removed member') && l.includes('"ee"')));
      assert.equal(sock.destroyed, false);
    } finally {
      sock.destroy();
    }
  });
});

describe('who may send other peer requests', () => {
  async function post(path: string, headers: Record<string, string>, body: Buffer): Promise<[number, string]> {
    const s = http2.connect(url);
    s.on('error', () => {});
    try {
      const req = s.request({ ':method': 'POST', ':path': path, ...headers });
      let text = '';
      req.setEncoding('latin1');
      req.on('data', (d: string) => (text += d));
      req.end(body);
      const [h] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
      await once(req, 'close');
      return [Number(h[':status']), text];
    } finally {
      s.destroy();
    }
  }

  test('a forwarded request: from a known member served, from an unknown one 404', async () => {
    assert.deepEqual(await post('/echo', HEADERS, Buffer.from('hi')), [200, 'hi']);
    assert.deepEqual(await post('/echo', { ...HEADERS, 'x-conclave-from': 'dd' }, Buffer.from('hi')), [
      404,
      'error sender not found\n',
    ]);
    assert.deepEqual(await post('/echo', { ...HEADERS, 'x-conclave-from': 'ee' }, Buffer.from('hi')), [
      410,
      'removed member\n',
    ]);
  });

  test('a snapshot from a member this one does not know yet is received; from a removed one 410', async () => {
    const w = new ByteWriter(256);
    writeMessage(w, message(0xddn, MessageType.Snap));
    const msg = w.finish();
    const len = Buffer.alloc(4);
    len.writeUInt32BE(msg.length);
    const db = Buffer.alloc(1024, 7);
    const body = Buffer.concat([len, msg, db]);
    const h = { ...HEADERS, 'x-conclave-from': 'dd', 'content-length': String(body.length) };
    assert.deepEqual(await post('/raft/snapshot', h, body), [200, 'ok']);
    assert.equal(snapshots.at(-1)?.from, 0xddn);
    const [status] = await post('/raft/snapshot', { ...h, 'x-conclave-from': 'ee' }, body);
    assert.equal(status, 410);
  });
});

describe('silent Raft streams', () => {
  test(`nothing sent, or a frame stopped half-way: closed ${IDLE_MS} ms after the last byte; heartbeats keep one open`, async () => {
    // each clock starts at its stream's last byte
    const frame = encodeFrames([message(0xbbn)]);
    const silent = (await upgrade(HEADERS)).sock;
    const silentClosed = closedAfter(silent, 10 * IDLE_MS);
    const half = (await upgrade(HEADERS)).sock;
    half.write(frame.subarray(0, 6));
    const halfClosed = closedAfter(half, 10 * IDLE_MS);
    const beating = (await upgrade(HEADERS)).sock;
    const beat = setInterval(() => beating.write(HEARTBEAT_FRAME), IDLE_MS / 6);
    try {
      const [a, b, c] = await Promise.all([silentClosed, halfClosed, closedAfter(beating, 4 * IDLE_MS)]);
      // closed between one and 1.2 bounds after the last byte, and slack for a loaded machine
      for (const ms of [a, b]) assert.ok(ms >= IDLE_MS - 20 && ms < IDLE_MS + 1500, `closed after ${ms} ms`);
      assert.equal(c, Infinity, 'the stream with heartbeats is open');
      assert.ok(logs.some((l) => l.includes('closed a silent Raft stream') && l.includes('"remote-peer-id":"bb"')));
      // a message after heartbeats arrives whole
      const count = received.length;
      beating.write(frame);
      for (let i = 0; i < 100 && received.length === count; i++) await sleep(10);
      assert.equal(received.length, count + 1);
      assert.equal(received.at(-1)?.type, MessageType.Heartbeat);
    } finally {
      clearInterval(beat);
      for (const s of [silent, half, beating]) s.destroy();
    }
  });

  test("a member's sender keeps its stream through five bounds without a message, and then delivers", async () => {
    const sender = new PeerSender(0xaan, [url], {
      localId: 0xbbn,
      clusterId: () => 0xccn,
      logger: createLogger({ write: () => {} }),
      tls: undefined,
      reportUnreachable: () => {},
      reportSnapshot: () => {},
      openSnapshotDb: () => Promise.reject(new Error('no snapshots here')),
      streamHeartbeatMs: IDLE_MS / 6,
    });
    try {
      for (let i = 0; i < 100 && !sender.isConnected; i++) await sleep(10);
      assert.ok(sender.isConnected, 'connected');
      const closedBefore = logs.filter((l) => l.includes('closed a silent Raft stream')).length;
      await sleep(5 * IDLE_MS);
      assert.ok(sender.isConnected, 'still connected');
      assert.equal(logs.filter((l) => l.includes('closed a silent Raft stream')).length, closedBefore);
      const count = received.length;
      sender.send([message(0xbbn)]);
      for (let i = 0; i < 100 && received.length === count; i++) await sleep(10);
      assert.equal(received.length, count + 1);
    } finally {
      sender.stop();
    }
  });
});
