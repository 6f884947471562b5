// The client side of one HTTP/2 connection, for unary gRPC calls (opened with the whole request)
// and long-lived bidi calls (the Watch stream: messages written over time); both are closed by the
// response's trailers. Frames are parsed straight off the socket; all
// frames produced in one event-loop turn leave in one write (H2Output, shared with the server).

import { GrpcCode } from '@conclave/api';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FrameType,
  H2Error,
  H2Output,
  HpackDecoder,
  MAX_WINDOW,
  Setting,
} from '@conclave/h2';
import type net from 'node:net';
import { statusForReset } from './status.js';
import type { ClientStream } from './h2-unary.js';
import { type CallStatus, status } from './transport.js';

/** Our SETTINGS_INITIAL_WINDOW_SIZE: response bytes a server may send on one stream before we acknowledge. */
const STREAM_WINDOW = 4 << 20;
/** The connection-level receive window opened at start. */
const CONN_WINDOW = 16 << 20;
const MAX_STREAM_ID = 2 ** 31 - 1;
/**
 * Keepalive while streams are open. A long-lived stream alone (a silent watch) gets a PING after
 * KEEPALIVE_MS without a frame from the server, as often as etcd's server allows (a watch waiting on
 * a paused member moves to another in about 10 s, not 15 s as with grpc-js's 10 s + 5 s). A unary
 * call waiting for its answer on a connection silent for PROBE_AFTER_MS gets one sooner (a paused or
 * hung server is found in seconds, not after the call's deadline), at most every PING_INTERVAL_MS
 * (etcd's server refuses pings closer than 5 s). No answer within KEEPALIVE_TIMEOUT_MS and the
 * connection is dropped, failing its calls as UNAVAILABLE; a PING still unanswered when the last
 * call ends (its deadline passed) is still waited for.
 */
const KEEPALIVE_MS = 5_500;
const PROBE_AFTER_MS = 1_000;
const PING_INTERVAL_MS = 5_500;
const KEEPALIVE_TIMEOUT_MS = 5_000;
const CHECK_MS = 500;
const PING_PAYLOAD = Buffer.from('conclave');

export class ClientH2Connection {
  private readonly out: H2Output;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, ClientStream>();
  /** Streams whose request data waits for send window. */
  private readonly blocked = new Set<ClientStream>();
  /** Streams beyond the server's MAX_CONCURRENT_STREAMS, waiting for others to end. */
  private readonly queued: ClientStream[] = [];
  private rest: Buffer | null = null;
  private nextId = 1;
  private peerInitialWindow = DEFAULT_WINDOW;
  private maxConcurrent = Infinity;
  private connUnacked = 0;
  /** A header block waiting for CONTINUATION frames. */
  private pending: { id: number; endStream: boolean; parts: Buffer[] } | null = null;
  /** GOAWAY received, stream ids used up or the channel closed: no new streams here. */
  draining = false;
  closed = false;
  private lastFrameAt = Date.now();
  private pingSentAt = 0;
  private lastPingAt = 0;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    /** Runs once when the connection is closed (by either side); `reason` describes why. */
    private readonly onClose: (conn: ClientH2Connection, reason: string) => void,
  ) {
    this.out = new H2Output(socket, () => this.resume());
    this.out.clientPreface(STREAM_WINDOW, CONN_WINDOW);
    this.out.flush();
    socket.unref();
    socket.on('data', (b: Buffer) => this.onBytes(b));
    socket.on('error', (e: Error) => this.close(e.message));
    socket.on('close', () => this.close('Connection dropped'));
  }

  /** May take new streams. */
  get usable(): boolean {
    return !this.closed && !this.draining;
  }

  /** Opens a stream for `s` (or queues it behind the server's concurrency limit). */
  start(s: ClientStream): void {
    s.conn = this;
    if (this.streams.size >= this.maxConcurrent) {
      this.queued.push(s);
      return;
    }
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > MAX_STREAM_ID) this.draining = true;
    s.id = id;
    s.sendWindow = this.peerInitialWindow;
    // Like grpc-js, an idle connection does not keep the process alive; one with an open stream
    // (a call in flight, an open watch) does.
    if (this.streams.size === 0) {
      this.socket.ref();
      // an idle connection's silence does not count; an unanswered PING still does
      if (this.pingSentAt === 0) this.lastFrameAt = Date.now();
      this.keepalive ??= setInterval(() => this.checkAlive(), CHECK_MS).unref();
    }
    this.streams.set(id, s);
    this.out.headers(id, s.fields, false);
    this.send(s);
  }

  /** Ends a stream from our side (deadline or cancel): RST_STREAM CANCEL, then `err`. */
  cancel(s: ClientStream, err: CallStatus): void {
    if (s.done) return;
    const q = this.queued.indexOf(s);
    if (q >= 0) this.queued.splice(q, 1);
    else if (this.streams.get(s.id) === s) {
      this.out.reset(s.id, H2Error.CANCEL);
      this.forget(s);
    }
    s.fail(err);
  }

  /** A paused stream resumed: give back the receive window it kept. */
  resumeStream(s: ClientStream): void {
    if (this.closed || this.streams.get(s.id) !== s || s.recvUnacked === 0) return;
    this.out.windowUpdate(s.id, s.recvUnacked);
    s.recvUnacked = 0;
  }

  /** No new streams; closes once the streams in flight have ended. */
  drain(): void {
    this.draining = true;
    if (this.streams.size === 0 && this.queued.length === 0) this.close('Connection drained');
  }

  /** Runs while streams are open: pings a silent server, drops a connection whose ping went unanswered. */
  private checkAlive(): void {
    const now = Date.now();
    if (this.pingSentAt > 0) {
      if (this.lastFrameAt >= this.pingSentAt) this.pingSentAt = 0;
      else if (now - this.pingSentAt >= KEEPALIVE_TIMEOUT_MS) {
        this.close('Keepalive timeout: no answer to PING');
        return;
      }
    }
    if (this.pingSentAt !== 0) return;
    if (this.streams.size === 0) {
      this.stopKeepalive();
      return;
    }
    const silence = now - this.lastFrameAt;
    const probe = silence >= PROBE_AFTER_MS && now - this.lastPingAt >= PING_INTERVAL_MS && this.awaitingAnswer();
    if (silence >= KEEPALIVE_MS || probe) {
      this.pingSentAt = now;
      this.lastPingAt = now;
      this.out.ping(PING_PAYLOAD);
    }
  }

  /** Whether a unary call is waiting for its answer. */
  private awaitingAnswer(): boolean {
    for (const s of this.streams.values()) if (s.awaitsAnswer) return true;
    return false;
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
    this.pingSentAt = 0;
  }

  /** Fails every stream and closes the socket. */
  close(reason: string, code: number = GrpcCode.UNAVAILABLE): void {
    if (this.closed) return;
    this.closed = true;
    this.stopKeepalive();
    this.out.close();
    this.socket.destroy();
    const streams = [...this.streams.values(), ...this.queued];
    this.streams.clear();
    this.blocked.clear();
    this.queued.length = 0;
    for (const s of streams) s.fail(status(code, reason));
    this.onClose(this, reason);
  }

  private send(s: ClientStream): void {
    if (s.pump(this.out)) this.blocked.delete(s);
    else this.blocked.add(s);
  }

  /** A bidi stream has new request data (or half-closed): send what the windows allow. */
  flushStream(s: ClientStream): void {
    if (!this.closed && this.streams.get(s.id) === s) this.send(s);
  }

  /** Send window opened or output drained: go on with blocked request bodies. */
  private resume(): void {
    if (this.blocked.size === 0 || this.out.congested) return;
    for (const s of this.blocked) {
      if (this.out.sendWindow <= 0 || this.out.congested) break;
      if (s.sendWindow > 0) this.send(s);
    }
  }

  private forget(s: ClientStream): void {
    this.streams.delete(s.id);
    this.blocked.delete(s);
    while (this.queued.length > 0 && this.streams.size < this.maxConcurrent && !this.closed)
      this.start(this.queued.shift()!);
    if (this.streams.size === 0) {
      this.socket.unref();
      // a PING still unanswered is waited for: the calls that timed out on a paused server must not
      // take the evidence with them, or each next call waits for its whole deadline again
      if (this.pingSentAt === 0) this.stopKeepalive();
    }
    if (this.draining && this.streams.size === 0 && this.queued.length === 0) this.close('Connection drained');
  }

  private onBytes(chunk: Buffer): void {
    this.lastFrameAt = Date.now();
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let p = 0;
    try {
      while (b.length - p >= 9 && !this.closed) {
        const len = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
        if (b.length - p < 9 + len) break;
        const type = b[p + 3]!;
        const flags = b[p + 4]!;
        const id = b.readUInt32BE(p + 5) & 0x7fffffff;
        this.onFrame(type, flags, id, b.subarray(p + 9, p + 9 + len));
        p += 9 + len;
      }
    } catch (e) {
      this.out.goAway(0, H2Error.PROTOCOL_ERROR);
      this.close(`Protocol error: ${(e as Error).message}`, GrpcCode.INTERNAL);
      return;
    }
    if (p < b.length && !this.closed) this.rest = p === 0 ? b : Buffer.from(b.subarray(p));
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.pending && type !== FrameType.CONTINUATION) throw new Error('expected CONTINUATION');
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, id, payload);
      case FrameType.HEADERS: {
        let start = 0;
        let end = payload.length;
        if (flags & Flag.PADDED) end -= payload[start++]!;
        if (flags & Flag.PRIORITY) start += 5;
        if (end < start) throw new Error('bad HEADERS padding');
        const block = payload.subarray(start, end);
        const endStream = (flags & Flag.END_STREAM) !== 0;
        if (flags & Flag.END_HEADERS) this.onHeaderBlock(id, block, endStream);
        else this.pending = { id, endStream, parts: [Buffer.from(block)] };
        return;
      }
      case FrameType.CONTINUATION: {
        const pb = this.pending;
        if (!pb || pb.id !== id) throw new Error('unexpected CONTINUATION');
        pb.parts.push(Buffer.from(payload));
        if (flags & Flag.END_HEADERS) {
          this.pending = null;
          this.onHeaderBlock(id, Buffer.concat(pb.parts), pb.endStream);
        }
        return;
      }
      case FrameType.RST_STREAM: {
        const s = this.streams.get(id);
        if (s && payload.length >= 4) {
          this.forget(s);
          const code = payload.readUInt32BE(0);
          // a server whose copy of the deadline (grpc-timeout) fired before our timer resets the
          // stream with CANCEL (etcd 3.5's Watch does): the call's deadline passed, say so
          if (code === H2Error.CANCEL && Date.now() >= s.deadline)
            s.fail(status(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'));
          else s.fail(statusForReset(code));
        }
        return;
      }
      case FrameType.SETTINGS:
        if (!(flags & Flag.ACK)) this.onSettings(payload);
        return;
      case FrameType.PING:
        if (!(flags & Flag.ACK) && payload.length === 8) this.out.pingAck(payload);
        return;
      case FrameType.GOAWAY:
        return this.onGoAway(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
      case FrameType.WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) this.out.sendWindow += inc;
        else {
          const s = this.streams.get(id);
          if (s) s.sendWindow += inc;
        }
        this.resume();
        return;
      }
      case FrameType.PUSH_PROMISE:
        throw new Error('PUSH_PROMISE with push disabled');
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    const len = payload.length;
    // The whole frame (padding included) counts against both windows; both are given back as read.
    this.connUnacked += len;
    if (this.connUnacked >= CONN_WINDOW / 4) {
      this.out.windowUpdate(0, this.connUnacked);
      this.connUnacked = 0;
    }
    const s = this.streams.get(id);
    if (!s) return;
    let data = payload;
    if (flags & Flag.PADDED) {
      if (len === 0 || payload[0]! >= len) throw new Error('bad DATA padding');
      data = payload.subarray(1, len - payload[0]!);
    }
    s.onData(data);
    if (s.done) return; // ended while reading (a bad message)
    if (flags & Flag.END_STREAM) {
      this.forget(s);
      s.onEndWithoutTrailers();
      return;
    }
    s.recvUnacked += len;
    // a paused stream keeps its window: the server stops sending once it has used it up
    if (s.recvUnacked >= STREAM_WINDOW / 4 && !s.paused) {
      this.out.windowUpdate(id, s.recvUnacked);
      s.recvUnacked = 0;
    }
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    // Always decoded: the HPACK table is shared by every stream, including ones we gave up on.
    const fields = this.decoder.decode(block);
    const s = this.streams.get(id);
    if (!s) return;
    if (s.onFields(fields, endStream)) {
      // An ended call whose stream the server did not end is reset, so the server stops sending.
      if (!endStream) this.out.reset(id, H2Error.CANCEL);
      this.forget(s);
    }
  }

  private onSettings(p: Buffer): void {
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const id = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new Error('INITIAL_WINDOW_SIZE too large');
        const delta = v - this.peerInitialWindow;
        this.peerInitialWindow = v;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        this.out.maxFrame = Math.max(DEFAULT_MAX_FRAME, Math.min(v, (1 << 24) - 1));
      } else if (id === Setting.HEADER_TABLE_SIZE) {
        this.out.setHeaderTableSize(v);
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.maxConcurrent = Math.max(1, v);
      }
    }
    this.out.settingsAck();
    this.resume();
  }

  private onGoAway(lastId: number, code: number): void {
    this.draining = true;
    for (const s of [...this.streams.values()]) {
      if (s.id > lastId) {
        this.forget(s);
        s.fail(status(GrpcCode.UNAVAILABLE, 'Stream refused by server'));
      }
    }
    for (const s of this.queued.splice(0)) s.fail(status(GrpcCode.UNAVAILABLE, 'Stream refused by server'));
    if (this.streams.size === 0)
      this.close(code === H2Error.NO_ERROR ? 'Connection drained' : `GOAWAY with code ${code}`);
  }
}
