// Helpers for the proto3 JSON mapping used by generated codecs (etcd's gRPC gateway format).

export class JsonDecodeError extends Error {
  override name = 'JsonDecodeError';
}

const EMPTY = new Uint8Array(0);

export function bytesToJSON(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B64 = /^[A-Za-z0-9+/]$/;

/**
 * Standard base64 with padding, validated as Go's encoding/json does for []byte (etcd's gateway):
 * the error names the first offending input byte ("illegal base64 data at input byte N").
 */
export function bytesFromJSON(v: unknown, field: string): Uint8Array {
  if (v === null || v === undefined) return EMPTY;
  if (typeof v !== 'string') throw new JsonDecodeError(`field ${field}: expected base64 string`);
  const s = v.replace(/[\r\n]/g, '');
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const core = s.length - pad;
  for (let i = 0; i < core; i++) {
    if (!B64.test(s[i]!)) throw new JsonDecodeError(`illegal base64 data at input byte ${i}`);
  }
  if (s.length % 4 !== 0) throw new JsonDecodeError(`illegal base64 data at input byte ${s.length - (s.length % 4)}`);
  if ((pad === 2 && core % 4 !== 2) || (pad === 1 && core % 4 !== 3)) throw new JsonDecodeError(`illegal base64 data at input byte ${core}`);
  return Buffer.from(s, 'base64');
}

export function int64FromJSON(v: unknown, field: string, unsigned: boolean): bigint {
  if (v === null || v === undefined) return 0n;
  let n: bigint;
  try {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new Error('not an integer');
      n = BigInt(v);
    } else if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) {
      n = BigInt(v.trim());
    } else {
      throw new Error('not an integer');
    }
  } catch {
    throw new JsonDecodeError(`field ${field}: expected an integer, got ${JSON.stringify(v)}`);
  }
  const ok = unsigned ? n >= 0n && n <= 0xffffffffffffffffn : n >= -(2n ** 63n) && n < 2n ** 63n;
  if (!ok) throw new JsonDecodeError(`field ${field}: integer out of range`);
  return n;
}

export function int32FromJSON(v: unknown, field: string): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new JsonDecodeError(`field ${field}: expected an integer`);
  return n;
}

export function boolFromJSON(v: unknown, field: string): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new JsonDecodeError(`field ${field}: expected a boolean`);
}

export function stringFromJSON(v: unknown, field: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw new JsonDecodeError(`field ${field}: expected a string`);
  return v;
}

export function enumFromJSON(v: unknown, field: string, values: Readonly<Record<string, number>>): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const n = values[v];
    if (n !== undefined) return n;
    if (/^-?\d+$/.test(v)) return Number(v);
  }
  throw new JsonDecodeError(`field ${field}: unknown enum value ${JSON.stringify(v)}`);
}

export function objectFromJSON(v: unknown, typeName: string): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new JsonDecodeError(`${typeName}: expected a JSON object`);
  return v as Record<string, unknown>;
}

export function arrayFromJSON(v: unknown, field: string): unknown[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new JsonDecodeError(`field ${field}: expected an array`);
  return v;
}

/** Picks a field from a JSON object by its proto name or its lowerCamel JSON name. */
export function pick(o: Record<string, unknown>, protoName: string, jsonName: string): unknown {
  const v = o[protoName];
  return v !== undefined ? v : o[jsonName];
}
