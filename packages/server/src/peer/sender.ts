// Sending to one remote member: a long-lived connection upgraded to a Raft stream (see upgrade.ts)
// carrying framed Raft messages and a heartbeat frame after a second without one (the member closes a
// stream silent for 5 s), reconnected with backoff; a bounded queue (messages are dropped, and
// the member reported unreachable, when it is down or congested: Raft retries). Snapshots and
// forwarded requests go over HTTP/2 (a session kept for forwards; one per snapshot), the backend
// database streamed after the snapshot message.

import http2 from 'node:http2';
import type net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ByteWriter, writeMessage } from '../raft/codec.js';
import { MessageType, type Message } from '../raft/types.js';
import type { Logger } from '../log/index.js';
import { formatId } from '../log/index.js';
import { encodeFrames, HEARTBEAT_FRAME, PEER_HEADERS } from './frame.js';
import type { PeerCounters, PeerStats } from './stats.js';
import { connectPeer, PeerTlsAlertError, upgradeToRaftStream, UpgradeRefusedError } from './upgrade.js';

/** Bytes buffered on a stream before new messages are dropped. */
const MAX_BUFFERED = 32 * 1024 * 1024;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** How often the round trip to a connected member is measured (etcd records its prober's every 30 s). */
const PROBE_INTERVAL_MS = 30_000;
/** The first probe comes 2–4 s after the stream is up. */
const FIRST_PROBE_MS = 2_000;
/** How often an open HTTP/2 session PINGs the member (which closes one without frames for 5 s). */
const SESSION_KEEPALIVE_MS = 2_000;
/**
 * A Raft stream on which nothing was written for this long gets a heartbeat frame: writes are then at
 * most two intervals apart, well within the 5 s after which the member closes a silent stream.
 */
const STREAM_HEARTBEAT_MS = 1_000;

export interface SenderDeps {
  localId: bigint;
  clusterId: () => bigint;
  logger: Logger;
  tls: ConnectionOptions | undefined;
  reportUnreachable(id: bigint): void;
  reportSnapshot(id: bigint, ok: boolean): void;
  /** Messages that were certainly not delivered (the member was down or congested). */
  onDropped?(messages: Message[]): void;
  /**
   * The member's stream was lost and its port now refuses connections: nothing listens there, so
   * its process is gone (a paused or partitioned member still accepts, or times out).
   */
  onPeerGone?(id: bigint): void;
  /** A readable stream of a consistent copy of the backend database, and its size. */
  openSnapshotDb(): Promise<{ size: number; stream: NodeJS.ReadableStream }>;
  /** Where bytes sent, send failures and round trips are counted (etcd's network metrics). */
  stats?: PeerStats;
  /** How often open HTTP/2 sessions PING the member (default 2 s). */
  keepaliveMs?: number;
  /** A Raft stream without a message for this long gets a heartbeat frame (default 1 s). */
  streamHeartbeatMs?: number;
}

export class PeerSender {
  /** The Raft stream (connected once upgraded). */
  private socket: net.Socket | null = null;
  /** HTTP/2 session for forwarded requests, opened on first use. */
  private session: http2.ClientHttp2Session | null = null;
  private connected = false;
  private connecting = false;
  /** The last dial error logged (cleared once connected). */
  private lastDialError = '';
  private backoff = BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private reportedDown = false;
  private sendingSnapshot = false;
  private readonly counters: PeerCounters | null;
  private probeTimer: NodeJS.Timeout | null = null;
  /** Messages were written on the Raft stream since the last heartbeat check. */
  private wrote = false;

  constructor(
    readonly id: bigint,
    private urls: string[],
    private readonly deps: SenderDeps,
  ) {
    this.counters = deps.stats?.peer(id) ?? null;
    this.connect();
  }

  get peerUrls(): readonly string[] {
    return this.urls;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  updateUrls(urls: string[]): void {
    this.urls = urls;
    this.reset();
  }

  private memberHeaders(): Record<string, string> {
    return {
      [PEER_HEADERS.clusterId]: formatId(this.deps.clusterId()),
      [PEER_HEADERS.from]: formatId(this.deps.localId),
      [PEER_HEADERS.to]: formatId(this.id),
    };
  }

  private headers(path: string): http2.OutgoingHttpHeaders {
    return { ':method': 'POST', ':path': path, ...this.memberHeaders() };
  }

  /**
   * An HTTP/2 session to a peer URL: http(s)://host:port or unix(s)://path. It PINGs the member every
   * few seconds while open: members close HTTP/2 connections without a frame for 5 s (limits.ts), as
   * etcd closes silent peer connections, and a kept session must never be closed under a request.
   */
  private openSession(url: string): http2.ClientHttp2Session {
    const unix = /^(unixs?):\/\//.exec(url);
    const authority = unix ? (unix[1] === 'unixs' ? 'https://localhost' : 'http://localhost') : url;
    const session = http2.connect(authority, {
      ...(this.deps.tls ?? {}),
      settings: { initialWindowSize: 4 << 20 },
      createConnection: () => connectPeer(url, this.deps.tls, 'h2'),
    });
    const keepalive = setInterval(() => {
      if (session.destroyed || session.closed || session.connecting) return;
      try {
        session.ping(() => {});
      } catch {
        // (too many unanswered PINGs: the session is failing and will close)
      }
    }, this.deps.keepaliveMs ?? SESSION_KEEPALIVE_MS).unref();
    session.once('close', () => clearInterval(keepalive));
    return session;
  }

  private connect(): void {
    if (this.stopped || this.connecting || this.connected) return;
    const url = this.urls[0];
    if (!url) return;
    this.connecting = true;
    const sock = connectPeer(url, this.deps.tls, 'http/1.1');
    this.socket = sock;
    sock.on('error', () => {});
    sock.on('close', () => this.onDown(sock));
    upgradeToRaftStream(sock, this.memberHeaders()).then(
      () => {
        if (this.socket !== sock) return;
        this.connecting = false;
        this.connected = true;
        this.lastDialError = '';
        this.backoff = BACKOFF_MIN_MS;
        if (this.reportedDown) this.deps.logger.info('peer became active', { 'remote-peer-id': formatId(this.id) });
        this.reportedDown = false;
        // nothing comes back on the stream; reading notices the peer closing it
        sock.resume();
        this.startHeartbeats(sock);
        this.startProbing();
      },
      (err: unknown) => {
        // (the socket's 'close' may already have run onDown: do not require it to be current)
        if (this.stopped) return;
        if (err instanceof PeerTlsAlertError) {
          // logged once per distinct error until the stream connects again
          if (this.lastDialError !== err.message) {
            this.lastDialError = err.message;
            this.deps.logger.warn('failed to dial remote peer', {
              'remote-peer-id': formatId(this.id),
              error: err.message,
            });
          }
        } else if (err instanceof UpgradeRefusedError) {
          // e.g. 404 "error sender not found" from a member that has not applied this one's addition
          // yet: logged once per distinct answer until the stream connects
          const said = `${err.status} ${err.body}`;
          if (this.lastDialError !== said) {
            this.lastDialError = said;
            this.deps.logger.warn('peer refused the Raft stream', {
              'remote-peer-id': formatId(this.id),
              status: err.status,
              reason: err.body.trim(),
            });
          }
        } else if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' && this.reportedDown) {
          this.deps.onPeerGone?.(this.id);
        }
        this.onDown(sock);
      },
    );
  }

  /** Writes a heartbeat frame on `sock` whenever a heartbeat interval went by without a message. */
  private startHeartbeats(sock: net.Socket): void {
    this.wrote = false;
    const timer = setInterval(() => {
      if (sock !== this.socket || sock.destroyed) return clearInterval(timer);
      // (bytes still queued reach the member before anything written now)
      if (!this.wrote && sock.writableLength === 0) {
        if (this.counters) this.counters.sentBytes += HEARTBEAT_FRAME.length;
        sock.write(HEARTBEAT_FRAME);
      }
      this.wrote = false;
    }, this.deps.streamHeartbeatMs ?? STREAM_HEARTBEAT_MS);
    timer.unref();
    sock.once('close', () => clearInterval(timer));
  }

  private onDown(sock: net.Socket): void {
    if (sock !== this.socket) return;
    const wasConnected = this.connected;
    this.connected = false;
    this.connecting = false;
    this.socket = null;
    sock.destroy();
    if (wasConnected && !this.reportedDown) {
      this.reportedDown = true;
      this.deps.logger.warn('peer became inactive (message send to peer failed)', {
        'remote-peer-id': formatId(this.id),
      });
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.backoff);
    this.retryTimer.unref();
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
  }

  /** Queues messages; drops them (and reports the member unreachable) when it is down or congested. */
  send(messages: Message[]): void {
    const snaps = messages.filter((m) => m.type === MessageType.Snap);
    const rest = snaps.length ? messages.filter((m) => m.type !== MessageType.Snap) : messages;
    for (const s of snaps) void this.sendSnapshot(s);
    if (rest.length === 0) return;
    const sock = this.socket;
    if (!this.connected || !sock || sock.destroyed || sock.writableLength > MAX_BUFFERED) {
      if (this.counters) this.counters.sentFailures += rest.length;
      this.deps.reportUnreachable(this.id);
      this.deps.onDropped?.(rest);
      this.connect();
      return;
    }
    const frames = encodeFrames(rest);
    if (this.counters) this.counters.sentBytes += frames.length;
    this.wrote = true;
    sock.write(frames);
  }

  private async sendSnapshot(m: Message): Promise<void> {
    if (this.sendingSnapshot || this.stopped) {
      this.deps.reportSnapshot(this.id, false);
      return;
    }
    this.sendingSnapshot = true;
    const url = this.urls[0]!;
    const session = this.openSession(url);
    session.on('error', () => {});
    try {
      const db = await this.deps.openSnapshotDb();
      const w = new ByteWriter(256);
      writeMessage(w, m);
      const body = w.finish();
      const head = Buffer.allocUnsafe(4 + body.length);
      head.writeUInt32BE(body.length, 0);
      head.set(body, 4);
      // the declared size bounds what the receiver writes (peer/snapshot-receiver.ts)
      const req = session.request(
        { ...this.headers('/raft/snapshot'), 'content-length': String(head.length + db.size) },
        { endStream: false },
      );
      const status = await new Promise<number>((resolve, reject) => {
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.on('close', () => reject(new Error('snapshot stream closed')));
        req.write(head);
        db.stream.on('error', reject);
        db.stream.pipe(req);
      });
      req.resume();
      const ok = status === 200;
      if (ok && this.counters) this.counters.sentBytes += head.length + db.size;
      this.deps.logger.info(ok ? 'sent database snapshot' : 'peer refused database snapshot', {
        'remote-peer-id': formatId(this.id),
        'snapshot-index': m.snapshot?.metadata.index,
        bytes: db.size,
        status,
      });
      this.deps.reportSnapshot(this.id, ok);
    } catch (err) {
      this.deps.logger.warn('failed to send database snapshot', {
        'remote-peer-id': formatId(this.id),
        error: String(err),
      });
      this.deps.reportSnapshot(this.id, false);
    } finally {
      session.close();
      this.sendingSnapshot = false;
    }
  }

  /** The HTTP/2 session for forwarded requests and probes, opened on first use. */
  private forwardSession(): http2.ClientHttp2Session {
    if (!this.session || this.session.destroyed || this.session.closed) {
      const fresh = this.openSession(this.urls[0]!);
      fresh.on('error', () => {});
      fresh.on('close', () => {
        if (this.session === fresh) this.session = null;
      });
      this.session = fresh;
    }
    return this.session;
  }

  /**
   * Measures the round trip to the member every PROBE_INTERVAL_MS while connected, the first time a
   * few seconds after the stream came up (not during a cluster's start, when every member connects).
   */
  private startProbing(): void {
    if (!this.deps.stats || this.probeTimer) return;
    const probe = (): void => {
      this.probeTimer = null;
      if (this.stopped || !this.connected) return;
      const t = performance.now();
      const req = this.forwardSession().request({ ':method': 'GET', ':path': '/version', ...this.memberHeaders() });
      const timer = setTimeout(() => req.close(), PROBE_INTERVAL_MS).unref();
      req.on('error', () => {});
      req.on('response', () => this.deps.stats?.rttSeconds(this.id, (performance.now() - t) / 1000));
      req.on('close', () => clearTimeout(timer));
      req.resume();
      this.probeTimer = setTimeout(probe, PROBE_INTERVAL_MS).unref();
    };
    this.probeTimer = setTimeout(probe, FIRST_PROBE_MS + Math.random() * FIRST_PROBE_MS).unref();
  }

  /** Sends a request to this member's forwarding route and returns its body. */
  forward(path: string, body: Uint8Array, timeoutMs: number): Promise<Buffer> {
    const s = this.forwardSession();
    return new Promise<Buffer>((resolve, reject) => {
      const req = s.request(this.headers(path), { endStream: false });
      const timer = setTimeout(() => {
        req.close();
        reject(new Error('forwarded request timed out'));
      }, timeoutMs);
      let status = 0;
      const chunks: Buffer[] = [];
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        clearTimeout(timer);
        const out = Buffer.concat(chunks);
        if (status === 200) resolve(out);
        else reject(Object.assign(new Error(`forwarded request failed (${status})`), { status, body: out }));
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  }

  private reset(): void {
    const sock = this.socket;
    this.socket = null;
    this.connected = false;
    this.connecting = false;
    sock?.destroy();
    this.session?.destroy();
    this.session = null;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.socket?.destroy();
    this.socket = null;
    this.session?.destroy();
    this.session = null;
  }
}
