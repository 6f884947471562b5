// One long-lived bidirectional gRPC call as an HTTP/2 stream on the endpoint's connection (the
// Watch stream): request messages written over time (queued until the windows let them out),
// response messages parsed as they arrive (a message may span DATA frames, a frame may hold
// several), the status from the trailers. A plain object with callbacks: no EventEmitter.

import { GrpcCode } from '@conclave/api';
import type { H2Output } from '@conclave/h2';
import { statusFromFields } from './status.js';
import type { ClientStream, StreamOwner } from './h2-unary.js';
import { type CallStatus, type StreamCall, type StreamListener, status } from './transport.js';

/** A stream listener that may also look at the response header fields (flat name/value list). */
export interface BidiListener extends StreamListener {
  onHeaders?(fields?: string[]): void;
}

const EMPTY = Buffer.alloc(0);

export class BidiStream implements ClientStream, StreamCall {
  id = 0;
  sendWindow = 0;
  recvUnacked = 0;
  paused = false;
  readonly awaitsAnswer = false;
  done = false;
  timer: NodeJS.Timeout | undefined;
  deadline = Infinity;
  conn: (StreamOwner & { flushStream(s: ClientStream): void; resumeStream(s: ClientStream): void }) | null = null;
  /** Set by the channel: ends the stream from our side wherever it is (waiting to connect, open). */
  abort: (s: BidiStream, err: CallStatus) => void = (s, err) => s.fail(err);
  /** Request messages (with prefix) not yet sent; `qHead` is the first, `qOff` bytes of it are sent. */
  private queue: Buffer[] = [];
  private qHead = 0;
  private qOff = 0;
  private halfClosed = false;
  private endSent = false;
  private head: string[] | null = null;
  /** Response bytes of an incomplete message. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message whose prefix was read, or -1. */
  private msgLen = -1;

  constructor(
    readonly fields: string[],
    private readonly listener: BidiListener,
  ) {}

  get headersReceived(): boolean {
    return this.head !== null;
  }

  /** Queues one request message (serialized, without prefix). Ignored after end() or once the call ended. */
  write(message: Buffer): void {
    if (this.done || this.halfClosed) return;
    const b = Buffer.allocUnsafe(5 + message.length);
    b[0] = 0;
    b.writeUInt32BE(message.length, 1);
    message.copy(b, 5);
    this.queue.push(b);
    if (this.id !== 0) this.conn?.flushStream(this);
  }

  /** Half-closes: END_STREAM after the queued messages. */
  end(): void {
    if (this.done || this.halfClosed) return;
    this.halfClosed = true;
    if (this.id !== 0) this.conn?.flushStream(this);
  }

  /** Stops giving the server receive window: it stops sending once the window is used up. */
  pause(): void {
    this.paused = true;
  }

  /** Gives the kept receive window back. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.id !== 0) this.conn?.resumeStream(this);
  }

  /** RST_STREAM CANCEL; the call ends with CANCELLED "Cancelled on client". */
  cancel(): void {
    if (!this.done) this.abort(this, status(GrpcCode.CANCELLED, 'Cancelled on client'));
  }

  pump(out: H2Output): boolean {
    const q = this.queue;
    while (this.qHead < q.length) {
      const b = q[this.qHead]!;
      const last = this.halfClosed && this.qHead === q.length - 1;
      this.qOff += out.data(this, b, this.qOff, last);
      if (this.qOff < b.length) return false;
      this.qHead++;
      this.qOff = 0;
      if (last) this.endSent = true;
    }
    if (this.qHead > 0) {
      this.queue = [];
      this.qHead = 0;
    }
    if (this.halfClosed && !this.endSent) {
      out.data(this, EMPTY, 0, true);
      this.endSent = true;
    }
    return true;
  }

  onFields(fields: string[], endStream: boolean): boolean {
    if (this.head === null) {
      this.head = fields;
      this.listener.onHeaders?.(fields);
      if (endStream) this.fail(statusFromFields(fields, null));
      return endStream;
    }
    if (!endStream) {
      this.fail(status(GrpcCode.INTERNAL, 'Received malformed trailers'));
      return true;
    }
    const st = statusFromFields(this.head, fields);
    if (st.code === GrpcCode.OK && (this.buffered > 0 || this.msgLen >= 0))
      this.fail(status(GrpcCode.INTERNAL, 'Received a truncated message'));
    else this.fail(st);
    return true;
  }

  onData(data: Buffer): void {
    if (data.length === 0 || this.done) return;
    if (this.buffered === 0 && this.msgLen < 0) {
      // the usual case: whole messages in the frame
      let p = 0;
      while (data.length - p >= 5) {
        if (data[p] !== 0) return this.compressed();
        const len = data.readUInt32BE(p + 1);
        if (data.length - p - 5 < len) break;
        this.listener.onMessage(data.subarray(p + 5, p + 5 + len));
        p += 5 + len;
        if (this.done) return;
      }
      if (p === data.length) return;
      data = data.subarray(p);
    }
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.msgLen < 0) {
        if (this.buffered < 5) return;
        const prefix = this.take(5);
        if (prefix[0] !== 0) return this.compressed();
        this.msgLen = prefix.readUInt32BE(1);
      }
      if (this.buffered < this.msgLen) return;
      const msg = this.take(this.msgLen);
      this.msgLen = -1;
      this.listener.onMessage(msg);
      if (this.done) return;
    }
  }

  onEndWithoutTrailers(): void {
    this.fail(this.head ? statusFromFields(this.head, []) : status(GrpcCode.INTERNAL, 'Stream ended without headers'));
  }

  /** Ends the call with `st` (no-op once ended). */
  fail(st: CallStatus): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.chunks = [];
    this.buffered = 0;
    this.queue = [];
    this.qHead = 0;
    this.listener.onEnd(st);
  }

  private compressed(): void {
    const err = status(GrpcCode.INTERNAL, 'Received a compressed message, but compression is not supported');
    if (this.conn) this.conn.cancel(this, err);
    else this.fail(err);
  }

  /** The first `n` buffered response bytes. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return EMPTY;
    if (first!.length >= n) {
      if (first!.length === n) this.chunks.shift();
      else this.chunks[0] = first!.subarray(n);
      return first!.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - got);
      c.copy(out, got, 0, k);
      got += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
