// One gRPC call on an HTTP/2 stream: request-message framing in, response framing + status out.
// Lean by design (see DESIGN.md: grpc-js's server costs two thirds of the unary throughput here).

import { gunzipSync } from 'node:zlib';
import { GrpcCode, GrpcStatusError, Reader, sharedWriter, type MessageCodec, type PartialMessage } from '@conclave/api';
import type { ServerCall } from './call.js';
import type { H2Stream } from './h2/stream.js';
import { MAX_SEND_BYTES, tooLarge, type BodySource } from './streamed-response.js';

const RESPONSE_HEADERS = [':status', '200', 'content-type', 'application/grpc'] as const;
const OK_TRAILERS = ['grpc-status', '0'];
const EMPTY_FRAME = Buffer.from([0, 0, 0, 0, 0]);
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Percent-encodes a grpc-message value as the gRPC over HTTP/2 spec requires. */
export function encodeGrpcMessage(msg: string): string {
  let ok = true;
  for (let i = 0; i < msg.length; i++) {
    const c = msg.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      ok = false;
      break;
    }
  }
  if (ok) return msg;
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    out +=
      b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** Parses grpc-timeout (1–8 digits and a unit) into ms without a regular expression: it runs per call. */
function parseTimeout(v: string | undefined): number | undefined {
  if (!v || v.length < 2 || v.length > 9) return undefined;
  let n = 0;
  for (let i = 0; i < v.length - 1; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  switch (v[v.length - 1]) {
    case 'H':
      return n * 3_600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return Math.ceil(n / 1000);
    case 'n':
      return Math.ceil(n / 1_000_000);
    default:
      return undefined;
  }
}

/**
 * Counters of one method that its calls bump (go-grpc-prometheus's server families and etcd's client
 * byte counts; the member's metrics/ keeps and exports them).
 */
export interface CallStats {
  started: number;
  msgReceived: number;
  msgSent: number;
  bytesReceived: number;
  bytesSent: number;
  /** Finished calls by gRPC status code (index = code). */
  readonly handled: number[];
  /** Told each call's duration in seconds when it finishes (null: calls are not timed). */
  readonly timing: ((seconds: number) => void) | null;
}

/** Counters for a server without metrics. */
export function newCallStats(timing: ((seconds: number) => void) | null = null): CallStats {
  return {
    started: 0,
    msgReceived: 0,
    msgSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    handled: new Array<number>(17).fill(0),
    timing,
  };
}

/**
 * The server side of one call. Decodes incoming messages with `reqType` and hands them to `onMessage`;
 * sends responses with `send`; finishes with `finish(error?)`.
 */
export class GrpcCall<Req, Res> implements ServerCall<Req, Res> {
  private controller: AbortController | null = null;
  private cancelCallbacks: Array<(reason: unknown) => void> | null = null;
  private cancelReason: unknown = undefined;
  /** The body of a message split across chunks, allocated at its declared size; `partialLen` filled. */
  private partial: Buffer | null = null;
  private partialLen = 0;
  private partialFlag = 0;
  /** A 5-byte message prefix split across chunks. */
  private prefix: Buffer | null = null;
  private prefixLen = 0;
  private headersSent = false;
  private finished = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private readonly startedAt: number;
  onMessage: (req: Req) => void = () => {};
  onHalfClose: () => void = () => {};
  /** Called once when the call ends for any reason (finished, cancelled, connection lost). */
  onDone: () => void = () => {};

  constructor(
    readonly stream: H2Stream,
    private readonly reqType: MessageCodec<Req>,
    private readonly resType: MessageCodec<Res>,
    private readonly maxRecvBytes: number,
    readonly peerCommonName: string | undefined,
    private readonly stats: CallStats = newCallStats(),
  ) {
    stats.started++;
    this.startedAt = stats.timing ? performance.now() : 0;
    const timeout = parseTimeout(stream.header('grpc-timeout'));
    // Beyond setTimeout's range (~24.8 days, e.g. Go's "2592000S") a timer would fire at once: no deadline.
    if (timeout !== undefined && timeout <= MAX_TIMER_MS) {
      this.deadlineTimer = setTimeout(() => {
        this.abort(new GrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, 'context deadline exceeded'));
        this.finish(new GrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, 'context deadline exceeded'));
      }, timeout);
      this.deadlineTimer.unref();
    }
    stream.onData = (chunk) => this.onData(chunk);
    stream.onEnd = () => {
      if (!this.finished) this.onHalfClose();
    };
    stream.onClose = () => {
      if (!this.finished) {
        this.finished = true;
        this.abort(new GrpcStatusError(GrpcCode.CANCELLED, 'context canceled'));
        this.count(GrpcCode.CANCELLED);
        this.cleanup();
      }
    };
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.finished) this.controller.abort();
    }
    return this.controller.signal;
  }

  get peer(): string {
    return `${this.stream.conn.remoteAddress}:${this.stream.conn.remotePort}`;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  metadata(key: string): string | undefined {
    return this.stream.header(key);
  }

  /** Calls `cb` once a congested stream (send returned false) can take more. */
  onDrain(cb: () => void): void {
    this.stream.onceDrain(cb);
  }

  onCancel(cb: (reason: unknown) => void): void {
    if (this.cancelReason !== undefined) {
      cb(this.cancelReason);
      return;
    }
    (this.cancelCallbacks ??= []).push(cb);
  }

  private abort(reason: unknown): void {
    if (this.cancelReason === undefined) {
      this.cancelReason = reason;
      const cbs = this.cancelCallbacks;
      this.cancelCallbacks = null;
      if (cbs) for (const cb of cbs) cb(reason);
    }
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(reason);
  }

  /**
   * Request bytes off the wire, in chunks of any size. A message that arrives whole in one chunk is
   * decoded in place; one split across chunks is copied once into a buffer of its declared size
   * (checked against the limit first), so assembling it costs time linear in its size however small
   * the chunks are.
   */
  private onData(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && !this.finished) {
      const msg = this.partial;
      if (msg !== null) {
        const take = Math.min(msg.length - this.partialLen, n - off);
        chunk.copy(msg, this.partialLen, off, off + take);
        this.partialLen += take;
        off += take;
        if (this.partialLen < msg.length) break;
        this.partial = null;
        this.stream.setBuffered(0);
        this.deliver(this.partialFlag, msg);
        continue;
      }
      let flag: number;
      let len: number;
      if (this.prefixLen === 0 && n - off >= 5) {
        flag = chunk[off]!;
        len = chunk.readUInt32BE(off + 1);
        off += 5;
      } else {
        // A prefix split across chunks.
        const prefix = (this.prefix ??= Buffer.alloc(5));
        const take = Math.min(5 - this.prefixLen, n - off);
        chunk.copy(prefix, this.prefixLen, off, off + take);
        this.prefixLen += take;
        off += take;
        if (this.prefixLen < 5) break;
        this.prefixLen = 0;
        flag = prefix[0]!;
        len = prefix.readUInt32BE(1);
      }
      if (len > this.maxRecvBytes) {
        this.finish(
          new GrpcStatusError(
            GrpcCode.RESOURCE_EXHAUSTED,
            `grpc: received message larger than max (${len} vs. ${this.maxRecvBytes})`,
          ),
        );
        return;
      }
      if (n - off >= len) {
        this.deliver(flag, chunk.subarray(off, off + len));
        off += len;
        continue;
      }
      this.partial = Buffer.allocUnsafe(len);
      this.partialLen = 0;
      this.partialFlag = flag;
      this.stream.setBuffered(len);
    }
  }

  /** One whole message: its compressed flag checked, inflated when gzip'd, decoded, handed over. */
  private deliver(flag: number, body: Buffer): void {
    const wireLen = body.length;
    if (flag !== 0) {
      if (flag !== 1) {
        this.finish(new GrpcStatusError(GrpcCode.INTERNAL, `grpc: received unexpected payload format ${flag}`));
        return;
      }
      if (this.metadata('grpc-encoding') !== 'gzip') {
        // Any other encoding was refused when the call started (grpc-server.ts).
        this.finish(
          new GrpcStatusError(GrpcCode.INTERNAL, 'grpc: compressed flag set with identity or empty encoding'),
        );
        return;
      }
      try {
        // Inflating stops as soon as the output passes the limit: a 2 MB bomb never becomes 2 GB.
        body = gunzipSync(body, { maxOutputLength: this.maxRecvBytes });
      } catch (e) {
        const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        this.finish(
          tooLarge
            ? new GrpcStatusError(
                GrpcCode.RESOURCE_EXHAUSTED,
                `grpc: received message after decompression larger than max ${this.maxRecvBytes}`,
              )
            : new GrpcStatusError(GrpcCode.INTERNAL, `grpc: failed to decompress the message: ${(e as Error).message}`),
        );
        return;
      }
    }
    let req: Req;
    try {
      req = this.reqType.decode(new Reader(body), body.length) as Req;
    } catch (e) {
      this.finish(new GrpcStatusError(GrpcCode.INTERNAL, `grpc: error unmarshalling request: ${(e as Error).message}`));
      return;
    }
    this.stats.msgReceived++;
    this.stats.bytesReceived += wireLen;
    this.onMessage(req);
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS, false);
  }

  /** Sends one response message. Returns false when the stream is congested (wait for onDrain). */
  send(res: PartialMessage<Res>): boolean {
    if (this.finished || this.stream.closed) return false;
    this.sendHeaders();
    // Encoding is synchronous and finish() copies out: the shared writer serves every call.
    const w = sharedWriter(5);
    this.resType.encode(res, w);
    const len = w.pos - 5;
    w.buf[0] = 0;
    w.buf.writeUInt32BE(len, 1);
    this.stats.msgSent++;
    this.stats.bytesSent += len;
    return this.stream.write(w.finish());
  }

  /** Sends a response whose protobuf body is already encoded. */
  sendRaw(body: Uint8Array): boolean {
    if (this.finished || this.stream.closed) return false;
    this.sendHeaders();
    this.stats.msgSent++;
    this.stats.bytesSent += body.length;
    if (body.length === 0) return this.stream.write(EMPTY_FRAME);
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    return this.stream.write(frame);
  }

  /**
   * Sends a message already framed: its 5-byte gRPC prefix, then its protobuf body. The buffer is
   * handed to the stream as it is (no copy), so it must not change until the stream is done with it.
   */
  sendFramed(frame: Buffer): boolean {
    if (this.finished || this.stream.closed) return false;
    this.sendHeaders();
    this.stats.msgSent++;
    this.stats.bytesSent += frame.length - 5;
    return this.stream.write(frame);
  }

  /**
   * Sends one message whose body `src` produces in chunks: the 5-byte prefix, then each chunk once
   * the stream has drained the previous ones (flow control and the socket decide the pace).
   * Resolves when the last chunk is handed to the stream or the call ended early; closes `src`
   * either way. The caller finishes the call.
   */
  async sendStreamed(src: BodySource): Promise<void> {
    try {
      if (this.finished || this.stream.closed) return;
      const size = src.size;
      if (size > MAX_SEND_BYTES) throw tooLarge(size);
      this.sendHeaders();
      const prefix = Buffer.allocUnsafe(5);
      prefix[0] = 0;
      prefix.writeUInt32BE(size, 1);
      let ok = this.stream.write(prefix);
      let wake: (() => void) | null = null;
      this.onCancel(() => wake?.());
      for (;;) {
        if (!ok) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            this.stream.onceDrain(resolve);
          });
          wake = null;
        }
        if (this.finished || this.stream.closed) return;
        const chunk = src.next();
        if (chunk === null) break;
        ok = this.stream.write(chunk);
      }
      this.stats.msgSent++;
      this.stats.bytesSent += size;
    } finally {
      src.close();
    }
  }

  /** Ends the call with OK, or with the given error's status. */
  finish(err?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const stream = this.stream;
    let code: number = GrpcCode.OK;
    let message = '';
    if (err !== undefined) {
      if (err instanceof GrpcStatusError) {
        code = err.code;
        message = err.message;
      } else {
        code = GrpcCode.UNKNOWN;
        message = err instanceof Error ? err.message : String(err);
      }
    }
    this.count(code);
    if (stream.closed) {
      this.cleanup();
      return;
    }
    const trailers = code === GrpcCode.OK && !message ? OK_TRAILERS : ['grpc-status', String(code)];
    if (message) trailers.push('grpc-message', encodeGrpcMessage(message));
    if (!this.headersSent) {
      // Trailers-only response.
      this.headersSent = true;
      stream.respond([...RESPONSE_HEADERS, ...trailers], true);
    } else {
      stream.end(trailers);
    }
    this.cleanup();
  }

  /** The call ended with `code` (go-grpc-prometheus's handled count and handling time). */
  private count(code: number): void {
    const st = this.stats;
    st.handled[code] = (st.handled[code] ?? 0) + 1;
    if (st.timing) st.timing((performance.now() - this.startedAt) / 1000);
  }

  private cleanup(): void {
    this.partial = null;
    this.stream.setBuffered(0);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.onDone();
  }
}
