// The two line formats etcd's loggers print:
//   zap (JSON):  {"level":"info","ts":"2026-11-23T06:43:45.835Z","caller":"embed/etcd.go:117","msg":"…","key":value}
//   capnslog:    2026-11-23 06:43:56.053954 I | etcdmain: msg
// Field values are encoded the way zap encodes them: bigints as bare JSON numbers (zap.Uint64),
// Errors as their message, Dates with the ts layout, byte arrays as base64, NaN/±Inf as strings.
// Member IDs are passed already formatted (formatId) since etcd logs them as hex strings.

import { CAPNSLOG_LETTER, type LogLevel } from './levels.js';
import { capnslogTimestamp, zapTimestamp } from './format.js';

export type LogFields = Readonly<Record<string, unknown>>;

const MAX_DEPTH = 8;

/** A JSON string literal, escaping control characters the way zap does (\u0008, not \b). */
export function jsonString(s: string): string {
  const out = JSON.stringify(s);
  return /[\b\f]/.test(s) ? out.replace(/\\b/g, '\\u0008').replace(/\\f/g, '\\u000c') : out;
}

function encodeNumber(n: number): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"+Inf"';
  if (n === -Infinity) return '"-Inf"';
  return String(n);
}

/** Encodes one field value as zap's JSON encoder would. */
export function encodeZapValue(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'string':
      return jsonString(v);
    case 'number':
      return encodeNumber(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'symbol':
    case 'function':
      return jsonString(String(v));
  }
  if (v === null) return 'null';
  if (depth >= MAX_DEPTH) return '"<max depth>"';
  if (v instanceof Error) return jsonString(v.message);
  if (v instanceof Date) return jsonString(zapTimestamp(v.getTime()));
  if (v instanceof Uint8Array) return jsonString(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  if (Array.isArray(v)) return `[${v.map((x) => encodeZapValue(x, depth + 1)).join(',')}]`;
  if (v instanceof Set) return `[${[...v].map((x) => encodeZapValue(x, depth + 1)).join(',')}]`;
  if (v instanceof Map) {
    const parts: string[] = [];
    for (const [k, x] of v) parts.push(`${jsonString(String(k))}:${encodeZapValue(x, depth + 1)}`);
    return `{${parts.join(',')}}`;
  }
  const withJson = v as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return encodeZapValue(withJson.toJSON(), depth + 1);
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    parts.push(`${jsonString(k)}:${encodeZapValue(x, depth + 1)}`);
  return `{${parts.join(',')}}`;
}

/** Encodes fields as a JSON fragment to append after "msg": `,"k":v,"k2":v2` ("" for none). */
export function encodeZapFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const k in fields) {
    if (Object.hasOwn(fields, k)) out += `,${jsonString(k)}:${encodeZapValue(fields[k])}`;
  }
  return out;
}

/** One zap JSON line, newline-terminated. `fieldJson` comes from encodeZapFields. */
export function zapLine(
  level: LogLevel,
  ms: number,
  caller: string | undefined,
  msg: string,
  fieldJson: string,
): string {
  const c = caller === undefined || caller === '' ? '' : `,"caller":${jsonString(caller)}`;
  return `{"level":"${level}","ts":"${zapTimestamp(ms)}"${c},"msg":${jsonString(msg)}${fieldJson}}\n`;
}

/** A field value as capnslog-style text (Go's %v look: slices as [a b], nil as <nil>). */
export function capnslogValue(v: unknown, depth = 0): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return encodeNumber(v).replace(/"/g, '');
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof Error) return v.message;
  if (v instanceof Date) return capnslogTimestamp(v.getTime());
  if (depth < MAX_DEPTH && (Array.isArray(v) || v instanceof Set)) {
    return `[${[...(v as Iterable<unknown>)].map((x) => capnslogValue(x, depth + 1)).join(' ')}]`;
  }
  return encodeZapValue(v, depth);
}

/** Fields as capnslog-style text to append after the message: `, k: v, k2: v2` ("" for none). */
export function capnslogFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const k in fields) {
    if (Object.hasOwn(fields, k)) out += `, ${k}: ${capnslogValue(fields[k])}`;
  }
  return out;
}

/** One capnslog line, newline-terminated: "<ts> <L> | <caller>: <msg><fields>". */
export function capnslogLine(
  level: LogLevel,
  ms: number,
  caller: string | undefined,
  msg: string,
  fieldText: string,
): string {
  const pkg = caller === undefined || caller === '' ? '' : `${caller}: `;
  const text = `${msg}${fieldText}`;
  return `${capnslogTimestamp(ms)} ${CAPNSLOG_LETTER[level]} | ${pkg}${text}${text.endsWith('\n') ? '' : '\n'}`;
}
