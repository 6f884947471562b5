// The protobuf bytes of a RangeResponse produced a chunk at a time from a plan (plan.ts): the same
// bytes the generated encoder writes for the whole response object (header = 1, each kv = 2 as its
// stored mvccpb.KeyValue bytes, more = 3, count = 4; empty fields omitted), without the object graph
// or one buffer of the whole size. The size is known before the first byte (the gRPC prefix needs
// it): one pass reads every kv's stored length, the second copies the kvs into chunks as they are
// asked for. Stored kvs are the encoder's own bytes (mvcc/kv-codec.ts); keys-only drops field 5.

import type { BodySource } from '../grpc/streamed-response.js';
import type { RangePlan } from './plan.js';
import { varintSize, writeVarint } from '../mvcc/index.js';

/** Bytes of kvs copied per chunk (a larger kv makes a chunk of its own size). */
export const CHUNK_BYTES = 64 * 1024;
/** more (2 bytes) + count (1 + up to 10). */
const TAIL_MAX = 13;

let spanEnd = 0;

/**
 * Start of the value field (tag 5) in stored KeyValue bytes, its end in `spanEnd`; -1 when the kv
 * has no value. Fields are stored in order, so only fields 1–4 come before it.
 */
function valueSpan(b: Buffer): number {
  let p = 0;
  while (p < b.length) {
    const start = p;
    const tag = b[p++]!; // every KeyValue tag fits in one byte
    let v = 0;
    let mul = 1;
    for (;;) {
      const c = b[p++]!;
      v += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 0x80;
    }
    if ((tag & 7) === 2) p += v;
    if (tag === 0x2a) {
      spanEnd = p;
      return start;
    }
    if (tag > 0x2a) return -1;
  }
  return -1;
}

/** The kv's length in the response: its stored length, less the value field when keys-only. */
function kvLength(b: Buffer, keysOnly: boolean): number {
  if (!keysOnly) return b.length;
  const s = valueSpan(b);
  return s < 0 ? b.length : b.length - (spanEnd - s);
}

export class RangeBody implements BodySource {
  readonly size: number;
  /** Encoded size of the kvs (fields 2), for the slow-request log. */
  readonly kvBytes: number;
  private cursor = 0;
  private headerDone = false;
  private closed = false;

  /** `header`: the encoded ResponseHeader. The plan's reader is released by close(). */
  constructor(
    readonly plan: RangePlan,
    private readonly header: Uint8Array,
    private readonly keysOnly: boolean,
    private readonly count: number,
  ) {
    const { refs, order, n, reader } = plan;
    let kvBytes = 0;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const len = kvLength(reader.fetch(refs.main[i]!, refs.sub[i]!), keysOnly);
      kvBytes += 1 + varintSize(len) + len;
    }
    this.kvBytes = kvBytes;
    this.size = 1 + varintSize(header.length) + header.length + kvBytes + this.tailSize();
  }

  private tailSize(): number {
    return (this.plan.more ? 2 : 0) + (this.count > 0 ? 1 + varintSize(this.count) : 0);
  }

  /** The next chunk of the body (a new buffer), null after the last. */
  next(): Buffer | null {
    if (this.closed) return null;
    const { refs, order, n, reader } = this.plan;
    if (this.headerDone && this.cursor > n) return null;
    let out = Buffer.allocUnsafe(CHUNK_BYTES + TAIL_MAX);
    let pos = 0;
    if (!this.headerDone) {
      const h = this.header;
      out = Buffer.allocUnsafe(Math.max(out.length, 1 + varintSize(h.length) + h.length + TAIL_MAX));
      out[pos++] = 0x0a;
      pos = writeVarint(out, pos, h.length);
      out.set(h, pos);
      pos += h.length;
      this.headerDone = true;
    }
    const keysOnly = this.keysOnly;
    while (this.cursor < n) {
      const i = order ? order[this.cursor]! : this.cursor;
      const b = reader.fetch(refs.main[i]!, refs.sub[i]!);
      const s = keysOnly ? valueSpan(b) : -1;
      const len = s < 0 ? b.length : b.length - (spanEnd - s);
      const need = 1 + varintSize(len) + len;
      if (pos + need > CHUNK_BYTES) {
        if (pos > 0) return out.subarray(0, pos);
        out = Buffer.allocUnsafe(need + TAIL_MAX);
      }
      out[pos++] = 0x12;
      pos = writeVarint(out, pos, len);
      if (s < 0) {
        out.set(b, pos);
        pos += b.length;
      } else {
        out.set(b.subarray(0, s), pos);
        pos += s;
        out.set(b.subarray(spanEnd), pos);
        pos += b.length - spanEnd;
      }
      this.cursor++;
    }
    // the tail always fits: every chunk keeps TAIL_MAX bytes beyond what kvs may fill
    if (this.plan.more) {
      out[pos++] = 0x18;
      out[pos++] = 1;
    }
    if (this.count > 0) {
      out[pos++] = 0x20;
      pos = writeVarint(out, pos, this.count);
    }
    this.cursor = n + 1;
    return out.subarray(0, pos);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.plan.reader.release();
  }
}
