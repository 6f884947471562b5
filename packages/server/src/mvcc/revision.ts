// The one module that owns revision-key encoding: how a revision (main, sub) is written as a key of
// the `key` sub-database, as in etcd's key bucket.
//
//   8 bytes big-endian main | '_' | 8 bytes big-endian sub [| 't' for a tombstone]
//
// Byte order of these keys is revision order, so LMDB iterates history in revision order.

export const REV_KEY_LEN = 17;
export const TOMBSTONE_KEY_LEN = 18;
const SEP = 0x5f; // '_'
const TOMB = 0x74; // 't'
const TWO_32 = 0x1_0000_0000;

/** A revision: `main` is the store revision of a write transaction, `sub` the write's index in it. */
export interface Revision {
  main: number;
  sub: number;
}

function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / TWO_32), off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

function readU64(buf: Uint8Array, off: number): number {
  const hi = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  const lo = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  return hi * TWO_32 + lo;
}

/** Writes the revision key into `out` (17 or 18 bytes) and returns the key's view of `out`. */
export function writeRevKey(out: Buffer, main: number, sub: number, tombstone = false): Buffer {
  writeU64(out, 0, main);
  out[8] = SEP;
  writeU64(out, 9, sub);
  if (tombstone) {
    out[17] = TOMB;
    return out.length === TOMBSTONE_KEY_LEN ? out : out.subarray(0, TOMBSTONE_KEY_LEN);
  }
  return out.length === REV_KEY_LEN ? out : out.subarray(0, REV_KEY_LEN);
}

/** A new buffer holding the key of revision (main, sub). */
export function encodeRevKey(main: number, sub: number, tombstone = false): Buffer {
  return writeRevKey(Buffer.allocUnsafe(tombstone ? TOMBSTONE_KEY_LEN : REV_KEY_LEN), main, sub, tombstone);
}

/** Main revision of a revision key. */
export function revKeyMain(key: Uint8Array): number {
  return readU64(key, 0);
}

/** Sub revision of a revision key. */
export function revKeySub(key: Uint8Array): number {
  return readU64(key, 9);
}

/** True when the key marks a tombstone (a deletion). */
export function isTombstoneKey(key: Uint8Array): boolean {
  return key.length === TOMBSTONE_KEY_LEN && key[17] === TOMB;
}

/** Decodes a revision key; throws RangeError when it is not one. */
export function decodeRevKey(key: Uint8Array): Revision & { tombstone: boolean } {
  if ((key.length !== REV_KEY_LEN && key.length !== TOMBSTONE_KEY_LEN) || key[8] !== SEP) {
    throw new RangeError(`not a revision key (${key.length} bytes)`);
  }
  return { main: readU64(key, 0), sub: readU64(key, 9), tombstone: isTombstoneKey(key) };
}
