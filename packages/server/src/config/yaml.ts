// A small YAML reader for etcd configuration files: block mappings (nested, as in
// client-transport-security), block sequences ("- item"), flow sequences ([a, "b"]), plain,
// single- and double-quoted scalars, comments and "---". Plain scalars are typed as YAML 1.1
// (go-yaml v2, which etcd uses) types them: null (~, null, empty), bools (true/false/yes/no/on/off/
// y/n), integers (decimal, 0x hex, 0 octal, 0b binary, "_" separators), floats, else strings.
// Anchors, tags, block scalars (| >) and flow mappings are rejected with a line number.

export type YamlValue = string | number | bigint | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  constructor(
    readonly line: number,
    what: string,
  ) {
    super(`yaml: line ${line}: ${what}`);
  }
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

function stripComment(raw: string): string {
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote === '"' && c === '\\') i++;
    else if (quote === "'" && c === "'" && raw[i + 1] === "'") i++;
    else if (quote !== '' && c === quote) quote = '';
    else if (quote === '' && (c === '"' || c === "'") && (i === 0 || /[\s[,:-]/.test(raw[i - 1] ?? ''))) quote = c;
    else if (quote === '' && c === '#' && (i === 0 || /\s/.test(raw[i - 1] ?? ''))) return raw.slice(0, i);
  }
  return raw;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  raw.forEach((l, idx) => {
    const no = idx + 1;
    const body = stripComment(l).trimEnd();
    if (body.trim() === '' || body === '---' || body === '...') return;
    const indent = /^ */.exec(body)?.[0].length ?? 0;
    if (body[indent] === '\t') throw new YamlError(no, 'found character that cannot start any token');
    out.push({ no, indent, text: body.slice(indent) });
  });
  return out;
}

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSES = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

/** Types a plain (unquoted) scalar as go-yaml v2 does. */
export function resolvePlain(s: string): YamlValue {
  if (NULLS.has(s)) return null;
  if (TRUES.has(s)) return true;
  if (FALSES.has(s)) return false;
  const plain = s.replace(/_/g, '');
  const int = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]+|[0-9]+)$/.exec(plain);
  if (int !== null) {
    const sign = int[1] === '-' ? -1n : 1n;
    let digits = int[2] ?? '0';
    if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
    const v = sign * BigInt(digits.replace(/^0O/, '0o').replace(/^0X/, '0x').replace(/^0B/, '0b'));
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) return Number(plain);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};

/** Reads a quoted scalar starting at s[0]; returns the value and the rest of the text. */
function readQuoted(s: string, no: number): [string, string] {
  const q = s[0];
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] ?? '';
    if (q === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return [out, s.slice(i + 1)];
      }
      out += c;
    } else if (c === '"') {
      return [out, s.slice(i + 1)];
    } else if (c === '\\') {
      const e = s[i + 1] ?? '';
      const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hex > 0) {
        const h = s.slice(i + 2, i + 2 + hex);
        if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(h))
          throw new YamlError(no, 'did not find expected hexdecimal number');
        out += String.fromCodePoint(parseInt(h, 16));
        i += 1 + hex;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
        i++;
      } else {
        throw new YamlError(no, 'found unknown escape character while parsing a quoted scalar');
      }
    } else {
      out += c;
    }
  }
  throw new YamlError(no, 'found unexpected end of stream');
}

/** Reads a flow sequence starting at s[0] === '['. */
function readFlowSeq(s: string, no: number): [YamlValue[], string] {
  const items: YamlValue[] = [];
  let rest = s.slice(1).trimStart();
  for (;;) {
    if (rest === '') throw new YamlError(no, "did not find expected ',' or ']'");
    if (rest[0] === ']') return [items, rest.slice(1)];
    let item: YamlValue;
    if (rest[0] === '"' || rest[0] === "'") [item, rest] = readQuoted(rest, no);
    else if (rest[0] === '[') [item, rest] = readFlowSeq(rest, no);
    else if (rest[0] === '{') throw new YamlError(no, 'flow mappings are not supported');
    else {
      const end = rest.search(/[,\]]/);
      const text = (end < 0 ? rest : rest.slice(0, end)).trim();
      rest = end < 0 ? '' : rest.slice(end);
      item = resolvePlain(text);
    }
    items.push(item);
    rest = rest.trimStart();
    if (rest[0] === ',') rest = rest.slice(1).trimStart();
    else if (rest[0] !== ']') throw new YamlError(no, "did not find expected ',' or ']'");
  }
}

function inlineValue(text: string, no: number): YamlValue {
  const c = text[0] ?? '';
  let value: YamlValue;
  let rest: string;
  if (c === '"' || c === "'") [value, rest] = readQuoted(text, no);
  else if (c === '[') [value, rest] = readFlowSeq(text, no);
  else if ('{&*!|>%@`'.includes(c)) throw new YamlError(no, `unsupported YAML construct starting with '${c}'`);
  else {
    if (/:(\s|$)/.test(text)) throw new YamlError(no, 'mapping values are not allowed in this context');
    return resolvePlain(text);
  }
  if (rest.trim() !== '') throw new YamlError(no, 'did not find expected key');
  return value;
}

class Reader {
  i = 0;
  constructor(private readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  block(indent: number): YamlValue {
    const first = this.peek();
    if (first === undefined) return null;
    return isSeqItem(first.text) ? this.sequence(first.indent) : this.mapping(indent);
  }

  mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (let l = this.peek(); l !== undefined && l.indent === indent; l = this.peek()) {
      if (isSeqItem(l.text)) throw new YamlError(l.no, 'did not find expected key');
      let key: string;
      let rest: string;
      if (l.text[0] === '"' || l.text[0] === "'") {
        [key, rest] = readQuoted(l.text, l.no);
        rest = rest.trimStart();
        if (rest[0] !== ':') throw new YamlError(l.no, "could not find expected ':'");
        rest = rest.slice(1);
      } else {
        const m = /^([^:]*?)\s*:(\s+|$)(.*)$/.exec(l.text);
        if (m === null) throw new YamlError(l.no, "could not find expected ':'");
        key = m[1] ?? '';
        rest = m[3] ?? '';
      }
      rest = rest.trim();
      this.i++;
      if (rest !== '') {
        out[key] = rest[0] === '[' ? this.flowAcrossLines(rest, l.no) : inlineValue(rest, l.no);
        continue;
      }
      const next = this.peek();
      if (next !== undefined && (next.indent > indent || (next.indent === indent && isSeqItem(next.text)))) {
        out[key] = this.block(next.indent);
      } else {
        out[key] = null;
      }
    }
    const l = this.peek();
    if (l !== undefined && l.indent > indent) throw new YamlError(l.no, 'did not find expected key');
    return out;
  }

  sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let l = this.peek(); l !== undefined && l.indent === indent && isSeqItem(l.text); l = this.peek()) {
      const item = l.text.slice(1).trim();
      this.i++;
      if (item === '') {
        const next = this.peek();
        out.push(next !== undefined && next.indent > indent ? this.block(next.indent) : null);
      } else if (/^[^"'[]*?:(\s|$)/.test(item)) {
        throw new YamlError(l.no, 'mappings inside sequences are not supported');
      } else {
        out.push(item[0] === '[' ? this.flowAcrossLines(item, l.no) : inlineValue(item, l.no));
      }
    }
    return out;
  }

  /** A flow sequence may continue on the following lines until its brackets balance. */
  private flowAcrossLines(text: string, no: number): YamlValue {
    let joined = text;
    while (!balanced(joined)) {
      const next = this.peek();
      if (next === undefined) throw new YamlError(no, "did not find expected ',' or ']'");
      joined += ` ${next.text}`;
      this.i++;
    }
    return inlineValue(joined, no);
  }
}

function isSeqItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function balanced(s: string): boolean {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === '"' && c === '\\') i++;
    else if (quote !== '' && c === quote) quote = '';
    else if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (quote === '' && c === '[') depth++;
    else if (quote === '' && c === ']') depth--;
  }
  return depth <= 0;
}

/** Parses a configuration document; its top level must be a mapping (an empty document gives {}). */
export function parseYaml(text: string): { [key: string]: YamlValue } {
  const lines = splitLines(text);
  if (lines.length === 0) return {};
  const first = lines[0] as Line;
  const r = new Reader(lines);
  const doc = r.block(first.indent);
  const extra = r.peek();
  if (extra !== undefined) throw new YamlError(extra.no, 'did not find expected <document start>');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new YamlError(first.no, 'the configuration must be a mapping of option names to values');
  }
  return doc as { [key: string]: YamlValue };
}
