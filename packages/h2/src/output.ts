// The sending side of one HTTP/2 connection: frames appended during an event-loop turn and written
// to the socket in one go at its end, the HPACK encoder, and the peer's connection-level window.
// Used by the server's transport and by the client's unary transport.

import type net from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FrameType,
  type H2Error,
  OutBuffer,
  PREFACE,
  Setting,
} from './frames.js';
import { HpackEncoder } from './hpack.js';

/** Output produced in one turn beyond which streams are told to wait for drain. */
const OUT_HIGH_WATER = 256 * 1024;

/** What the output needs of a stream: its id and the client's window for it. */
export interface SendingStream {
  readonly id: number;
  sendWindow: number;
}

export class H2Output {
  private readonly buf = new OutBuffer();
  private readonly encoder = new HpackEncoder();
  /** The client's connection-level window (bytes of DATA we may still send on all streams). */
  sendWindow = DEFAULT_WINDOW;
  /** The client's SETTINGS_MAX_FRAME_SIZE. */
  maxFrame = DEFAULT_MAX_FRAME;
  private scheduled = false;
  private closed = false;
  /** The socket refused more data (write returned false) and has not drained yet. */
  private socketFull = false;
  /**
   * HEADERS or DATA were written since the owner last cleared this (a server's keepalive policy
   * forgives a client's PINGs that follow stream data, as grpc-go does).
   */
  streamFramesSent = false;

  /** `onWritable` runs when writers told to wait may go on (socket drained, or a large turn flushed). */
  constructor(
    private readonly socket: net.Socket,
    private readonly onWritable: () => void,
  ) {
    socket.on('drain', () => {
      this.socketFull = false;
      this.onWritable();
    });
  }

  /**
   * Bulk data (a stream with much queued) may be added this turn: the socket takes more and less
   * than half the high-water mark is buffered. Lower than `congested`, so that bulk output alone
   * never makes the connection stop reading its client's requests.
   */
  get bulkRoom(): boolean {
    return !this.socketFull && this.buf.size < OUT_HIGH_WATER / 2;
  }

  /** Writers should pause: the socket is full, or this turn already produced a lot of output. */
  get congested(): boolean {
    return this.socketFull || this.buf.size > OUT_HIGH_WATER;
  }

  /** The server preface: our SETTINGS (id, value pairs) and a connection window opened beyond the default. */
  preface(settings: ReadonlyArray<readonly [Setting, number]>, connWindow: number): void {
    this.buf.frame(FrameType.SETTINGS, 0, 0, null, 6 * settings.length);
    for (const [id, value] of settings) {
      this.buf.u16(id);
      this.buf.u32(value);
    }
    this.windowUpdate(0, connWindow - DEFAULT_WINDOW);
    this.flush();
  }

  /** The client's connection preface: the magic, SETTINGS (no push, our stream window) and a larger connection window. */
  clientPreface(streamWindow: number, connWindow: number): void {
    this.buf.append(PREFACE);
    this.settingsAndWindow(Setting.ENABLE_PUSH, 0, streamWindow, connWindow);
  }

  /** SETTINGS with one setting of the side's own and our INITIAL_WINDOW_SIZE, then the connection window. */
  private settingsAndWindow(id: Setting, value: number, streamWindow: number, connWindow: number): void {
    this.buf.frame(FrameType.SETTINGS, 0, 0, null, 12);
    this.buf.u16(id);
    this.buf.u32(value);
    this.buf.u16(Setting.INITIAL_WINDOW_SIZE);
    this.buf.u32(streamWindow);
    this.windowUpdate(0, connWindow - DEFAULT_WINDOW);
  }

  setHeaderTableSize(n: number): void {
    this.encoder.setMaxTableSize(n);
  }

  headers(sid: number, headers: readonly string[], endStream: boolean): void {
    const block = this.encoder.encode(headers);
    const flags = endStream ? Flag.END_STREAM : 0;
    this.streamFramesSent = true;
    if (block.length <= this.maxFrame) {
      this.buf.frame(FrameType.HEADERS, flags | Flag.END_HEADERS, sid, block);
    } else {
      let off = 0;
      let type = FrameType.HEADERS;
      while (off < block.length) {
        const n = Math.min(this.maxFrame, block.length - off);
        const last = off + n === block.length;
        this.buf.frame(
          type,
          (type === FrameType.HEADERS ? flags : 0) | (last ? Flag.END_HEADERS : 0),
          sid,
          block.subarray(off, off + n),
        );
        type = FrameType.CONTINUATION;
        off += n;
      }
    }
    this.schedule();
  }

  /**
   * Sends up to `data.length - off` bytes (at most `max`) as DATA frames, as far as both windows
   * allow; returns the number sent. END_STREAM is set only when everything was sent.
   */
  data(s: SendingStream, data: Buffer, off: number, endStream: boolean, max = Infinity): number {
    const want = data.length - off;
    const n = Math.max(0, Math.min(want, s.sendWindow, this.sendWindow, max));
    if (n === 0) {
      // An empty DATA frame may end a stream whatever the windows.
      if (want === 0 && endStream) {
        this.streamFramesSent = true;
        this.buf.frame(FrameType.DATA, Flag.END_STREAM, s.id, null);
        this.schedule();
      }
      return 0;
    }
    if (n < want) endStream = false;
    this.streamFramesSent = true;
    let sent = 0;
    while (sent < n) {
      const len = Math.min(this.maxFrame, n - sent);
      const last = sent + len === n;
      this.buf.frame(
        FrameType.DATA,
        last && endStream ? Flag.END_STREAM : 0,
        s.id,
        data.subarray(off + sent, off + sent + len),
      );
      sent += len;
    }
    s.sendWindow -= n;
    this.sendWindow -= n;
    this.schedule();
    return n;
  }

  reset(sid: number, code: number): void {
    this.buf.frame(FrameType.RST_STREAM, 0, sid, null, 4);
    this.buf.u32(code);
    this.schedule();
  }

  windowUpdate(sid: number, increment: number): void {
    this.buf.frame(FrameType.WINDOW_UPDATE, 0, sid, null, 4);
    this.buf.u32(increment);
    this.schedule();
  }

  ping(payload: Buffer): void {
    this.buf.frame(FrameType.PING, 0, 0, payload);
    this.schedule();
  }

  pingAck(payload: Buffer): void {
    this.buf.frame(FrameType.PING, Flag.ACK, 0, Buffer.from(payload));
    this.schedule();
  }

  settingsAck(): void {
    this.buf.frame(FrameType.SETTINGS, Flag.ACK, 0, null);
    this.schedule();
  }

  /**
   * GOAWAY, written at once, with optional debug data. With `final` (a connection error) nothing is
   * sent after it; otherwise (graceful shutdown) the streams up to `lastStreamId` go on until they end.
   */
  goAway(lastStreamId: number, code: H2Error, final = true, debug?: Uint8Array): void {
    this.buf.frame(FrameType.GOAWAY, 0, 0, null, 8 + (debug?.length ?? 0));
    this.buf.u32(lastStreamId);
    this.buf.u32(code);
    if (debug && debug.length > 0) this.buf.append(debug, true);
    this.flush();
    if (final) this.closed = true;
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.closed || this.buf.empty) return;
    const parts = this.buf.take();
    let ok: boolean;
    if (parts.length === 1) ok = this.socket.write(parts[0]!);
    else {
      this.socket.cork();
      ok = true;
      for (const part of parts) ok = this.socket.write(part);
      this.socket.uncork();
    }
    if (!ok) this.socketFull = true;
    // Streams told to wait because this turn's output was large may go on now.
    else this.onWritable();
  }
}
