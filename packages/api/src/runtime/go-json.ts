// Reading a gateway request body as etcd's gateway does: grpc-gateway decodes the first JSON value
// with Go's encoding/json Decoder and then maps it with golang/protobuf's jsonpb. This module gives
// Go's answers where they differ from JSON.parse:
// - syntax errors carry encoding/json's scanner messages ("invalid character 'x' looking for
//   beginning of value", "unexpected EOF" for a truncated body);
// - only the first value is read: what follows it is ignored, and a body of only whitespace is no
//   value at all (the gateway then decodes an empty request);
// - numbers keep their literal text (JsonNumber), so type errors can quote it as Go does
//   ("json: cannot unmarshal number 1.5 into Go value of type int64").

/** A request body that is not valid JSON for its message, with the message etcd's gateway gives. */
export class JsonDecodeError extends Error {
  override name = 'JsonDecodeError';
}

/** A JSON number as written in the request (Go reports its literal text in type errors). */
export class JsonNumber {
  constructor(readonly raw: string) {}
}

const SP = 0x20;
const isSpace = (c: number): boolean => c === SP || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

const SHORT_ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  0x5c: '\\\\',
};

/** Go's quoteChar: a byte as encoding/json names it in a syntax error (strconv.Quote of the byte as a rune). */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const short = SHORT_ESCAPES[c];
  if (short) return `'${short}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // bytes >= 0x80 are read as the code point U+0080..U+00FF; C1 controls, NBSP and the soft hyphen are not printable
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

class Eof extends Error {}

/**
 * Nesting depth beyond which a value is refused with Go's "exceeded max depth". Go allows 10,000; this
 * recursive reader stays within V8's stack by stopping at 1,000, far above any etcd request (a Txn
 * nested as deep as --max-txn-ops allows is about 4 levels per Txn).
 */
export const MAX_JSON_DEPTH = 1000;

class Scanner {
  i = 0;
  private depth = 0;
  constructor(readonly b: Buffer) {}

  fail(context: string): never {
    if (this.i >= this.b.length) throw new Eof();
    throw new JsonDecodeError(`invalid character ${goQuoteChar(this.b[this.i]!)} ${context}`);
  }

  peek(): number {
    if (this.i >= this.b.length) throw new Eof();
    return this.b[this.i]!;
  }

  skipSpace(): void {
    while (this.i < this.b.length && isSpace(this.b[this.i]!)) this.i++;
  }

  value(): unknown {
    this.skipSpace();
    const c = this.peek();
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    return this.fail('looking for beginning of value');
  }

  private enter(): void {
    if (++this.depth > MAX_JSON_DEPTH) throw new JsonDecodeError('exceeded max depth');
  }

  object(): Record<string, unknown> {
    const o = Object.create(null) as Record<string, unknown>;
    if (this.open(0x7d)) return o;
    do {
      this.skipSpace();
      if (this.peek() !== 0x22) this.fail('looking for beginning of object key string');
      const key = this.string();
      this.skipSpace();
      if (this.peek() !== 0x3a) this.fail('after object key');
      this.i++;
      o[key] = this.value();
    } while (!this.closes(0x7d, 'after object key:value pair'));
    return o;
  }

  array(): unknown[] {
    const a: unknown[] = [];
    if (this.open(0x5d)) return a;
    do {
      a.push(this.value());
    } while (!this.closes(0x5d, 'after array element'));
    return a;
  }

  /** Steps into an object or array (at its opening bracket); true if it is empty (`close` follows). */
  private open(close: number): boolean {
    this.enter();
    this.i++;
    this.skipSpace();
    return this.peek() === close && this.leave();
  }

  /** After an element: true (and out of the object or array) at `close`, false past a comma. */
  private closes(close: number, context: string): boolean {
    this.skipSpace();
    const c = this.peek();
    if (c === close) return this.leave();
    if (c !== 0x2c) this.fail(context);
    this.i++;
    return false;
  }

  private leave(): true {
    this.i++;
    this.depth--;
    return true;
  }

  string(): string {
    const start = this.i;
    this.i++; // "
    for (;;) {
      const c = this.peek();
      if (c === 0x22) break;
      if (c === 0x5c) {
        this.i++;
        const e = this.peek();
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i++;
            if (!isHex(this.peek())) this.fail('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.fail('in string escape code');
        }
      } else if (c < 0x20) {
        this.fail('in string literal');
      }
      this.i++;
    }
    this.i++; // closing "
    return JSON.parse(this.b.toString('utf8', start, this.i)) as string;
  }

  number(): JsonNumber {
    const start = this.i;
    if (this.peek() === 0x2d) {
      this.i++;
      if (!isDigit(this.peek())) this.fail('in numeric literal');
    }
    if (this.peek() === 0x30) this.i++;
    else while (this.i < this.b.length && isDigit(this.b[this.i]!)) this.i++;
    if (this.i < this.b.length && this.b[this.i] === 0x2e) {
      this.i++;
      if (!isDigit(this.peek())) this.fail('after decimal point in numeric literal');
      while (this.i < this.b.length && isDigit(this.b[this.i]!)) this.i++;
    }
    if (this.i < this.b.length && (this.b[this.i] === 0x65 || this.b[this.i] === 0x45)) {
      this.i++;
      const s = this.peek();
      if (s === 0x2b || s === 0x2d) this.i++;
      if (!isDigit(this.peek())) this.fail('in exponent of numeric literal');
      while (this.i < this.b.length && isDigit(this.b[this.i]!)) this.i++;
    }
    return new JsonNumber(this.b.toString('latin1', start, this.i));
  }

  literal(word: string, v: unknown): unknown {
    this.i++;
    for (let k = 1; k < word.length; k++) {
      if (this.peek() !== word.charCodeAt(k)) this.fail(`in literal ${word} (expecting '${word[k]}')`);
      this.i++;
    }
    return v;
  }
}

/**
 * The first JSON value of `body`, as Go's json.Decoder.Decode reads it; `undefined` when the body is
 * only whitespace (Go's io.EOF). Throws JsonDecodeError with Go's message otherwise.
 */
export function decodeFirstValue(body: Buffer | string): unknown {
  const s = new Scanner(typeof body === 'string' ? Buffer.from(body) : body);
  s.skipSpace();
  if (s.i >= s.b.length) return undefined;
  try {
    return s.value(); // whatever follows the first value is not read (Go's Decoder stops there)
  } catch (e) {
    if (e instanceof Eof) throw new JsonDecodeError('unexpected EOF');
    throw e;
  }
}

/** Go's json.Unmarshal of a whole text (used where jsonpb hands a field's text to encoding/json). */
export function unmarshalWhole(text: string): unknown {
  const s = new Scanner(Buffer.from(text));
  try {
    const v = s.value();
    s.skipSpace();
    if (s.i < s.b.length) s.fail('after top-level value');
    return v;
  } catch (e) {
    if (e instanceof Eof) throw new JsonDecodeError('unexpected end of JSON input');
    throw e;
  }
}
