// One HTTP/2 request stream on the server side: the request's headers and body in, the response's
// headers, data and trailers out, subject to the client's flow-control windows. A stream sees its
// connection only as a StreamConnection.

import type net from 'node:net';
import type { H2Output } from '@conclave/h2';

/** What a stream needs of its connection (H2Connection implements it). */
export interface StreamConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The connection's socket (a TLSSocket on https listeners). */
  readonly socket: net.Socket;
  /** The connection's frame output (shared by its streams). */
  readonly out: H2Output;
  /** Request bytes held by the streams' consumers changed by `delta` (bounded per connection). */
  adjustBuffered(delta: number): void;
  /** The stream's response is complete (END_STREAM written). */
  streamEnded(s: H2Stream): void;
  /** The stream has data waiting for flow-control window. */
  blocked(s: H2Stream): void;
  /** The stream is gone (reset). */
  closeStream(s: H2Stream): void;
  /** How much a bulk stream (more than QUANTUM queued) may send now. */
  bulkAllowance(): number;
}

/** Queued-but-unsent response bytes above which write() asks the caller to wait for onDrain. */
const HIGH_WATER = 64 * 1024;
/**
 * Fairness quantum: a stream hands at most this much to the connection's output at a time; a
 * stream with more is bulk and takes turns with the others (H2Connection.resumeWaiting), so a
 * small answer never waits behind megabytes another stream queued on the same connection.
 */
export const QUANTUM = 64 * 1024;

const noop = (): void => {};

export class H2Stream {
  /** The client's window for this stream (bytes we may still send). */
  sendWindow: number;
  /** Bytes received since the last WINDOW_UPDATE we sent for this stream. */
  recvUnacked = 0;
  remoteEnded = false;
  /** The response is complete (END_STREAM sent or queued behind data). */
  localEnded = false;
  closed = false;
  /** Response data waiting for flow-control window, oldest first. */
  private queue: Buffer[] = [];
  queuedBytes = 0;
  /** Trailers (or, with null, a bare END_STREAM) to send once the queue is empty. */
  private ending: string[] | null | undefined = undefined;
  private drainWaiters: Array<() => void> | null = null;
  /** Request bytes its consumer holds for an incomplete message (counted per connection). */
  private buffered = 0;

  /** A chunk of the request body. */
  onData: (chunk: Buffer) => void = noop;
  /** The client finished the request body. */
  onEnd: () => void = noop;
  /** The stream is gone: response complete, reset by either side, or connection lost. */
  onClose: () => void = noop;

  constructor(
    readonly conn: StreamConnection,
    readonly id: number,
    /** Request headers, flat: [name0, value0, name1, value1, ...]. */
    readonly headers: string[],
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }

  /**
   * The consumer holds `n` bytes of request data it cannot use yet (an incomplete message). The
   * connection bounds the sum over its streams.
   */
  setBuffered(n: number): void {
    if (n === this.buffered) return;
    this.conn.adjustBuffered(n - this.buffered);
    this.buffered = n;
  }

  /** First value of a request header (lower-case name), or undefined. */
  header(name: string): string | undefined {
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }

  /** Sends the response headers (flat list); with `endStream`, the response ends with them. */
  respond(headers: readonly string[], endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    this.conn.out.headers(this.id, headers, endStream);
    if (endStream) {
      this.localEnded = true;
      this.conn.streamEnded(this);
    }
  }

  /** Sends response data. False when the caller should wait for onDrain before writing more. */
  write(data: Buffer): boolean {
    if (this.closed || this.localEnded) return false;
    if (this.queuedBytes === 0) {
      // Small writes go out at once; a large one sends a quantum now (if the output has room for
      // bulk data, see H2Connection.bulkAllowance) and the rest in turns.
      const out = this.conn.out;
      const max = data.length <= QUANTUM ? QUANTUM : this.conn.bulkAllowance();
      const n = max === 0 ? 0 : out.data(this, data, 0, false, max);
      if (n === data.length) return !out.congested;
      data = data.subarray(n);
    }
    this.queue.push(data);
    this.queuedBytes += data.length;
    this.conn.blocked(this);
    return this.queuedBytes < HIGH_WATER && !this.conn.out.congested;
  }

  /** Ends the response: with trailers, or with a bare END_STREAM when `trailers` is null. */
  end(trailers: string[] | null): void {
    if (this.closed || this.localEnded) return;
    this.localEnded = true;
    if (this.queuedBytes > 0) {
      this.ending = trailers;
      return;
    }
    this.sendEnd(trailers);
  }

  private sendEnd(trailers: string[] | null): void {
    if (trailers) this.conn.out.headers(this.id, trailers, true);
    else this.conn.out.data(this, Buffer.alloc(0), 0, true);
    this.conn.streamEnded(this);
  }

  /** Aborts the stream with RST_STREAM (e.g. CANCEL). */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.out.reset(this.id, code);
    this.conn.closeStream(this);
  }

  /** Calls `cb` once the queued data has gone out and the connection is not congested. */
  onceDrain(cb: () => void): void {
    if (this.closed) return;
    if (this.queuedBytes === 0 && !this.conn.out.congested) {
      queueMicrotask(cb);
      return;
    }
    (this.drainWaiters ??= []).push(cb);
    this.conn.blocked(this);
  }

  /**
   * Sends queued data, up to `max` bytes and as far as the windows allow (the connection calls this
   * when they open or the output drained); returns the number of bytes sent.
   */
  flushQueue(max = Infinity): number {
    let sent = 0;
    while (this.queue.length > 0 && !this.closed) {
      const head = this.queue[0]!;
      const n = this.conn.out.data(this, head, 0, false, max - sent);
      if (n === 0) return sent;
      sent += n;
      this.queuedBytes -= n;
      if (n === head.length) this.queue.shift();
      else {
        this.queue[0] = head.subarray(n);
        return sent;
      }
    }
    if (this.closed) return sent;
    if (this.ending !== undefined) {
      const t = this.ending;
      this.ending = undefined;
      this.sendEnd(t);
    }
    return sent;
  }

  /** True while this stream has queued data or a drain waiter (the connection keeps it listed). */
  get waiting(): boolean {
    return this.queuedBytes > 0 || this.drainWaiters !== null;
  }

  /** Runs drain waiters if nothing is queued and the socket takes more (called by the connection). */
  maybeDrained(): void {
    if (this.queuedBytes > 0 || this.conn.out.congested || !this.drainWaiters) return;
    const ws = this.drainWaiters;
    this.drainWaiters = null;
    for (const w of ws) w();
  }

  /** Marks the stream closed and tells its consumer (the connection removes it from its table). */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.setBuffered(0);
    this.queue = [];
    this.queuedBytes = 0;
    this.drainWaiters = null;
    this.onClose();
  }
}
