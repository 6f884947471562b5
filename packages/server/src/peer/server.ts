// The peer listener (--listen-peer-urls): Raft message streams from other members, snapshots
// (the leader's backend database, streamed), the member list and version for joining members, and
// the internal routes other members use to forward requests to this one (lease keep-alives).

import { open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { join } from 'node:path';
import type { Message } from '../raft/types.js';
import type { Member } from '../etcdserver/membership.js';
import type { Logger } from '../log/index.js';
import { formatId } from '../log/index.js';
import type { PeerFaults } from './faults.js';
import { FrameDecoder, PEER_HEADERS } from './frame.js';
import { type Admission, checkSender, type Refusal } from './admission.js';
import { watchIdle } from './idle.js';
import { DEFAULT_PEER_LIMITS, HeldBytes, PeerRefusal, type PeerLimits } from './limits.js';
import { receiveSnapshot } from './snapshot-receiver.js';
import type { PeerStats } from './stats.js';
import { acceptUpgrade, RAFT_UPGRADE, refuseUpgrade } from './upgrade.js';

/**
 * What the listener serves from. knows(): a member this one has a peer for (the members its log has
 * applied, or the founding ones until then); Raft streams and forwarded requests from any other are
 * refused (admission.ts).
 */
export interface PeerHandler extends Admission {
  /** A Raft message from another member. */
  receive(m: Message): void;
  /** A MsgSnap whose backend database was saved at `dbPath`. */
  receiveSnapshot(m: Message, dbPath: string): void;
  /** Where received snapshot databases are written. */
  snapshotDir: string;
  members(): Member[];
  version: { etcdserver: string; etcdcluster: string };
  /** Serves requests forwarded by other members (e.g. /leases/keepalive); undefined = unknown route. */
  forwarded?(path: string, body: Buffer): Promise<Buffer> | undefined;
  /** More HTTP/1.1 routes by path (e.g. /members/hashkv for the corruption checks). */
  routes?: ReadonlyMap<string, http.RequestListener>;
  /** Where bytes received per member are counted (etcd's network metrics). */
  stats?: PeerStats;
  /** Told how long saving a received snapshot database took, and its fsync (seconds). */
  snapshotDbSaved?(totalSeconds: number, fsyncSeconds: number): void;
}

export function memberToJson(m: Member): Record<string, unknown> {
  return { id: formatId(m.id), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

export class PeerServer {
  readonly h2: http2.Http2Server;
  /** HTTP/1.1 on the peer port: /members and /version (as etcd's peer handler). */
  readonly h1: http.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Raft streams from other members (upgraded HTTP/1.1 connections). */
  private readonly streams = new Set<net.Socket>();
  /** Every HTTP/1.1 connection on the peer port. */
  private readonly h1Sockets = new Set<net.Socket>();
  private snapSeq = 0;
  private readonly limits: PeerLimits;
  /** Bytes held for incomplete forwarded bodies and snapshot messages, all streams together. */
  private readonly held: HeldBytes;

  constructor(
    private readonly handler: PeerHandler,
    private readonly faults: PeerFaults,
    private readonly logger: Logger,
    limits: Partial<PeerLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PEER_LIMITS, ...limits };
    this.held = new HeldBytes(this.limits.heldBytes);
    this.h2 = http2.createServer({
      settings: { initialWindowSize: 4 << 20, maxConcurrentStreams: this.limits.concurrentStreams },
    });
    this.h2.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => {});
      this.watchIdle(s);
    });
    this.h2.on('stream', (stream, headers) => this.route(stream, headers));
    // Request heads must arrive within headersTimeoutMs, whole requests within requestTimeoutMs (408
    // and closed; checked every second); idle keep-alive connections close after 5 s, as etcd's do.
    this.h1 = http.createServer(
      {
        headersTimeout: this.limits.headersTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs),
      },
      (req, res) => this.serveHttp1(req, res),
    );
    this.h1.keepAliveTimeout = 5_000;
    // The listener hands sockets to this server (it never listens itself); Node starts the checks of
    // the timeouts above on 'listening'.
    this.h1.emit('listening');
    this.h1.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) =>
      this.serveRaftUpgrade(req, sock, head),
    );
    // Connections are handed to h1 by the listener (it never listens itself), so its
    // closeAllConnections() does not know them: track them here (keep-alive clients of /members).
    this.h1.on('connection', (sock: net.Socket) => {
      this.h1Sockets.add(sock);
      sock.on('close', () => this.h1Sockets.delete(sock));
    });
  }

  /**
   * Closes (GOAWAY) an HTTP/2 connection whose peer sent nothing for sessionIdleMs, as etcd closes a
   * peer connection after 5 s without a read. Any byte counts (members PING their sessions every 2 s);
   * Node's own session timeout counts stream activity only.
   */
  private watchIdle(s: http2.ServerHttp2Session): void {
    const idleMs = this.limits.sessionIdleMs;
    const sock = s.socket as { bytesRead?: unknown };
    let events = 0;
    s.on('ping', () => events++);
    s.on('stream', () => events++);
    const activity = (): number => {
      // (the socket of a destroyed session throws ERR_HTTP2_SOCKET_UNBOUND when read; 'close' comes later)
      if (s.destroyed) return -1;
      try {
        return (typeof sock.bytesRead === 'number' ? sock.bytesRead : 0) + events;
      } catch {
        return -1;
      }
    };
    const stop = watchIdle(activity, idleMs, () => {
      if (s.destroyed) return;
      this.logger.debug('closed a silent peer connection', { 'idle-ms': idleMs });
      s.destroy();
    });
    s.once('close', stop);
  }

  /** HTTP/1.1 requests: /members, /version and the extra routes; 404 for the rest. */
  private serveHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const extra = this.handler.routes?.get(path);
    if (extra) {
      extra(req, res);
    } else if (req.method === 'GET' && path === '/members') {
      res.writeHead(200, {
        'content-type': 'application/json',
        [PEER_HEADERS.clusterId]: formatId(this.handler.clusterId()),
      });
      res.end(JSON.stringify(this.handler.members().map(memberToJson)));
    } else if (req.method === 'GET' && path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.handler.version));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
    }
  }

  private reply(stream: http2.ServerHttp2Stream, status: number, body: string | Buffer, type = 'text/plain'): void {
    if (stream.destroyed) return;
    stream.respond({ ':status': status, 'content-type': type });
    stream.end(body);
  }

  /** checkSender() with this member's handler and logger. */
  private check(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders, anySender = false): bigint | Refusal {
    return checkSender(headers, this.handler, this.logger, anySender);
  }

  /** check() for an HTTP/2 request: answers it and returns null when refused. */
  private admit(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, anySender = false): bigint | null {
    const r = this.check(headers, anySender);
    if (typeof r === 'bigint') return r;
    this.reply(stream, r.status, r.body);
    return null;
  }

  /** An HTTP/1.1 upgrade to a Raft stream (upgrade.ts): frames from another member on the bare socket. */
  private serveRaftUpgrade(req: http.IncomingMessage, sock: net.Socket, head: Buffer): void {
    sock.on('error', () => {});
    const path = (req.url ?? '').split('?')[0];
    if (
      path !== '/raft/stream' ||
      req.method !== 'POST' ||
      String(req.headers.upgrade).toLowerCase() !== RAFT_UPGRADE
    ) {
      refuseUpgrade(sock, 400, 'Bad Request', 'unknown upgrade\n');
      return;
    }
    const r = this.check(req.headers);
    if (typeof r !== 'bigint') {
      refuseUpgrade(sock, r.status, http.STATUS_CODES[r.status] ?? 'Error', r.body);
      return;
    }
    const from = r;
    sock.setNoDelay(true);
    acceptUpgrade(sock);
    this.streams.add(sock);
    sock.on('close', () => this.streams.delete(sock));
    const dec = new FrameDecoder();
    const counters = this.handler.stats?.peer(from) ?? null;
    // Members write a heartbeat frame after a second without a message: a stream from which nothing
    // arrives for streamIdleMs (its sender stopped, or stalled half-way through a frame) is closed.
    let received = 0;
    const idleMs = this.limits.streamIdleMs;
    const stopWatching = watchIdle(
      () => received,
      idleMs,
      () => {
        if (sock.destroyed) return;
        this.logger.warn('closed a silent Raft stream', { 'remote-peer-id': formatId(from), 'idle-ms': idleMs });
        sock.destroy();
      },
    );
    sock.once('close', stopWatching);
    const onData = (chunk: Buffer): void => {
      let msgs: Message[];
      received += chunk.length;
      if (counters) counters.receivedBytes += chunk.length;
      try {
        msgs = dec.push(chunk);
      } catch (err) {
        if (counters) counters.receivedFailures++;
        this.logger.warn('bad peer frame; closing stream', { 'remote-peer-id': formatId(from), error: String(err) });
        sock.destroy();
        return;
      }
      if (this.faults.blocked(from) || msgs.length === 0) return;
      // A member removed since its stream opened: the stream ends (etcd stops the member's peer)
      if (this.handler.isRemoved(from)) {
        this.logger.warn('closed the Raft stream of a removed member', { 'remote-peer-id': formatId(from) });
        sock.destroy();
        return;
      }
      for (const m of msgs) {
        // a message of a removed member relayed by another (a forwarded proposal) is dropped, as etcd
        // drops every message from a removed member
        if (m.from !== from && this.handler.isRemoved(m.from)) {
          this.logger.warn('rejected Raft message from removed member', { 'remote-peer-id': formatId(m.from) });
          continue;
        }
        this.handler.receive(m);
      }
    };
    if (head.length) onData(head);
    sock.on('data', onData);
    sock.on('end', () => sock.end());
  }

  private route(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {});
    const path = (headers[':path'] ?? '').split('?')[0];
    const method = headers[':method'];
    if (path === '/raft/snapshot' && method === 'POST') return void this.serveSnapshot(stream, headers);
    if (path === '/members' && method === 'GET') {
      stream.respond({
        ':status': 200,
        'content-type': 'application/json',
        [PEER_HEADERS.clusterId]: formatId(this.handler.clusterId()),
      });
      stream.end(JSON.stringify(this.handler.members().map(memberToJson)));
      return;
    }
    if (path === '/version' && method === 'GET')
      return this.reply(stream, 200, JSON.stringify(this.handler.version), 'application/json');
    if (method === 'POST' && path && this.handler.forwarded) return this.serveForwarded(stream, headers, path);
    this.reply(stream, 404, '404 page not found\n');
  }

  private async serveSnapshot(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): Promise<void> {
    const from = this.admit(stream, headers, true);
    if (from === null) return;
    const tmp = join(this.handler.snapshotDir, `incoming-${process.pid}-${++this.snapSeq}.snap.db.tmp`);
    const started = performance.now();
    const counters = this.handler.stats?.peer(from) ?? null;
    try {
      const { message: m } = await receiveSnapshot(stream, headers, {
        limits: this.limits,
        held: this.held,
        tmp,
        ...(counters ? { onBytes: (n: number) => void (counters.receivedBytes += n) } : {}),
      });
      if (!m.snapshot || this.faults.blocked(from))
        throw new Error('snapshot dropped (peer blocked by the fault hook)');
      const final = join(
        this.handler.snapshotDir,
        `${m.snapshot.metadata.index.toString(16).padStart(16, '0')}.snap.db`,
      );
      // durable before it is named (etcd fsyncs the .snap.db it receives)
      const fsyncStart = performance.now();
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const fsyncSeconds = (performance.now() - fsyncStart) / 1000;
      await rename(tmp, final);
      this.handler.snapshotDbSaved?.((performance.now() - started) / 1000, fsyncSeconds);
      this.logger.info('received database snapshot', {
        'remote-peer-id': formatId(from),
        'snapshot-index': m.snapshot.metadata.index,
      });
      this.handler.receiveSnapshot(m, final);
      this.reply(stream, 200, 'ok');
    } catch (err) {
      await rm(tmp, { force: true });
      const status = err instanceof PeerRefusal ? err.status : 500;
      this.logger.warn('failed to receive database snapshot', {
        'remote-peer-id': formatId(from),
        error: (err as Error).message ?? String(err),
        ...(status ? { status } : {}),
      });
      if (status === 0) return;
      this.refuse(stream, status, `${(err as Error).message}\n`);
      // what the sender sent breaks the protocol: no more requests on this connection
      if (err instanceof PeerRefusal && !stream.session?.closed) stream.session?.close();
    }
  }

  /**
   * Answers `status` and, if the peer is still sending its request, asks it to stop: RST_STREAM
   * NO_ERROR once the answer is out (RFC 9113 §8.1). What else arrives is read and dropped.
   */
  private refuse(stream: http2.ServerHttp2Stream, status: number, body: string): void {
    if (stream.destroyed) return;
    stream.resume();
    if (!stream.headersSent) stream.respond({ ':status': status, 'content-type': 'text/plain' });
    stream.end(body, () => {
      if (!stream.destroyed && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  }

  private serveForwarded(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, path: string): void {
    const checked = this.check(headers);
    if (typeof checked !== 'bigint') return this.refuse(stream, checked.status, checked.body);
    const max = this.limits.forwardedBodyBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const release = (): void => {
      this.held.give(size);
      size = 0;
      chunks.length = 0;
    };
    const refuse = (status: number, text: string): void => {
      refused = true;
      release();
      this.logger.warn('refused a request forwarded by a peer', { path, status, reason: text });
      this.refuse(stream, status, `${text}\n`);
    };
    stream.on('close', release);
    stream.on('data', (c: Buffer) => {
      if (refused) return;
      // Forwarded requests are small protobufs (lease keep-alives and the like): a larger body is refused.
      if (size + c.length > max) return refuse(413, `request body too large (limit ${max} bytes)`);
      if (!this.held.take(c.length)) return refuse(503, 'too many bytes held for incomplete requests on the peer port');
      size += c.length;
      chunks.push(c);
    });
    stream.on('end', () => {
      if (refused) return;
      const body = Buffer.concat(chunks, size);
      release();
      const p = this.handler.forwarded!(path, body);
      if (!p) return this.reply(stream, 404, '404 page not found\n');
      p.then(
        (out) => this.reply(stream, 200, out, 'application/octet-stream'),
        (err: unknown) =>
          this.reply(
            stream,
            500,
            JSON.stringify({
              code: (err as { code?: unknown })?.code ?? 2,
              message: (err as Error)?.message ?? String(err),
            }),
            'application/json',
          ),
      );
    });
  }

  closeConnections(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.streams) s.destroy();
    for (const s of this.h1Sockets) s.destroy();
    this.h1.closeAllConnections();
    // stops the timeout checks started by 'listening' (the server itself never listened)
    this.h1.close(() => {});
  }
}
