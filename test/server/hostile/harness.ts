// Tools for the hostile-input tests: a member process on a cleartext or TLS client URL, its resident
// memory, a probe client that keeps calling it while an attack runs (and records how long each
// answer took), and a raw HTTP/2 connection that writes any frame and records what comes back.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '@conclave/api';
import { Flag, FrameType, HpackEncoder, OutBuffer, PREFACE } from '@conclave/h2';
import { clientTlsFlags, HTTPS_CLIENT_URLS } from '../../helpers/certs.js';
import { RawClient } from '../../helpers/grpc.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';
import { startServer, type ServerProcess } from '../../helpers/process.js';
import { freePort, tempDir } from '../../helpers/tmp.js';

const PROBE_CHILD = fileURLToPath(new URL('./probe-child.mjs', import.meta.url));

export type Mode = 'cleartext' | 'tls';
export const MODES: readonly Mode[] = ['cleartext', 'tls'];

export interface Target {
  mode: Mode;
  srv: ServerProcess;
  host: string;
  port: number;
  ca?: Buffer;
  /** A grpc-js client on its own connection. */
  client(): RawClient;
  /** Resident memory of the member process, MiB. */
  rssMiB(): number;
  /** The process has not exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

let pki: { dir: ReturnType<typeof tempDir>; files: TestPki } | null = null;
function testPki(): TestPki {
  if (!pki) {
    const dir = tempDir('conclave-hostile-pki');
    pki = { dir, files: makeTestPki(dir.path) };
    process.once('exit', () => pki?.dir.cleanup());
  }
  return pki.files;
}

export async function startTarget(mode: Mode, args: string[] = []): Promise<Target> {
  const tlsArgs =
    mode === 'tls'
      ? [...HTTPS_CLIENT_URLS, ...clientTlsFlags({ certFile: testPki().serverCert, keyFile: testPki().serverKey })]
      : [];
  const srv = await startServer('conclave', { args: [...tlsArgs, ...args] });
  const [host, port] = [srv.endpoint.slice(0, srv.endpoint.lastIndexOf(':')), Number(srv.endpoint.split(':').pop())];
  const ca = mode === 'tls' ? readFileSync(testPki().ca) : undefined;
  return {
    mode,
    srv,
    host,
    port,
    ...(ca ? { ca } : {}),
    client: () =>
      ca
        ? new RawClient(srv.endpoint, {
            credentials: grpc.credentials.createSsl(ca),
            channel: { 'grpc.ssl_target_name_override': 'localhost' },
          })
        : new RawClient(srv.endpoint),
    rssMiB: () => rssMiB(srv.child.pid!),
    alive: () => srv.child.exitCode === null && srv.child.signalCode === null,
    stop: () => srv.stop(),
  };
}

/**
 * The member of the current suite: registers before() / after() that start it (startTarget) and stop
 * it. The object returned takes the started member's fields in before(), so the suite's tests use it
 * like startTarget's.
 */
export function suiteTarget(mode: Mode, args: string[] = []): Target {
  const t = { mode } as Target;
  before(async () => {
    Object.assign(t, await startTarget(mode, args));
  });
  after(() => t.stop?.());
  return t;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(join('/proc', String(pid), 'status'), 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** A target's peer side: the peer address the member logged, its cluster and member IDs (hex, as Status tells them). */
export interface PeerSide {
  host: string;
  port: number;
  clusterId: string;
  memberId: string;
}

export async function peerSide(t: Target): Promise<PeerSide> {
  const m = /"msg":"serving peer traffic"[^\n]*"address":"([^"]+):(\d+)"/.exec(t.srv.log());
  assert.ok(m, 'the member logged its peer address');
  const c = t.client();
  try {
    const h = (await c.unary(etcdserverpb.MaintenanceService.Status, {})).header!;
    return { host: m[1]!, port: Number(m[2]), clusterId: h.clusterId.toString(16), memberId: h.memberId.toString(16) };
  } finally {
    c.close();
  }
}

/**
 * The ID (hex) of a member the target knows, for requests that name their sender: a learner added with
 * a peer URL nothing answers on (the quorum stays the target alone). A member refuses Raft streams and
 * forwarded requests from members it does not know, as etcd; anyone can read the members' IDs
 * (MemberList), so attacks claim a known one.
 */
export async function knownSender(t: Target): Promise<string> {
  const c = t.client();
  try {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const r = await c.unary(etcdserverpb.ClusterService.MemberAdd, { peerURLs: [nowhere], isLearner: true });
    return r.member!.ID.toString(16);
  } finally {
    c.close();
  }
}

/**
 * Bounds every attack test asserts. The machine these run on is small and shared (two cores, other
 * suites beside): the probe bound leaves room for that, and is still far below the tens of seconds
 * the attacks used to stall the member.
 */
export const PROBE_BOUND_MS = 2000;
/** Resident memory a member may gain during one attack, MiB. */
export const RSS_BOUND_MIB = 64;

export interface ProbeReport {
  calls: number;
  failures: string[];
  /** Slowest answer, ms. */
  maxMs: number;
}

/**
 * Puts and reads a key every `everyMs` on its own connection, in a child process (an attack generated
 * in this process must not delay it), until stop(); each call's latency and failure is recorded.
 * Calls time out after `timeoutMs` (a failure). Resolves once connected (a first call done), so
 * connection set-up is not counted.
 */
export async function probe(t: Target, everyMs = 50, timeoutMs = 5000): Promise<{ stop(): Promise<ProbeReport> }> {
  const args = [
    PROBE_CHILD,
    t.srv.endpoint,
    String(everyMs),
    String(timeoutMs),
    ...(t.mode === 'tls' ? [testPki().ca] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (out.includes('ready\n')) {
          child.stdout!.off('data', check);
          resolve();
        }
      };
      child.stdout!.on('data', check);
    }),
    exited.then(() => {
      throw new Error(`the probe exited before it was connected: ${out}`);
    }),
  ]);
  return {
    stop: async () => {
      child.stdin!.end();
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the probe printed no report: ${out}`);
      return JSON.parse(line) as ProbeReport;
    },
  };
}

export interface Frame {
  type: number;
  flags: number;
  sid: number;
  payload: Buffer;
}

/** The HTTP/2 package's frame writer, for frame(). */
const frameWriter = new OutBuffer();

/** One frame (a copy: `frameWriter` goes on writing into its chunk). */
export function frame(type: number, flags: number, sid: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  frameWriter.frame(type, flags, sid, payload);
  return Buffer.concat(frameWriter.take());
}

export const settingsFrame = (pairs: Array<[number, number]> = []): Buffer => {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
};

/** The connection preface and an empty SETTINGS frame: what every client sends first. */
export const CLIENT_START = Buffer.concat([PREFACE, settingsFrame()]);

/** Request headers for a gRPC call (or, with `contentType`, any request) to `path`. */
export function requestHeaders(path: string, contentType = 'application/grpc', extra: string[] = []): string[] {
  return [
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    path,
    ':authority',
    'localhost',
    'content-type',
    contentType,
    'te',
    'trailers',
    ...extra,
  ];
}

/** A gRPC message frame (5-byte prefix). */
export function grpcMessage(body: Uint8Array, flag = 0): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
}

/**
 * A raw HTTP/2 client connection: writes whatever it is given, parses the frames the server sends,
 * and answers nothing by itself (the tests decide whether it acknowledges SETTINGS or reads at all).
 */
export class RawH2 {
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder();
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => this.onData(c));
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(
    t: Pick<Target, 'mode' | 'host' | 'port' | 'ca'>,
    opts: { read?: boolean } = {},
  ): Promise<RawH2> {
    const sock =
      t.mode === 'tls'
        ? tls.connect({ host: t.host, port: t.port, ca: t.ca!, servername: 'localhost', ALPNProtocols: ['h2'] })
        : net.connect({ host: t.host, port: t.port });
    await new Promise<void>((resolve, reject) => {
      sock.once(t.mode === 'tls' ? 'secureConnect' : 'connect', () => resolve());
      sock.once('error', reject);
    });
    const c = new RawH2(sock);
    if (opts.read === false) sock.pause();
    return c;
  }

  write(b: Buffer): boolean {
    return this.sock.write(b);
  }

  /** A HEADERS frame (END_HEADERS) with an HPACK block from this connection's encoder. */
  headers(sid: number, headers: string[], endStream: boolean): Buffer {
    return frame(FrameType.HEADERS, 0x4 | (endStream ? 1 : 0), sid, this.encoder.encode(headers));
  }

  private onData(c: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      this.frames.push({
        type: this.buf[3]!,
        flags: this.buf[4]!,
        sid: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      });
      this.buf = this.buf.subarray(9 + len);
    }
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Waits until `pred` holds for a received frame (returns it) or the connection closes (returns undefined). */
  async until(pred: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f || this.closed) return f;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The GOAWAY error code the server sent (waiting for it), or undefined when it closed without one. */
  async goAwayCode(timeoutMs = 5000): Promise<number | undefined> {
    const f = await this.until((x) => x.type === FrameType.GOAWAY, timeoutMs);
    return f?.payload.readUInt32BE(4);
  }

  /** The server's SETTINGS (its first frame that is not an ACK, waited for): identifier → value. */
  async serverSettings(timeoutMs = 5000): Promise<Map<number, number>> {
    const f = await this.until((x) => x.type === FrameType.SETTINGS && !(x.flags & Flag.ACK), timeoutMs);
    assert.ok(f, `no SETTINGS from the server; got ${this.describe()}`);
    const values = new Map<number, number>();
    for (let i = 0; i < f.payload.length; i += 6) values.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
    return values;
  }

  /** The RST_STREAM error code for `sid` (waiting for it). */
  async resetCode(sid: number, timeoutMs = 5000): Promise<number | undefined> {
    const f = await this.until((x) => x.type === FrameType.RST_STREAM && x.sid === sid, timeoutMs);
    return f?.payload.readUInt32BE(0);
  }

  /** Resolves when the server closed the connection. */
  async closedWithin(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  describe(): string {
    return this.frames.map((f) => `${FrameType[f.type] ?? f.type}(sid ${f.sid}, flags ${f.flags})`).join(' ');
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Runs `attack` with a probe alongside; checks the member lives, memory and the probe's answers. */
export async function underAttack(t: Target, attack: () => Promise<void>): Promise<void> {
  const rss0 = t.rssMiB();
  const p = await probe(t);
  let report: ProbeReport;
  try {
    await attack();
  } finally {
    report = await p.stop();
  }
  assert.ok(t.alive(), 'the member lives');
  assert.deepEqual(report.failures, [], 'every probe call was answered');
  assert.ok(
    report.maxMs < PROBE_BOUND_MS,
    `probe answered within ${PROBE_BOUND_MS} ms (slowest ${Math.round(report.maxMs)} ms)`,
  );
  const grew = t.rssMiB() - rss0;
  assert.ok(grew < RSS_BOUND_MIB, `RSS grew ${Math.round(grew)} MiB (bound ${RSS_BOUND_MIB})`);
}
