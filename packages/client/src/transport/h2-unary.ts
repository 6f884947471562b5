// One unary gRPC call as an HTTP/2 stream on the own transport: the request (header fields and the length-prefixed
// message), the response as it arrives, and the one callback that ends it. A plain object per call:
// no EventEmitter or Duplex on the hot path.

import { GrpcCode } from '@conclave/api';
import type { H2Output, SendingStream } from '@conclave/h2';
import { statusFromFields } from './status.js';
import { type CallStatus, type UnaryListener, status } from './transport.js';

/** The connection a stream was given to, as the stream sees it. */
export interface StreamOwner {
  /** Ends `s` from our side: RST_STREAM CANCEL (if it was open), then `err`. */
  cancel(s: ClientStream, err: CallStatus): void;
}

/** What the connection needs of a stream: a unary call (UnaryStream) or a bidi one (BidiStream). */
export interface ClientStream extends SendingStream {
  id: number;
  sendWindow: number;
  /** Bytes received and not yet returned to the server's stream window. */
  recvUnacked: number;
  /** The reader is behind: keep the stream's receive window (flow control back to the server). */
  readonly paused: boolean;
  /** A unary call: its answer is due (a silent connection is probed with a PING). */
  readonly awaitsAnswer: boolean;
  /** When the call's deadline passes (a Date.now() time; Infinity: none). */
  deadline: number;
  /** The request header fields (pseudo-headers, grpc-timeout, metadata), flat name/value. */
  readonly fields: string[];
  done: boolean;
  conn: StreamOwner | null;
  readonly headersReceived: boolean;
  /** Writes the request data the windows allow; true when nothing is left to send for now. */
  pump(out: H2Output): boolean;
  /** A header block for this stream; returns true when it ended the call. */
  onFields(fields: string[], endStream: boolean): boolean;
  onData(data: Buffer): void;
  /** The server ended the stream with DATA END_STREAM and no trailers. */
  onEndWithoutTrailers(): void;
  /** Ends the call with an error status (no-op once ended). */
  fail(err: CallStatus): void;
}

export class UnaryStream implements ClientStream {
  id = 0;
  sendWindow = 0;
  /** Bytes of the message still to send from `body`. */
  sent = 0;
  /** Bytes received and not yet returned to the server's stream window. */
  recvUnacked = 0;
  readonly paused = false;
  readonly awaitsAnswer = true;
  private head: string[] | null = null;
  private chunks: Buffer[] = [];
  private received = 0;
  timer: NodeJS.Timeout | undefined;
  deadline = Infinity;
  done = false;
  /** The connection the stream was given to (it may be draining while a newer one takes new calls). */
  conn: StreamOwner | null = null;

  constructor(
    /** The request header fields (pseudo-headers, grpc-timeout, metadata), flat name/value. */
    readonly fields: string[],
    /** The request message with its 5-byte gRPC prefix. */
    readonly body: Buffer,
    private readonly listener: UnaryListener,
  ) {}

  get headersReceived(): boolean {
    return this.head !== null;
  }

  pump(out: H2Output): boolean {
    this.sent += out.data(this, this.body, this.sent, true);
    return this.sent >= this.body.length;
  }

  fail(err: CallStatus): void {
    this.end(err, null);
  }

  /** A header block for this stream; returns true when it ended the response. */
  onFields(fields: string[], endStream: boolean): boolean {
    if (this.head === null) {
      this.head = fields;
      this.listener.onHeaders();
      if (endStream) this.end(statusFromFields(fields, null), null);
      return endStream;
    }
    // trailers (a header block without END_STREAM after the headers is malformed)
    if (!endStream) {
      this.end(status(GrpcCode.INTERNAL, 'Received malformed trailers'), null);
      return true;
    }
    const st = statusFromFields(this.head, fields);
    if (st.code !== GrpcCode.OK) this.end(st, null);
    else this.finishMessage();
    return true;
  }

  onData(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.received += data.length;
  }

  /** The server ended the stream with DATA END_STREAM and no trailers. */
  onEndWithoutTrailers(): void {
    this.end(
      this.head ? statusFromFields(this.head, []) : status(GrpcCode.INTERNAL, 'Stream ended without headers'),
      null,
    );
  }

  private finishMessage(): void {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
    this.chunks = [];
    if (all.length < 5) {
      this.end(status(GrpcCode.UNIMPLEMENTED, 'No message received'), null);
      return;
    }
    if (all[0] !== 0) {
      this.end(status(GrpcCode.INTERNAL, 'Received a compressed message, but compression is not supported'), null);
      return;
    }
    const len = all.readUInt32BE(1);
    if (all.length !== 5 + len) {
      this.end(
        status(
          GrpcCode.UNIMPLEMENTED,
          all.length < 5 + len ? 'Received a truncated message' : 'Received more than one message for a unary call',
        ),
        null,
      );
      return;
    }
    this.end(null, all.subarray(5));
  }

  /** Ends the call (no-op once ended). */
  end(err: CallStatus | null, message: Buffer | null): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.chunks = [];
    this.listener.onEnd(err, message);
  }
}
