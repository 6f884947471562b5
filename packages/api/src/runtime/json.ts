// Helpers for the proto3 JSON mapping used by generated codecs (etcd's gRPC gateway format).

import { JsonDecodeError, JsonNumber, unmarshalWhole } from './go-json.js';

export { JsonDecodeError };

const EMPTY = new Uint8Array(0);

export function bytesToJSON(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B64 = /^[A-Za-z0-9+/]$/;

// Values reach these helpers from the gateway's Go-compatible reader (go-json.ts: numbers as
// JsonNumber with their literal text) or from JSON.parse (plain numbers). Type errors are worded as
// Go's encoding/json words them, which is what etcd's gateway (jsonpb over encoding/json) answers.

/** encoding/json's name for the kind of a JSON value in an UnmarshalTypeError. */
function kindOf(v: unknown): string {
  if (v instanceof JsonNumber || typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? 'array' : 'object';
}

function typeError(v: unknown, goType: string): JsonDecodeError {
  return new JsonDecodeError(`json: cannot unmarshal ${kindOf(v)} into Go value of type ${goType}`);
}

const numberText = (v: JsonNumber | number): string => (v instanceof JsonNumber ? v.raw : String(v));

/** Go's strconv.ParseInt/ParseUint of a number literal into `goType`, or its UnmarshalTypeError. */
function integer(v: JsonNumber | number, goType: string, min: bigint, max: bigint): bigint {
  const text = numberText(v);
  const n = /^-?\d+$/.test(text) && !(min === 0n && text.startsWith('-')) ? BigInt(text) : undefined;
  if (n === undefined || n < min || n > max)
    throw new JsonDecodeError(`json: cannot unmarshal number ${text} into Go value of type ${goType}`);
  return n;
}

/**
 * jsonpb reads an integer field from a number or from a string holding one: it drops the quotes and
 * hands the rest to encoding/json (so `"x"` fails as the text x would).
 */
function integerField(v: unknown, goType: string, min: bigint, max: bigint): bigint {
  if (v === null || v === undefined) return 0n;
  let x: unknown = v;
  if (typeof x === 'string') {
    x = unmarshalWhole(x);
    if (x === null) return 0n;
  }
  if (x instanceof JsonNumber || typeof x === 'number') return integer(x, goType, min, max);
  throw typeError(x, goType);
}

function byteFromJSON(x: unknown): number {
  if (x === null) return 0;
  if (x instanceof JsonNumber || typeof x === 'number') return Number(integer(x, 'uint8', 0n, 255n));
  throw typeError(x, 'uint8');
}

/**
 * Standard base64 with padding, validated as Go's encoding/json does for []byte (etcd's gateway):
 * the error names the first offending input byte ("illegal base64 data at input byte N"). An array
 * of byte values is also a []byte to encoding/json.
 */
export function bytesFromJSON(v: unknown, _field: string): Uint8Array {
  if (v === null || v === undefined) return EMPTY;
  if (Array.isArray(v)) return Uint8Array.from(v, byteFromJSON);
  if (typeof v !== 'string') throw typeError(v, '[]uint8');
  const s = v.replace(/[\r\n]/g, '');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const core = s.length - pad;
  for (let i = 0; i < core; i++) {
    if (!B64.test(s[i]!)) throw new JsonDecodeError(`illegal base64 data at input byte ${i}`);
  }
  if (s.length % 4 !== 0) throw new JsonDecodeError(`illegal base64 data at input byte ${s.length - (s.length % 4)}`);
  if ((pad === 2 && core % 4 !== 2) || (pad === 1 && core % 4 !== 3))
    throw new JsonDecodeError(`illegal base64 data at input byte ${core}`);
  return Buffer.from(s, 'base64');
}

const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;
const INT32 = [-(2n ** 31n), 2n ** 31n - 1n] as const;

export function int64FromJSON(v: unknown, _field: string, unsigned: boolean): bigint {
  return unsigned ? integerField(v, 'uint64', ...UINT64) : integerField(v, 'int64', ...INT64);
}

export function int32FromJSON(v: unknown, _field: string): number {
  return Number(integerField(v, 'int32', ...INT32));
}

export function boolFromJSON(v: unknown, _field: string): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  throw typeError(v, 'bool');
}

export function stringFromJSON(v: unknown, _field: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw typeError(v, 'string');
  return v;
}

/** An enum by name (jsonpb) or by number (encoding/json into the Go enum type `goType`). */
export function enumFromJSON(
  v: unknown,
  _field: string,
  values: Readonly<Record<string, number>>,
  goType = 'int32',
): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') {
    const n = values[v];
    if (typeof n === 'number') return n;
    throw new JsonDecodeError(`unknown value ${JSON.stringify(v)} for enum ${goType}`);
  }
  if (v instanceof JsonNumber || typeof v === 'number') return Number(integer(v, goType, ...INT32));
  throw typeError(v, goType);
}

/** A message: jsonpb reads it as a map of raw field values (null is the empty message). */
export function objectFromJSON(v: unknown, _typeName: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber)
    throw typeError(v, 'map[string]json.RawMessage');
  return v as Record<string, unknown>;
}

/** A repeated field: jsonpb reads it as a list of raw values (null is the empty list). */
export function arrayFromJSON(v: unknown, _field: string): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw typeError(v, '[]json.RawMessage');
  return v;
}

/** Picks a field from a JSON object by its proto name or its lowerCamel JSON name. */
export function pick(o: Record<string, unknown>, protoName: string, jsonName: string): unknown {
  const v = o[protoName];
  return v !== undefined ? v : o[jsonName];
}
