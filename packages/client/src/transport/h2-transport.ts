// The client's own HTTP/2 transport for one endpoint: a single connection, dialed on the first
// call, redialed on the next call after it failed or closed (with backoff after failed dials),
// closed with the endpoint. It carries every call of the endpoint: unary calls, the Watch and
// LeaseKeepAlive bidi streams, the Snapshot server stream.

import { GrpcCode } from '@conclave/api';
import net from 'node:net';
import tls from 'node:tls';
import { splitHostPort } from './address.js';
import { ClientH2Connection } from './h2-connection.js';
import { type BidiListener, BidiStream } from './h2-stream.js';
import { type ClientStream, UnaryStream } from './h2-unary.js';
import { grpcTimeout } from './status.js';
import { type CallStatus, type Metadata, Transport, type UnaryListener, status } from './transport.js';

export interface H2TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  serverName?: string;
}

const INITIAL_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;
const CONNECT_TIMEOUT_MS = 20_000;
const USER_AGENT = 'conclave-client/0.1.0';
/** Request metadata a caller may not set (the transport writes these itself, as grpc-js does). */
const RESERVED = new Set(['te', 'content-type', 'grpc-timeout', 'user-agent', 'grpc-accept-encoding', 'grpc-encoding']);

export class H2Transport extends Transport {
  private conn: ClientH2Connection | null = null;
  private connecting = false;
  /** Calls waiting for the connection being dialed. */
  private waiting: ClientStream[] = [];
  private backoff = INITIAL_BACKOFF_MS;
  private retryAt = 0;
  private lastError = '';
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  private readonly scheme: string;

  constructor(
    private readonly address: string,
    private readonly secure: boolean,
    private readonly tlsOptions: H2TlsOptions | undefined,
  ) {
    super();
    const hp = splitHostPort(address);
    this.host = hp.host;
    this.port = Number(hp.port ?? 443);
    this.scheme = secure ? 'https' : 'http';
  }

  /**
   * Starts a unary call of `path` with the serialized request `message`. Returns a function that
   * cancels it (RST_STREAM CANCEL, then CANCELLED "Cancelled on client").
   */
  unary(path: string, message: Buffer, metadata: Metadata, deadline: number, listener: UnaryListener): () => void {
    const finite = Number.isFinite(deadline);
    const fields = this.requestFields(path, metadata, deadline);
    if (!fields) {
      process.nextTick(() => listener.onEnd(status(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'), null));
      return () => {};
    }
    const body = Buffer.allocUnsafe(5 + message.length);
    body[0] = 0;
    body.writeUInt32BE(message.length, 1);
    message.copy(body, 5);
    const s = new UnaryStream(fields, body, listener);
    s.deadline = deadline;
    if (finite)
      s.timer = setTimeout(
        () => this.abort(s, status(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded')),
        Math.max(0, deadline - Date.now()),
      );
    this.dispatch(s);
    return () => this.abort(s, status(GrpcCode.CANCELLED, 'Cancelled on client'));
  }

  /**
   * Opens a bidi streaming call of `path` (HEADERS without END_STREAM; grpc-timeout only with a
   * finite `deadline`). Messages written before the connection is up are queued. The stream is
   * dispatched on the next tick, so `listener.onEnd` never runs inside this call.
   */
  bidi(path: string, metadata: Metadata, listener: BidiListener, deadline = Infinity): BidiStream {
    const fields = this.requestFields(path, metadata, deadline);
    const s = new BidiStream(fields ?? [], listener);
    s.abort = (st, err) => this.abort(st, err);
    s.deadline = deadline;
    if (fields && Number.isFinite(deadline)) {
      s.timer = setTimeout(
        () => this.abort(s, status(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded')),
        Math.max(0, deadline - Date.now()),
      );
    }
    process.nextTick(() => {
      if (s.done) return;
      if (fields) this.dispatch(s);
      else s.fail(status(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    });
    return s;
  }

  /** The request header fields, or null if `deadline` has passed. */
  private requestFields(path: string, metadata: Metadata, deadline: number): string[] | null {
    const fields = [
      ':method',
      'POST',
      ':scheme',
      this.scheme,
      ':path',
      path,
      ':authority',
      this.address,
      'content-type',
      'application/grpc',
      'te',
      'trailers',
    ];
    if (Number.isFinite(deadline)) {
      const left = deadline - Date.now();
      if (left <= 0) return null;
      fields.push('grpc-timeout', grpcTimeout(left));
    }
    fields.push('user-agent', USER_AGENT);
    for (const name in metadata) if (!RESERVED.has(name)) fields.push(name, metadata[name]!);
    return fields;
  }

  /**
   * Later calls fail at once, calls waiting for a connection fail as never sent, and calls in flight
   * finish (as with grpc-js's close) before the connection closes.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.waiting.splice(0)) s.fail(status(GrpcCode.UNAVAILABLE, 'Channel closed before call started'));
    this.conn?.drain();
    this.conn = null;
  }

  private abort(s: ClientStream, err: CallStatus): void {
    if (s.done) return;
    const i = this.waiting.indexOf(s);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      s.fail(err);
    } else if (s.conn) s.conn.cancel(s, err);
    else s.fail(err);
  }

  /** Starts `s` on the connection (dialing it if needed). Fails it on the next tick when that is impossible now. */
  private dispatch(s: ClientStream): void {
    if (this.closed) {
      process.nextTick(() => s.fail(status(GrpcCode.UNAVAILABLE, 'Channel closed before call started')));
      return;
    }
    const c = this.conn;
    if (c?.usable) {
      c.start(s);
      return;
    }
    if (!this.connecting && Date.now() < this.retryAt) {
      const err = status(GrpcCode.UNAVAILABLE, `No connection established: ${this.lastError}`);
      process.nextTick(() => s.fail(err));
      return;
    }
    this.waiting.push(s);
    if (!this.connecting) this.connect();
  }

  private connect(): void {
    this.connecting = true;
    const { host, port } = this;
    let socket: net.Socket;
    let done = false;
    const fail = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      this.connecting = false;
      this.lastError = reason;
      this.retryAt = Date.now() + this.backoff;
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      for (const s of this.waiting.splice(0))
        s.fail(status(GrpcCode.UNAVAILABLE, `No connection established: ${reason}`));
    };
    const ready = (): void => {
      if (done) return;
      if (this.secure && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
        fail('server did not negotiate h2 (ALPN)');
        return;
      }
      done = true;
      clearTimeout(timer);
      socket.removeListener('error', onError);
      this.connecting = false;
      this.backoff = INITIAL_BACKOFF_MS;
      this.retryAt = 0;
      if (this.closed) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      const conn = new ClientH2Connection(socket, (c, reason) => {
        this.lastError = reason;
        if (this.conn === c) this.conn = null;
      });
      this.conn = conn;
      for (const s of this.waiting.splice(0)) {
        if (conn.usable) conn.start(s);
        else this.dispatch(s);
      }
    };
    const onError = (e: Error): void => fail(e.message);
    if (this.secure) {
      const o = this.tlsOptions;
      const servername = o?.serverName ?? (net.isIP(host) ? undefined : host);
      socket = tls.connect(
        { host, port, ca: o?.ca, cert: o?.cert, key: o?.key, servername, ALPNProtocols: ['h2'] },
        ready,
      );
    } else socket = net.connect({ host, port }, ready);
    socket.once('error', onError);
    socket.once('close', () => fail('Connection closed'));
    const timer = setTimeout(() => fail('connect timeout'), CONNECT_TIMEOUT_MS);
    timer.unref();
  }
}
