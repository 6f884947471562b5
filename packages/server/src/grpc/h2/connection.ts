// The server side of one HTTP/2 connection (RFC 9113), just what gRPC and the JSON gateway need:
// request streams, HPACK, flow control both ways, SETTINGS/PING/GOAWAY/RST_STREAM. node:http2 cost
// ~70 µs of CPU per unary call here (a Duplex per stream, header objects, three writes per
// response); this parses frames straight off the socket and sends everything a turn of the event
// loop produced for a connection in one write (output.ts). This file is the receiving side and the
// stream table.

import type net from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FrameType,
  H2Error,
  H2Output,
  HpackDecoder,
  HpackError,
  MAX_WINDOW,
  PREFACE,
  Setting,
} from '@conclave/h2';
import {
  DEFAULT_LIMITS,
  emptyFrameLimit,
  type H2Limits,
  pingLimit,
  type RateLimit,
  resetLimit,
  settingsLimit,
} from './limits.js';
import { KeepalivePinger, type KeepaliveOptions, PingPolicy, TOO_MANY_PINGS } from './keepalive.js';
import { malformedRequest } from './request-headers.js';
import { H2Stream, QUANTUM, type StreamConnection } from './stream.js';

/** Our SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on one stream before we acknowledge. */
const STREAM_WINDOW = 1 << 20;
/** The connection-level receive window we open at start (shared by all streams). */
const CONN_WINDOW = 16 << 20;
/** SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size of a request's headers we accept (RFC 9113 §6.5.2). */
export const MAX_HEADER_LIST = 64 << 10;
/** Largest header block (HEADERS + CONTINUATION) we accept before treating the client as abusive. */
const MAX_HEADER_BLOCK = 4 * MAX_HEADER_LIST;
/** Streams one read may open before the rest of it waits for the next turn of the event loop. */
const STREAMS_PER_TURN = 64;
/** CONTINUATION frames per header block (empty ones would otherwise pile up without growing the size). */
const MAX_CONTINUATIONS = 256;
/**
 * Connection window bulk streams leave unused, so that a small answer goes at once even while bulk
 * data has spent the rest of the client's window (grpc-js opens only 64 KiB per connection). A
 * client that grants more only once the window is spent gets it after RESERVE_WAIVE_MS.
 */
const BULK_RESERVE = 16 * 1024;
const RESERVE_WAIVE_MS = 500;

export interface H2ConnectionOptions {
  /** A request's headers are complete: attach to the stream's callbacks synchronously. */
  onStream: (stream: H2Stream) => void;
  /** The connection closed (after all its streams were closed). May run inside the constructor. */
  onClose?: (conn: H2Connection) => void;
  /** A bug surfaced while handling input (the stream or connection concerned was closed): for the log. */
  onError?: (err: unknown) => void;
  limits?: H2Limits;
  /** grpc-go's server keepalive (ping enforcement, server pings); none when absent. */
  keepalive?: KeepaliveOptions;
}

/** The server's keepalive PING payload (grpc-go's: 8 zero bytes). */
const KEEPALIVE_PING = Buffer.alloc(8);

class ConnectionError extends Error {
  constructor(
    readonly code: H2Error,
    message: string,
    /** GOAWAY debug data. */
    readonly debug?: Uint8Array,
  ) {
    super(message);
  }
}

export class H2Connection implements StreamConnection {
  /** The sending side: streams write their headers, data and resets through it. */
  readonly out: H2Output;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2Stream>();
  /** Streams with response data waiting for window or a drain waiter. */
  private readonly waiting = new Set<H2Stream>();
  /** An incomplete frame from the last read (allocated at the frame's size) and how much of it arrived. */
  private partial: Buffer | null = null;
  private partialLen = 0;
  /** Streams opened while handling the current read (see STREAMS_PER_TURN). */
  private openedThisTurn = 0;
  /** Part of a read waits for the next turn (defer()); the socket is not read until it is handled. */
  private deferring = false;
  /** Reading is paused until the output drains (see onData). */
  private paused = false;
  /** Request bytes all streams' consumers hold for incomplete messages. */
  private buffered = 0;
  private readonly limits: H2Limits;
  private readonly pings = pingLimit();
  private readonly settingsFrames = settingsLimit();
  private readonly resets = resetLimit();
  private readonly emptyFrames = emptyFrameLimit();
  private readonly pingPolicy: PingPolicy | null;
  private pinger: KeepalivePinger | null = null;
  /** performance.now() of the last read from the client (the keepalive pinger's evidence of life). */
  private lastReadAt = performance.now();
  private prefaceSeen = 0;
  /** The client's first frame (which must be SETTINGS, RFC 9113 §3.4) has arrived. */
  private settingsSeen = false;
  private lastStreamId = 0;
  /** A header block waiting for its CONTINUATION frames. */
  private pendingBlock: { streamId: number; endStream: boolean; parts: Buffer[]; size: number } | null = null;
  private peerInitialWindow = DEFAULT_WINDOW;
  private recvUnacked = 0;
  /** Bulk streams may use the whole connection window (see BULK_RESERVE); timer that waives it. */
  private reserveWaived = false;
  private waiveTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** PING payloads to acknowledge in the next loop turn (deferPingAck). */
  private pingAcks: Buffer[] = [];
  /** GOAWAY NO_ERROR sent (drain()): no new streams; the connection closes with its last stream. */
  private draining = false;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    readonly socket: net.Socket,
    head: Buffer | null,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.pingPolicy = opts.keepalive ? new PingPolicy(opts.keepalive) : null;
    this.out = new H2Output(socket, () => {
      if (this.waiting.size > 0) this.resumeWaiting();
      if (this.paused && !this.out.congested && !this.closed) {
        this.paused = false;
        if (!this.deferring) this.socket.resume();
      }
    });
    this.out.preface(
      [
        [Setting.MAX_CONCURRENT_STREAMS, this.limits.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
      ],
      CONN_WINDOW,
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.onSocketClose());
    if (head && head.length > 0) this.onData(head);
    if (opts.keepalive && !this.closed) {
      this.pinger = new KeepalivePinger(opts.keepalive, {
        lastRead: () => this.lastReadAt,
        sendPing: () => this.out.ping(KEEPALIVE_PING),
        kill: () => this.destroy(),
      });
    }
    if (!this.paused && !this.deferring) socket.resume();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the connection at once (server shutdown). */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Graceful shutdown (RFC 9113 §6.8): GOAWAY NO_ERROR naming the last stream we took; streams the
   * client opens after that are ignored (it retries them elsewhere); the connection closes once its
   * open streams have ended.
   */
  drain(): void {
    if (this.closed || this.draining) return;
    this.draining = true;
    this.out.goAway(this.lastStreamId, H2Error.NO_ERROR, false);
    this.closeIfDrained();
  }

  private closeIfDrained(): void {
    if (!this.draining || this.closed || this.streams.size > 0) return;
    // Written at the end of this turn (the last streams' trailers may still be in the buffer).
    setImmediate(() => {
      this.out.flush();
      this.out.close();
      this.socket.end();
      this.onSocketClose();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReadAt = performance.now();
    let off = 0;
    try {
      if (this.prefaceSeen < PREFACE.length) {
        const n = Math.min(PREFACE.length - this.prefaceSeen, chunk.length);
        if (chunk.compare(PREFACE, this.prefaceSeen, this.prefaceSeen + n, 0, n) !== 0)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface');
        this.prefaceSeen += n;
        off = n;
      }
      if (this.partial !== null) off = this.fillPartial(chunk, off);
      const b = chunk;
      this.openedThisTurn = 0;
      while (b.length - off >= 9 && !this.closed) {
        if (this.openedThisTurn >= STREAMS_PER_TURN) {
          // Fairness: one read that opens many streams does not hold the event loop; the rest of
          // it is handled on a later turn, after other connections and timers had theirs.
          this.defer(b.subarray(off));
          return;
        }
        const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
        if (len > DEFAULT_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
        if (b.length - off - 9 < len) break;
        const type = b[off + 3]!;
        const flags = b[off + 4]!;
        const sid = b.readUInt32BE(off + 5) & 0x7fffffff;
        const payload = b.subarray(off + 9, off + 9 + len);
        off += 9 + len;
        this.onFrame(type, flags, sid, payload);
      }
      if (off < b.length && !this.closed) this.keepPartial(b, off);
    } catch (e) {
      // Last resort: nothing read from a socket may throw out of here (it would end the process).
      if (e instanceof ConnectionError) this.goAway(e.code, e.debug);
      else {
        this.opts.onError?.(e);
        this.goAway(H2Error.INTERNAL_ERROR);
      }
      return;
    }
    // Backpressure: a client that sends faster than it reads what that produces (PING acks,
    // answers to a flood of requests) is not read from until its socket drains.
    if (this.out.congested && !this.paused && !this.closed) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Handles `rest` on the next turn; the socket is not read meanwhile. */
  private defer(rest: Buffer): void {
    this.deferring = true;
    this.socket.pause();
    setImmediate(() => {
      this.deferring = false;
      if (this.closed) return;
      this.onData(rest);
      if (!this.paused && !this.deferring && !this.closed) this.socket.resume();
    });
  }

  /**
   * Keeps the start of an incomplete frame, in a buffer of the whole frame's size once its length is
   * known: a frame trickling in over many small reads is copied once, not once per read.
   */
  private keepPartial(b: Buffer, off: number): void {
    const n = b.length - off;
    let size = 9;
    if (n >= 9) size = 9 + ((b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!);
    const buf = Buffer.allocUnsafe(size);
    b.copy(buf, 0, off);
    this.partial = buf;
    this.partialLen = n;
  }

  /** Completes the incomplete frame from `chunk`; returns the offset after what it took. */
  private fillPartial(chunk: Buffer, off: number): number {
    let buf = this.partial!;
    if (this.partialLen < 9) {
      const take = Math.min(9 - this.partialLen, chunk.length - off);
      chunk.copy(buf, this.partialLen, off, off + take);
      this.partialLen += take;
      off += take;
      if (this.partialLen < 9) return off;
      const len = (buf[0]! << 16) | (buf[1]! << 8) | buf[2]!;
      if (len > DEFAULT_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes`);
      const whole = Buffer.allocUnsafe(9 + len);
      buf.copy(whole, 0, 0, 9);
      this.partial = buf = whole;
    }
    const take = Math.min(buf.length - this.partialLen, chunk.length - off);
    chunk.copy(buf, this.partialLen, off, off + take);
    this.partialLen += take;
    off += take;
    if (this.partialLen < buf.length) return off;
    this.partial = null;
    this.onFrame(buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff, buf.subarray(9));
    return off;
  }

  private onFrame(type: number, flags: number, sid: number, p: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== FrameType.SETTINGS || flags & Flag.ACK)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'the connection preface must end with SETTINGS');
      this.settingsSeen = true;
    }
    if (this.pendingBlock && (type !== FrameType.CONTINUATION || sid !== this.pendingBlock.streamId)) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case FrameType.DATA:
        return this.onDataFrame(flags, sid, p);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, sid, p);
      case FrameType.CONTINUATION: {
        const pb = this.pendingBlock;
        if (!pb) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'unexpected CONTINUATION');
        if (p.length === 0 && !(flags & Flag.END_HEADERS)) this.calm(this.emptyFrames, 'empty CONTINUATION frames');
        pb.parts.push(p);
        pb.size += p.length;
        if (pb.size > MAX_HEADER_BLOCK || pb.parts.length > MAX_CONTINUATIONS)
          throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
        if (flags & Flag.END_HEADERS) {
          this.pendingBlock = null;
          this.onHeaderBlock(pb.streamId, Buffer.concat(pb.parts), pb.endStream);
        }
        return;
      }
      case FrameType.PRIORITY:
        if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        return;
      case FrameType.RST_STREAM: {
        if (sid === 0 || p.length !== 4)
          throw new ConnectionError(sid === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'bad RST_STREAM');
        const s = this.streams.get(sid);
        if (s) {
          // Rapid reset: a stream reset before its answer is work thrown away.
          if (!s.localEnded) this.calm(this.resets, 'too many streams reset');
          this.closeStream(s);
        } else if (sid > this.lastStreamId && !this.draining)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        return;
      }
      case FrameType.SETTINGS:
        return this.onSettings(flags, sid, p);
      case FrameType.PING:
        if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (p.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING length');
        if (!(flags & Flag.ACK)) {
          // A PING after stream frames we sent is a client measuring the connection (grpc-go's BDP
          // estimator sends one per burst of DATA it receives, thousands a second on a fast stream):
          // only PINGs after which we sent nothing count against the flood limit, as grpc-go's server
          // counts its ping strikes. (Their acks still wait on the socket like any output.)
          const sent = this.out.streamFramesSent;
          this.out.streamFramesSent = false;
          if (!sent) this.calm(this.pings, 'too many PINGs');
          if (this.pingPolicy) {
            if (!this.pingPolicy.onPing(performance.now(), this.streams.size, sent)) {
              // the ack first, as grpc-go: the client sees its PING answered, then the GOAWAY
              this.out.pingAck(p);
              throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'too many pings', TOO_MANY_PINGS);
            }
          }
          this.deferPingAck(p);
        }
        return;
      case FrameType.GOAWAY:
        if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        // The client stops opening streams; it closes the connection when it is done.
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(sid, p);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        return; // unknown frame types are ignored
    }
  }

  /**
   * Acknowledges a client PING in the next loop turn instead of this one. grpc-go clients send a
   * PING (their BDP estimate) with most requests on a quiet connection, in the same read as the
   * request. Acknowledged at once, the ack left in a socket write of its own, in this turn's output
   * flush, which runs before the member's Ready loop (whose turn was scheduled later, by the request):
   * one more write and a wake-up of the client ahead of the WAL write of every 1-client put (strace:
   * 2 socket writes per put). Deferred, the ack joins the answer's write (the answer is flushed in the
   * next turn too). The ack is still sent (RFC 9113 asks it be sent promptly; one loop turn is that).
   */
  private deferPingAck(payload: Buffer): void {
    if (this.pingAcks.push(Buffer.from(payload)) > 1) return;
    setImmediate(() => {
      const acks = this.pingAcks;
      this.pingAcks = [];
      if (this.closed) return;
      for (const a of acks) this.out.pingAck(a);
    });
  }

  private onDataFrame(flags: number, sid: number, p: Buffer): void {
    if (sid === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    // The whole frame, padding included, counts against both windows.
    this.recvUnacked += p.length;
    if (this.recvUnacked > CONN_WINDOW)
      throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window exceeded');
    if (this.recvUnacked >= CONN_WINDOW / 4) {
      this.out.windowUpdate(0, this.recvUnacked);
      this.recvUnacked = 0;
    }
    let data = p;
    if (flags & Flag.PADDED) {
      const pad = p[0] ?? 0;
      if (p.length === 0 || pad >= p.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad padding');
      data = p.subarray(1, p.length - pad);
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    if (p.length === 0 && !end) this.calm(this.emptyFrames, 'empty DATA frames');
    const s = this.streams.get(sid);
    if (!s) {
      if (sid > this.lastStreamId && !this.draining)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we already closed: the data is dropped
    }
    if (s.remoteEnded) {
      this.out.reset(sid, H2Error.STREAM_CLOSED);
      this.closeStream(s);
      return;
    }
    if (!end) {
      s.recvUnacked += p.length;
      if (s.recvUnacked > STREAM_WINDOW) {
        this.out.reset(sid, H2Error.FLOW_CONTROL_ERROR);
        this.closeStream(s);
        return;
      }
      if (s.recvUnacked >= STREAM_WINDOW / 4) {
        this.out.windowUpdate(sid, s.recvUnacked);
        s.recvUnacked = 0;
      }
    }
    // Marked ended before the data is handed over: a handler that answers at once must see the
    // request complete (or it would reset a stream the client already closed).
    if (end) s.remoteEnded = true;
    if (data.length > 0) {
      s.onData(data);
      if (this.buffered > this.limits.maxBufferedBytes && !s.closed) {
        // This stream's incomplete message would take the connection past its budget.
        this.out.reset(sid, H2Error.ENHANCE_YOUR_CALM);
        this.closeStream(s);
        return;
      }
    }
    if (end && !s.closed) this.remoteEnd(s);
  }

  private onHeadersFrame(flags: number, sid: number, p: Buffer): void {
    if (sid === 0 || (sid & 1) === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${sid}`);
    let start = 0;
    let end = p.length;
    if (flags & Flag.PADDED) {
      const pad = p[0] ?? 0;
      start = 1;
      end -= pad;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad HEADERS padding');
    const block = p.subarray(start, end);
    if (block.length === 0 && !(flags & Flag.END_HEADERS)) this.calm(this.emptyFrames, 'empty HEADERS frames');
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) this.onHeaderBlock(sid, block, endStream);
    else this.pendingBlock = { streamId: sid, endStream, parts: [Buffer.from(block)], size: block.length };
  }

  private onHeaderBlock(sid: number, block: Buffer, endStream: boolean): void {
    let headers: string[];
    try {
      // Decoded even for a stream we refuse: the HPACK table must stay in step with the client's.
      headers = this.decoder.decode(block, MAX_HEADER_LIST);
    } catch (e) {
      if (e instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, e.message);
      throw e;
    }
    if (this.decoder.oversized) return this.refuseOversized(sid, endStream);
    const existing = this.streams.get(sid);
    if (existing) {
      // Trailers from the client: they must end the stream.
      if (!endStream || existing.remoteEnded)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS without END_STREAM on an open stream');
      if (malformedRequest(headers, true) !== null) {
        this.out.reset(sid, H2Error.PROTOCOL_ERROR);
        this.closeStream(existing);
        return;
      }
      this.remoteEnd(existing);
      return;
    }
    // A stream we closed (e.g. answered and reset while the client was still sending): frames that
    // were in flight are ignored (RFC 9113 §5.1); the block was decoded to keep HPACK in step.
    if (sid <= this.lastStreamId || this.draining) return;
    this.lastStreamId = sid;
    if (this.streams.size >= this.limits.maxConcurrentStreams) {
      // RFC 9113 §5.1.2: beyond SETTINGS_MAX_CONCURRENT_STREAMS; the client may retry it later.
      this.calm(this.resets, 'too many streams refused');
      this.out.reset(sid, H2Error.REFUSED_STREAM);
      return;
    }
    if (malformedRequest(headers, false) !== null) {
      // RFC 9113 §8.1.1: a malformed request is a stream error; it counts as a refused stream.
      this.calm(this.resets, 'too many malformed requests');
      this.out.reset(sid, H2Error.PROTOCOL_ERROR);
      return;
    }
    this.openedThisTurn++;
    const s = new H2Stream(this, sid, headers, this.peerInitialWindow);
    this.streams.set(sid, s);
    this.opts.onStream(s);
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  /**
   * Headers beyond MAX_HEADER_LIST: a new request gets 431 (RFC 9113 §10.5.1) without reaching a
   * handler; oversized trailers reset their stream.
   */
  private refuseOversized(sid: number, endStream: boolean): void {
    const existing = this.streams.get(sid);
    if (existing) {
      this.out.reset(sid, H2Error.PROTOCOL_ERROR);
      this.closeStream(existing);
      return;
    }
    if (sid <= this.lastStreamId) return;
    this.lastStreamId = sid;
    this.out.headers(sid, [':status', '431'], true);
    if (!endStream) this.out.reset(sid, H2Error.NO_ERROR);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.onEnd();
    // The response may already be complete (e.g. an error answered before the body arrived).
    if (s.localEnded && !s.waiting && !s.closed) this.closeStream(s);
  }

  private onSettings(flags: number, sid: number, p: Buffer): void {
    if (sid !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (p.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ack with payload');
      return;
    }
    if (p.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS length');
    this.calm(this.settingsFrames, 'too many SETTINGS');
    let grew = false;
    for (let i = 0; i < p.length; i += 6) {
      const id = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.out.setHeaderTableSize(Math.min(v, 4096));
          break;
        case Setting.ENABLE_PUSH:
          if (v > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH');
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE');
          const delta = v - this.peerInitialWindow;
          this.peerInitialWindow = v;
          for (const s of this.streams.values()) s.sendWindow += delta;
          if (delta > 0) grew = true;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (v < DEFAULT_MAX_FRAME || v > 16_777_215)
            throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'MAX_FRAME_SIZE');
          this.out.maxFrame = v;
          break;
        default:
          break; // MAX_CONCURRENT_STREAMS (we open none), MAX_HEADER_LIST_SIZE, unknown ids
      }
    }
    // The ack goes out before any DATA sized to a larger window: clients (nghttp2) apply the new
    // initial window only once they see the ack, and count earlier DATA against the old one.
    this.out.settingsAck();
    if (grew) this.resumeWaiting();
  }

  private onWindowUpdate(sid: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const inc = p.readUInt32BE(0) & 0x7fffffff;
    if (sid === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.out.sendWindow += inc;
      if (this.out.sendWindow > MAX_WINDOW)
        throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow');
      this.reserveWaived = false;
      this.resumeWaiting();
      return;
    }
    const s = this.streams.get(sid);
    if (!s) {
      if (sid > this.lastStreamId && !this.draining)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.out.reset(sid, inc === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
      this.closeStream(s);
      return;
    }
    s.sendWindow += inc;
    if (!s.waiting) return;
    if (s.queuedBytes <= QUANTUM) this.resumeStream(s);
    else this.serveBulk(s);
  }

  /** A frame that does no work, beyond its rate: the client is told to calm down and disconnected. */
  private calm(limit: RateLimit, what: string): void {
    if (!limit.take()) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, what);
  }

  // ---- stream lifecycle (called by streams) ----

  /** A stream's consumer holds `delta` more (or fewer) request bytes for an incomplete message. */
  adjustBuffered(delta: number): void {
    this.buffered += delta;
  }

  /** The stream's response is complete (END_STREAM written). */
  streamEnded(s: H2Stream): void {
    if (s.closed) return;
    // A gRPC server that is done tells a client still sending to stop (RST_STREAM NO_ERROR), as
    // grpc-go does; the stream is closed either way.
    if (!s.remoteEnded) this.out.reset(s.id, H2Error.NO_ERROR);
    this.closeStream(s);
  }

  closeStream(s: H2Stream): void {
    if (s.closed) return;
    this.streams.delete(s.id);
    this.waiting.delete(s);
    s.markClosed();
    if (this.draining) this.closeIfDrained();
  }

  /** The stream has queued data or waits for drain: keep it listed until that is resolved. */
  blocked(s: H2Stream): void {
    this.waiting.add(s);
  }

  private resumeStream(s: H2Stream): void {
    s.flushQueue();
    s.maybeDrained();
    if (!s.waiting || s.closed) this.waiting.delete(s);
  }

  /** How much a bulk stream (more than a quantum queued) may send now. */
  bulkAllowance(): number {
    const out = this.out;
    if (!out.bulkRoom) return 0;
    return Math.max(0, Math.min(QUANTUM, out.sendWindow - (this.reserveWaived ? 0 : BULK_RESERVE)));
  }

  /** One turn of a bulk stream: a quantum of its data, then to the back of the line. */
  private serveBulk(s: H2Stream): number {
    const max = this.bulkAllowance();
    const n = max > 0 ? s.flushQueue(max) : 0;
    s.maybeDrained();
    this.waiting.delete(s);
    if (s.waiting && !s.closed) this.waiting.add(s);
    return n;
  }

  /**
   * The windows opened or the output drained: streams with little queued (a unary answer, a
   * keep-alive) go first and whole; then the bulk streams take turns of a quantum each until the
   * output is congested again or the connection window is spent. A stream served goes to the back
   * of the line, so every bulk stream progresses and none can hold the others back.
   */
  private resumeWaiting(): void {
    const out = this.out;
    let bulk = 0;
    for (const s of [...this.waiting]) {
      if (s.queuedBytes > QUANTUM) bulk++;
      else if (out.sendWindow > 0 || s.queuedBytes === 0) this.resumeStream(s);
    }
    while (bulk > 0 && this.bulkAllowance() > 0 && !this.closed) {
      let progressed = false;
      for (const s of [...this.waiting]) {
        if (s.queuedBytes <= QUANTUM && s.queuedBytes > 0) continue;
        if (this.serveBulk(s) > 0) progressed = true;
        if (this.bulkAllowance() === 0) break;
      }
      if (!progressed) break;
      bulk = 0;
      for (const s of this.waiting) if (s.queuedBytes > 0) bulk++;
    }
    // Bulk data waits only on the reserve: if the client grants nothing more for a while, use it.
    if (bulk > 0 && !this.reserveWaived && this.waiveTimer === null && out.bulkRoom && out.sendWindow > 0) {
      this.waiveTimer = setTimeout(() => {
        this.waiveTimer = null;
        if (this.closed) return;
        this.reserveWaived = true;
        this.resumeWaiting();
      }, RESERVE_WAIVE_MS);
      this.waiveTimer.unref();
    }
  }

  /** Connection error: GOAWAY with `code` (and debug data), then close. */
  private goAway(code: H2Error, debug?: Uint8Array): void {
    if (this.closed) return;
    this.out.goAway(this.lastStreamId, code, true, debug);
    // Nothing more is read: a flooding client's remaining frames cost nothing.
    this.socket.pause();
    this.socket.end();
    this.onSocketClose();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiveTimer) clearTimeout(this.waiveTimer);
    this.pinger?.stop();
    this.out.close();
    this.partial = null;
    const all = [...this.streams.values()];
    this.streams.clear();
    this.waiting.clear();
    for (const s of all) s.markClosed();
    this.opts.onClose?.(this);
  }
}
