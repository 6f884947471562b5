// Keys and values: every API accepts `string | Uint8Array`; strings are UTF-8. Range helpers follow
// etcd's conventions (prefix end = last byte + 1, "\0" as the end of the keyspace).

import { invalid } from './validate.js';

/** A key or value: a UTF-8 string or raw bytes. */
export type Bytes = string | Uint8Array;

export const EMPTY = new Uint8Array(0);
/** The single zero byte etcd uses for "from this key on" (range end) and "every key" (key). */
export const ZERO = Uint8Array.of(0);

/** The bytes of a key or value (a string is encoded as UTF-8); a TypeError for anything else. */
export function toBytes(v: Bytes, where = 'a key or value'): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  return invalid(where, 'a string or Uint8Array', v);
}

export function toText(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function hasPrefix(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** The range end covering every key that starts with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Uint8Array.from(prefix.subarray(0, i + 1)); // a copy (Buffer#slice would alias)
      end[i]! += 1;
      return end;
    }
  }
  // every byte is 0xff (or the prefix is empty): no upper bound
  return ZERO;
}

/** The smallest key greater than `key` (used to page through a range). */
export function nextKey(key: Uint8Array): Uint8Array {
  return concatBytes(key, ZERO);
}

/** How a call names a set of keys: one key, a prefix, `[key, end)`, or every key from `key` on. */
export interface RangeSpec {
  /** Every key starting with the given key. */
  prefix?: boolean;
  /** Exclusive upper bound: `[key, end)`. */
  end?: Bytes;
  /** Every key greater than or equal to the given key. */
  fromKey?: boolean;
}

/** Resolves a key and range spec to the wire `key` / `range_end` pair, as etcd's Go client does. */
export function resolveRange(key: Bytes, spec: RangeSpec | undefined): { key: Uint8Array; rangeEnd: Uint8Array } {
  let k = toBytes(key);
  if (!spec) return { key: k, rangeEnd: EMPTY };
  const set = (spec.prefix ? 1 : 0) + (spec.end !== undefined ? 1 : 0) + (spec.fromKey ? 1 : 0);
  if (set > 1) throw new TypeError('at most one of prefix, end and fromKey may be given');
  if (spec.prefix) {
    if (k.length === 0) return { key: ZERO, rangeEnd: ZERO };
    return { key: k, rangeEnd: prefixEnd(k) };
  }
  if (spec.fromKey) {
    if (k.length === 0) k = ZERO;
    return { key: k, rangeEnd: ZERO };
  }
  if (spec.end !== undefined) return { key: k, rangeEnd: toBytes(spec.end) };
  return { key: k, rangeEnd: EMPTY };
}

/** Adds a namespace prefix to a wire key/range_end pair (etcd's namespace.prefixInterval). */
export function prefixRange(
  prefix: Uint8Array,
  key: Uint8Array,
  rangeEnd: Uint8Array,
): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (prefix.length === 0) return { key, rangeEnd };
  const pk = concatBytes(prefix, key);
  let pe: Uint8Array = EMPTY;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) pe = prefixEnd(prefix);
  else if (rangeEnd.length > 0) pe = concatBytes(prefix, rangeEnd);
  return { key: pk, rangeEnd: pe };
}
