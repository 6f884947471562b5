// Encoding of stored values as protobuf mvccpb.KeyValue bytes, exactly as etcd writes them:
//   key=1 bytes, create_revision=2 int64, mod_revision=3 int64, version=4 int64, value=5 bytes,
//   lease=6 int64; fields in order, zero/empty fields omitted, varints (negatives as 10-byte two's
//   complement). Because the stored bytes are a valid KeyValue message, the API layer can splice
//   them into responses without re-encoding, and hashes match etcd's for the same history.

import type { KeyValue } from './types.js';

export const EMPTY: Buffer = Buffer.alloc(0);

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of `v` as a protobuf varint (an int64: a negative value takes 10). */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  let n = 4;
  v = Math.floor(v / 0x1000_0000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

function bigVarintSize(v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE_BIG) return varintSize(Number(v));
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    n++;
    u >>= 7n;
  }
  return n;
}

/** Writes `v` as a protobuf varint at `pos`; returns the end. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0) return writeBigVarint(buf, pos, BigInt(v));
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

function writeBigVarint(buf: Uint8Array, pos: number, v: bigint): number {
  if (v >= 0n && v <= MAX_SAFE_BIG) return writeVarint(buf, pos, Number(v));
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

/**
 * Encodes a KeyValue into the buffer `alloc(size)` returns (at least `size` bytes: a reused scratch
 * buffer may be larger); returns the encoded bytes, a view of that buffer.
 */
export function encodeKeyValueWith(
  alloc: (size: number) => Buffer,
  key: Uint8Array,
  create: number,
  mod: number,
  version: number,
  value: Uint8Array,
  lease: bigint,
): Buffer {
  let size = 0;
  if (key.length > 0) size += 1 + varintSize(key.length) + key.length;
  if (create !== 0) size += 1 + varintSize(create);
  if (mod !== 0) size += 1 + varintSize(mod);
  if (version !== 0) size += 1 + varintSize(version);
  if (value.length > 0) size += 1 + varintSize(value.length) + value.length;
  if (lease !== 0n) size += 1 + bigVarintSize(lease);
  const out = alloc(size);
  let pos = 0;
  if (key.length > 0) {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, key.length);
    out.set(key, pos);
    pos += key.length;
  }
  if (create !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint(out, pos, create);
  }
  if (mod !== 0) {
    out[pos++] = 0x18;
    pos = writeVarint(out, pos, mod);
  }
  if (version !== 0) {
    out[pos++] = 0x20;
    pos = writeVarint(out, pos, version);
  }
  if (value.length > 0) {
    out[pos++] = 0x2a;
    pos = writeVarint(out, pos, value.length);
    out.set(value, pos);
    pos += value.length;
  }
  if (lease !== 0n) {
    out[pos++] = 0x30;
    pos = writeBigVarint(out, pos, lease);
  }
  return pos === out.length ? out : out.subarray(0, pos);
}

/** A new buffer of exactly `size` bytes (for encodeKeyValueWith). */
export const exactBuffer = (size: number): Buffer => Buffer.allocUnsafe(size);

/** Encodes a KeyValue into a new buffer. */
export function encodeKeyValue(kv: KeyValue): Buffer {
  return encodeKeyValueWith(exactBuffer, kv.key, kv.createRevision, kv.modRevision, kv.version, kv.value, kv.lease);
}

// ---- decoding ---------------------------------------------------------------------------------

let p = 0; // read position of the decoder below (single-threaded, not re-entrant across calls)

function truncated(): never {
  throw new RangeError('KeyValue: truncated input');
}

function readVarint(buf: Uint8Array): number {
  const start = p;
  let result = 0;
  let mul = 1;
  for (;;) {
    if (p >= buf.length) truncated();
    const b = buf[p++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 0x80;
  }
  if (p - start <= 7) return result;
  p = start;
  return Number(BigInt.asIntN(64, readBigVarint(buf)));
}

function readBigVarint(buf: Uint8Array): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (p >= buf.length) truncated();
    const b = buf[p++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7n;
  }
  return BigInt.asUintN(64, result);
}

function readInt64Big(buf: Uint8Array): bigint {
  const start = p;
  while (p < buf.length && buf[p]! >= 0x80) p++;
  if (p >= buf.length) truncated();
  p++;
  if (p - start <= 7) {
    p = start;
    return BigInt(readVarint(buf));
  }
  p = start;
  return BigInt.asIntN(64, readBigVarint(buf));
}

function readBytes(buf: Buffer): Buffer {
  const len = readVarint(buf);
  const end = p + len;
  if (len < 0 || end > buf.length) truncated();
  const out = buf.subarray(p, end);
  p = end;
  return out;
}

function skip(buf: Uint8Array, wire: number): void {
  if (wire === 0) readVarint(buf);
  else if (wire === 2) {
    const len = readVarint(buf);
    p += len;
  } else if (wire === 1) p += 8;
  else if (wire === 5) p += 4;
  else throw new RangeError(`KeyValue: unsupported wire type ${wire}`);
  if (p > buf.length) truncated();
}

/** Decodes a stored KeyValue. `key` and `value` are views of `buf` (no copy). */
export function decodeKeyValue(buf: Buffer): KeyValue {
  const kv: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n };
  p = 0;
  while (p < buf.length) {
    const tag = readVarint(buf);
    if (tag === 0x18) kv.modRevision = readVarint(buf);
    else if (tag === 0x2a) kv.value = readBytes(buf);
    else readHeaderField(buf, tag, kv);
  }
  return kv;
}

/** Decodes only the key of a stored KeyValue (a view of `buf`). */
export function decodeKeyOf(buf: Buffer): Buffer {
  p = 0;
  while (p < buf.length) {
    const tag = readVarint(buf);
    if (tag === 0x0a) return readBytes(buf);
    skip(buf, tag & 7);
  }
  return EMPTY;
}

/** Fields needed to rebuild the key index, decoded without touching the value bytes. */
export interface KvHeader {
  key: Buffer;
  createRevision: number;
  version: number;
  lease: bigint;
}

/** Decodes key, create_revision, version and lease of a stored KeyValue into `out`. */
export function decodeKvHeader(buf: Buffer, out: KvHeader): KvHeader {
  out.key = EMPTY;
  out.createRevision = 0;
  out.version = 0;
  out.lease = 0n;
  p = 0;
  while (p < buf.length) readHeaderField(buf, readVarint(buf), out);
  return out;
}

/** Reads the field with key `tag` into `out` if it is a header field (see KvHeader), else skips it. */
function readHeaderField(buf: Buffer, tag: number, out: KvHeader): void {
  if (tag === 0x0a) out.key = readBytes(buf);
  else if (tag === 0x10) out.createRevision = readVarint(buf);
  else if (tag === 0x20) out.version = readVarint(buf);
  else if (tag === 0x30) out.lease = readInt64Big(buf);
  else skip(buf, tag & 7);
}

/** Re-encodes a stored KeyValue without its value (for keys-only responses). */
export function stripValue(buf: Buffer): Buffer {
  const kv = decodeKeyValue(buf);
  if (kv.value.length === 0) return buf;
  kv.value = EMPTY;
  return encodeKeyValue(kv);
}
