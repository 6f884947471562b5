// Reads etcd configuration files with the `yaml` library (YAML 1.1, as go-yaml v2 which etcd uses):
// block and flow collections, quoted and block scalars (| >), anchors and aliases, merge keys (<<),
// comments, several documents (the first is read, as etcd does). Plain scalars are typed as go-yaml
// v2 types them (resolvePlain): null (~, null, empty), bools (true/false/yes/no/on/off/y/n),
// integers (decimal, 0x hex, 0 octal, 0b binary, "_" separators), floats, else strings. Refused with
// etcd's messages: bytes that are not UTF-8 (UTF-16 with a byte-order mark is read), nesting deeper
// than 500; other syntax errors carry the line number. Aliases may expand to at most
// MAX_EXPANDED nodes (a "billion laughs" file is refused).

import { createRequire } from 'node:module';
import type { Document, LineCounter, Node } from 'yaml';

/**
 * The yaml library, loaded when a configuration file is first read: a member started with flags
 * only does not load it (it took ~75 ms of every start-up and its code stayed in memory).
 */
let lib: typeof import('yaml') | undefined;
const yaml = (): typeof import('yaml') => (lib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

export type YamlValue = string | number | bigint | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  /** `line` 0: the error has no position (etcd prints none then). */
  constructor(
    readonly line: number,
    what: string,
  ) {
    super(line > 0 ? `yaml: line ${line}: ${what}` : `yaml: ${what}`);
  }
}

/**
 * Nesting depth refused with go-yaml's message. go-yaml's limit is 10,000; the library's parser
 * recurses and runs out of stack beyond about 840 nested flow sequences, and no configuration
 * nests more than a few levels.
 */
const MAX_DEPTH = 500;
/** Nodes the document may expand to through aliases. */
const MAX_EXPANDED = 100_000;

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

/** The file's text: UTF-8 (a BOM is dropped), or UTF-16 with a byte-order mark, as go-yaml reads. */
function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new YamlError(0, utf8Problem(bytes));
  }
}

/** go-yaml's words for the first bad UTF-8 sequence. */
function utf8Problem(b: Uint8Array): string {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : (c & 0xe0) === 0xc0 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 ? 4 : 0;
    if (n === 0) return 'invalid leading UTF-8 octet';
    if (i + n > b.length) return 'incomplete UTF-8 octet sequence';
    for (let k = 1; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 'invalid trailing UTF-8 octet';
    i += n;
  }
  return 'invalid Unicode character';
}

/**
 * Nesting depth of the text, counted before the library parses it (its parser recurses, and a
 * deeply nested file would cost seconds): open flow brackets outside quotes and comments, plus the
 * number of block levels (each greater indentation, each "- " on a line).
 */
function exceedsDepth(text: string): boolean {
  const indents: number[] = [];
  let flow = 0;
  for (const line of text.split('\n')) {
    let i = 0;
    while (line[i] === ' ') i++;
    if (flow === 0 && i < line.length && line[i] !== '#') {
      while (indents.length > 0 && indents[indents.length - 1]! >= i) indents.pop();
      indents.push(i);
      let j = i;
      while (line[j] === '-' && (line[j + 1] === ' ' || j + 1 === line.length)) {
        j += 2;
        while (line[j] === ' ') j++;
        indents.push(j);
      }
    }
    let quote = '';
    for (let k = i; k < line.length; k++) {
      const c = line[k];
      if (quote === '"' && c === '\\') k++;
      else if (quote !== '' && c === quote) quote = '';
      else if (quote === '' && (c === '"' || c === "'")) quote = c;
      else if (quote === '' && c === '#' && (k === 0 || line[k - 1] === ' ')) break;
      else if (quote === '' && (c === '[' || c === '{')) {
        if (indents.length + ++flow > MAX_DEPTH) return true;
      } else if (quote === '' && (c === ']' || c === '}')) flow = Math.max(0, flow - 1);
    }
    if (indents.length + flow > MAX_DEPTH) return true;
  }
  return false;
}

/** Converts the library's nodes to plain values, typing plain scalars as go-yaml v2. */
class Converter {
  private expanded = 0;

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private fail(node: Node | null, what: string): never {
    const at = node?.range?.[0];
    throw new YamlError(at === undefined ? 0 : this.lines.linePos(at).line, what);
  }

  value(node: unknown, depth: number): YamlValue {
    if (depth > MAX_DEPTH) throw new YamlError(0, `exceeded max depth of ${MAX_DEPTH}`);
    if (++this.expanded > MAX_EXPANDED)
      this.fail(node as Node, `document expands to more than ${MAX_EXPANDED} nodes through aliases`);
    if (node === null || node === undefined) return null;
    if (yaml().isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined) this.fail(node, `unknown anchor '${node.source}' referenced`);
      return this.value(target, depth + 1);
    }
    if (yaml().isScalar(node)) {
      const v = node.value;
      const text = typeof v === 'string' ? v : String(v);
      const tag = node.tag;
      if (tag === undefined || tag === '!') return node.type === 'PLAIN' ? resolvePlain(text) : text;
      if (tag === 'tag:yaml.org,2002:str' || tag === 'tag:yaml.org,2002:binary') return text;
      if (/^tag:yaml\.org,2002:(int|float|bool|null)$/.test(tag)) return resolvePlain(text);
      return this.fail(node, `unsupported tag ${tag}`);
    }
    if (yaml().isSeq(node)) return node.items.map((item) => this.value(item, depth + 1));
    if (yaml().isMap(node)) {
      const out: { [key: string]: YamlValue } = {};
      const merged: Array<{ [key: string]: YamlValue }> = [];
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (yaml().isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<') {
          merged.push(...this.mergeSources(this.value(pair.value, depth + 1), keyNode));
          continue;
        }
        const key = this.value(keyNode, depth + 1);
        if (key !== null && typeof key === 'object') this.fail(keyNode, 'a mapping key must be a scalar');
        out[key === null ? 'null' : String(key)] = this.value(pair.value, depth + 1);
      }
      // Merged mappings fill in keys the mapping does not set itself; earlier sources win.
      for (const src of merged) for (const [k, v] of Object.entries(src)) if (!(k in out)) out[k] = v;
      return out;
    }
    return this.fail(node as Node, 'unexpected YAML node');
  }

  private mergeSources(v: YamlValue, at: Node): Array<{ [key: string]: YamlValue }> {
    const list = Array.isArray(v) ? v : [v];
    return list.map((m) => {
      if (m === null || typeof m !== 'object' || Array.isArray(m))
        this.fail(at, 'map merge requires map or sequence of maps as the value');
      return m as { [key: string]: YamlValue };
    });
  }
}

/**
 * Parses a configuration document (text or the file's bytes); its top level must be a mapping (an
 * empty document gives {}).
 */
export function parseYaml(input: string | Uint8Array): { [key: string]: YamlValue } {
  const text = typeof input === 'string' ? input : decodeText(input);
  if (exceedsDepth(text)) throw new YamlError(0, `exceeded max depth of ${MAX_DEPTH}`);
  const { LineCounter, parseAllDocuments } = yaml();
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    version: '1.1',
    schema: 'failsafe',
    uniqueKeys: false,
    prettyErrors: false,
    lineCounter: lines,
  });
  const doc = Array.isArray(docs) ? docs[0] : undefined;
  if (doc === undefined) return {};
  const err = doc.errors[0];
  if (err) throw new YamlError(lines.linePos(err.pos[0]).line, err.message);
  const top = new Converter(doc, lines).value(doc.contents, 0);
  if (top === null) return {};
  if (typeof top !== 'object' || Array.isArray(top)) {
    const at = doc.contents?.range?.[0] ?? 0;
    throw new YamlError(lines.linePos(at).line, 'the configuration must be a mapping of option names to values');
  }
  return top;
}
