// HTTP/2 wire constants (RFC 9113) and the output buffer frames are assembled in.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export enum FrameType {
  DATA = 0,
  HEADERS = 1,
  PRIORITY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  WINDOW_UPDATE = 8,
  CONTINUATION = 9,
}

export enum Flag {
  END_STREAM = 0x1,
  // biome-ignore lint/suspicious/noDuplicateEnumValues: RFC 9113 gives bit 0x1 to END_STREAM (DATA, HEADERS) and ACK (SETTINGS, PING)
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export enum H2Error {
  NO_ERROR = 0,
  PROTOCOL_ERROR = 1,
  INTERNAL_ERROR = 2,
  FLOW_CONTROL_ERROR = 3,
  STREAM_CLOSED = 5,
  FRAME_SIZE_ERROR = 6,
  REFUSED_STREAM = 7,
  CANCEL = 8,
  COMPRESSION_ERROR = 9,
  ENHANCE_YOUR_CALM = 0xb,
}

export enum Setting {
  HEADER_TABLE_SIZE = 1,
  ENABLE_PUSH = 2,
  MAX_CONCURRENT_STREAMS = 3,
  INITIAL_WINDOW_SIZE = 4,
  MAX_FRAME_SIZE = 5,
  MAX_HEADER_LIST_SIZE = 6,
}

export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;

const CHUNK = 16 * 1024;
/** Payloads at least this large are handed to the socket as they are instead of being copied. */
const COPY_LIMIT = 2048;

/**
 * Frames for one connection, appended into large chunks so that everything produced in one
 * event-loop turn leaves in one socket write. Bytes handed out by take() are never written again:
 * the next frames go after them in the same chunk.
 */
export class OutBuffer {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private pos = 0;
  /** Bytes appended since the last take(). */
  size = 0;

  get empty(): boolean {
    return this.chunks.length === 0 && this.pos === this.start;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    if (this.pos > this.start) this.chunks.push(this.cur.subarray(this.start, this.pos));
    this.cur = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.start = 0;
    this.pos = 0;
  }

  /** A frame header followed by `payload` (or by `payloadLength` bytes the caller appends next). */
  frame(
    type: FrameType,
    flags: number,
    streamId: number,
    payload: Uint8Array | null,
    payloadLength = payload ? payload.length : 0,
  ): void {
    const inline = payload === null || payload.length < COPY_LIMIT;
    this.reserve(9 + (inline && payload ? payload.length : 0));
    this.size += 9;
    const b = this.cur;
    let p = this.pos;
    b[p++] = payloadLength >>> 16;
    b[p++] = (payloadLength >>> 8) & 0xff;
    b[p++] = payloadLength & 0xff;
    b[p++] = type;
    b[p++] = flags;
    b.writeUInt32BE(streamId, p);
    p += 4;
    this.pos = p;
    if (payload && payload.length > 0) this.append(payload, inline);
  }

  /** Raw bytes (a frame's payload written in parts). */
  append(data: Uint8Array, copy = data.length < COPY_LIMIT): void {
    this.size += data.length;
    if (copy) {
      this.reserve(data.length);
      this.cur.set(data, this.pos);
      this.pos += data.length;
      return;
    }
    if (this.pos > this.start) this.chunks.push(this.cur.subarray(this.start, this.pos));
    this.start = this.pos;
    this.chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
  }

  /** A 32-bit value (window increments, error codes, settings values). */
  u32(v: number): void {
    this.reserve(4);
    this.cur.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    this.size += 4;
  }

  u16(v: number): void {
    this.reserve(2);
    this.cur.writeUInt16BE(v, this.pos);
    this.pos += 2;
    this.size += 2;
  }

  /** Everything appended since the last take(), in order. */
  take(): Buffer[] {
    const out = this.chunks;
    if (this.pos > this.start) out.push(this.cur.subarray(this.start, this.pos));
    this.chunks = [];
    this.start = this.pos;
    this.size = 0;
    return out;
  }
}
