// Protobuf wire-format reader over a Uint8Array. Bytes fields are returned as zero-copy views of the
// input (Buffer views when the input is a Buffer). Throws DecodeError on malformed input.

/** Input that is not valid protobuf for the message being decoded (truncated, overlong, wrong wire type); the message says what was wrong. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

const utf8 = new TextDecoder('utf-8');

/**
 * Messages nested deeper than this are refused. Decoding recurses once per level; protobuf-go stops
 * at 10,000, which would overflow V8's stack here. The only recursive etcd message is a Txn inside a
 * Txn (two levels each), and etcd's Txn check bounds its useful depth by --max-txn-ops (128).
 */
export const MAX_DECODE_DEPTH = 1000;

/** Reads protobuf wire format from a byte array between `pos` and `end`; the generated codecs' `decode` methods take one. Reading past `end` throws {@link DecodeError}. */
export class Reader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  /** Nesting depth of the message being decoded (generated decoders count it with enter()). */
  depth = 0;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A nested message starts (the generated decoder decrements `depth` when it ends). */
  enter(): void {
    if (++this.depth > MAX_DECODE_DEPTH) throw new DecodeError('protobuf: exceeded maximum recursion depth');
  }

  private truncated(): never {
    throw new DecodeError('protobuf: truncated message');
  }

  /** An unsigned 32-bit varint (also tags and lengths). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= this.end) this.truncated();
    let c = b[p++]!;
    let v = c & 127;
    if (c < 128) {
      this.pos = p;
      return v;
    }
    let shift = 7;
    while (shift < 35) {
      if (p >= this.end) this.truncated();
      c = b[p++]!;
      v |= (c & 127) << shift;
      if (c < 128) {
        this.pos = p;
        return v >>> 0;
      }
      shift += 7;
    }
    // Varints of a 64-bit value truncated to 32 bits: skip the remaining bytes.
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) this.truncated();
      if (b[p++]! < 128) {
        this.pos = p;
        return v >>> 0;
      }
    }
    throw new DecodeError('protobuf: varint too long');
  }

  /** An int32 field value. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A sint32 (ZigZag) field value. */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** A 64-bit varint as an unsigned bigint. */
  uint64(): bigint {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (p >= this.end) this.truncated();
      const c = b[p++]!;
      lo = (lo | ((c & 127) << (i * 7))) >>> 0;
      if (c < 128) {
        this.pos = p;
        return BigInt(lo);
      }
    }
    // 5th byte: 4 bits into lo, 3 bits into hi.
    if (p >= this.end) this.truncated();
    let c = b[p++]!;
    lo = (lo | ((c & 15) << 28)) >>> 0;
    hi = (c & 127) >> 4;
    if (c >= 128) {
      for (i = 0; i < 5; i++) {
        if (p >= this.end) this.truncated();
        c = b[p++]!;
        hi = (hi | ((c & 127) << (i * 7 + 3))) >>> 0;
        if (c < 128) break;
      }
      if (c >= 128) throw new DecodeError('protobuf: varint too long');
    }
    this.pos = p;
    if (hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** An int64 field value (two's complement) as a bigint. */
  int64(): bigint {
    const v = this.uint64();
    return v >= 0x8000000000000000n ? BigInt.asIntN(64, v) : v;
  }

  /** A sint64 (ZigZag) field value as a bigint. */
  sint64(): bigint {
    const v = this.uint64();
    return (v >> 1n) ^ -(v & 1n);
  }

  /** A bool field value. */
  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A fixed32 field value. */
  fixed32(): number {
    if (this.pos + 4 > this.end) this.truncated();
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  /** A fixed64 field value as a bigint. */
  fixed64(): bigint {
    const lo = BigInt(this.fixed32());
    const hi = BigInt(this.fixed32());
    return (hi << 32n) | lo;
  }

  /** A double field value. */
  double(): number {
    if (this.pos + 8 > this.end) this.truncated();
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** Length of a length-delimited field, checked against the remaining input. */
  length(): number {
    const n = this.uint32();
    if (this.pos + n > this.end) this.truncated();
    return n;
  }

  /** A bytes field value (a view of the input, not a copy). */
  bytes(): Uint8Array {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return this.buf.subarray(start, start + n);
  }

  /** A string field value, decoded from UTF-8. */
  string(): string {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    const b = this.buf;
    if (n < 32) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i]!;
        if (c > 127) return utf8.decode(b.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(b.subarray(start, start + n));
  }

  /** Skips a field value of the given wire type (unknown fields are skipped, as protobuf requires). */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint64();
        return;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (this.pos + size > this.end) this.truncated();
        this.pos += size;
        return;
      }
      case 2:
        this.pos += this.length();
        return;
      case 3:
        // A group, skipped to its end marker; groups nested in it counted without recursing.
        for (let open = 1; open > 0; ) {
          const t = this.uint32();
          const wt = t & 7;
          if (wt === 4) open--;
          else if (wt === 3) {
            if (++open > MAX_DECODE_DEPTH) throw new DecodeError('protobuf: exceeded maximum recursion depth');
          } else this.skip(wt);
        }
        return;
      default:
        throw new DecodeError(`protobuf: invalid wire type ${wireType}`);
    }
  }
}
