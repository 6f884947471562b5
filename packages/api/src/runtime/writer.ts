// Protobuf wire-format writer: one growable Buffer, single pass.
// Nested messages reserve one byte for their length and shift their bytes right afterwards when the
// length needs a longer varint (rare: only messages of 128 bytes or more), so no size pre-pass is needed.

const MIN_SIZE = 1024;

let memoKeyA: bigint | null = null; // null: no memo yet (any bigint, -1n included, is a real value)
let memoValA: Uint8Array = new Uint8Array(0);
let memoKeyB: bigint | null = null;
let memoValB: Uint8Array = new Uint8Array(0);

/** Writes protobuf wire format into one growable buffer in a single pass; the generated codecs' `encode` methods take one. */
export class Writer {
  buf: Buffer;
  pos: number;

  constructor(size = MIN_SIZE) {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
  }

  /** Resets the writer for reuse, optionally leaving `reserve` bytes at the front (e.g. a gRPC frame header). */
  reset(reserve = 0): this {
    this.pos = reserve;
    return this;
  }

  /** Grows the buffer so that `n` more bytes fit. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A copy of the bytes written, from `start`. */
  finish(start = 0): Buffer {
    const out = Buffer.allocUnsafe(this.pos - start);
    this.buf.copy(out, 0, start, this.pos);
    return out;
  }

  /** A field's key: its number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType);
  }

  /** An unsigned 32-bit varint (also used for tags and lengths). */
  uint32(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    v >>>= 0;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** An int32 field value: a varint, sign-extended to 10 bytes when negative (as protobuf requires). */
  int32(v: number): void {
    if (v < 0) this.varint64(BigInt(v));
    else this.uint32(v);
  }

  /** A sint32 field value: a ZigZag-encoded varint. */
  sint32(v: number): void {
    this.uint32(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Varint of a 64-bit value given as bigint (two's complement for negatives, as int64 requires). */
  varint64(v: bigint): void {
    if (v >= 0n && v <= 0xffffffffn) {
      this.uint32(Number(v));
      return;
    }
    // Large values are mostly IDs (cluster, member, lease) that repeat: remember the last two encodings.
    if (v === memoKeyA) {
      this.raw(memoValA);
      return;
    }
    if (v === memoKeyB) {
      this.raw(memoValB);
      return;
    }
    const u = BigInt.asUintN(64, v);
    let lo = Number(u & 0xffffffffn);
    let hi = Number(u >> 32n);
    this.ensure(10);
    const b = this.buf;
    const start = this.pos;
    let p = start;
    while (hi > 0 || lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
    memoKeyB = memoKeyA;
    memoValB = memoValA;
    memoKeyA = v;
    memoValA = new Uint8Array(b.subarray(start, p)); // a copy: the buffer is reused
  }

  /** int64 / uint64 field value: bigint, or a safe-integer number. */
  int64(v: bigint | number): void {
    if (typeof v === 'number') {
      if (v >= 0 && v <= 0xffffffff && Number.isInteger(v)) this.uint32(v);
      else this.varint64(BigInt(v));
    } else {
      this.varint64(v);
    }
  }

  /** A sint64 field value: a ZigZag-encoded 64-bit varint. */
  sint64(v: bigint | number): void {
    const b = BigInt(v);
    this.varint64(BigInt.asUintN(64, (b << 1n) ^ (b >> 63n)));
  }

  /** A bool field value: one varint byte. */
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** A fixed32 field value: 4 bytes, little-endian. */
  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 field value: 8 bytes, little-endian. */
  fixed64(v: bigint | number): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), this.pos);
    this.pos += 8;
  }

  /** A double field value: 8 bytes, IEEE 754 little-endian. */
  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A bytes field value: its length, then the bytes. */
  bytes(v: Uint8Array): void {
    const n = v.length;
    this.uint32(n);
    this.ensure(n);
    this.buf.set(v, this.pos);
    this.pos += n;
  }

  /** A string field value: its UTF-8 length, then the UTF-8 bytes. */
  string(v: string): void {
    const n = v.length;
    if (n < 128) {
      // Fast path: ASCII strings shorter than 128 chars need a one-byte length.
      this.ensure(1 + n * 3);
      const b = this.buf;
      let p = this.pos + 1;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c > 127) {
          ascii = false;
          break;
        }
        b[p++] = c;
      }
      if (ascii) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(v, 'utf8');
    this.uint32(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
  }

  /** Begins a length-delimited field: reserves one length byte. Returns the start position for `endLength`. */
  beginLength(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends a length-delimited field started at `at`: writes the length, shifting the body when it needs more than one byte. */
  endLength(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    const extra = (len < 1 << 14 ? 2 : len < 1 << 21 ? 3 : len < 1 << 28 ? 4 : 5) - 1;
    this.ensure(extra);
    this.buf.copy(this.buf, at + 1 + extra, at + 1, this.pos);
    let p = at;
    let v = len;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += extra;
  }

  /** Appends bytes that are already protobuf-encoded (e.g. a stored message body). */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
}

let shared: Writer | null = null;

/** A writer for short-lived use by synchronous encoders: reused between calls; take `finish()` copies. */
/** The process-wide writer that `encodeMessage` uses, reset (with `reserve` bytes left at the front); the bytes are valid until its next use. */
export function sharedWriter(reserve = 0): Writer {
  if (!shared) shared = new Writer(64 * 1024);
  if (shared.buf.length > 4 * 1024 * 1024) shared = new Writer(64 * 1024);
  return shared.reset(reserve);
}
