// HPACK (RFC 7541): the header compression of our HTTP/2 server and client. Header names and values are
// latin1 strings, one character per octet, so lengths in characters are lengths in octets.

import { huffmanDecode, huffmanDecodedMax } from './huffman-table.js';

/** A malformed header block; the connection answers it with COMPRESSION_ERROR. */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** The static table (RFC 7541 Appendix A) flattened: entry i (1..61) is [2i] name, [2i + 1] value. */
const STATIC: readonly string[] = [
  '',
  '',
  ':authority',
  '',
  ':method',
  'GET',
  ':method',
  'POST',
  ':path',
  '/',
  ':path',
  '/index.html',
  ':scheme',
  'http',
  ':scheme',
  'https',
  ':status',
  '200',
  ':status',
  '204',
  ':status',
  '206',
  ':status',
  '304',
  ':status',
  '400',
  ':status',
  '404',
  ':status',
  '500',
  'accept-charset',
  '',
  'accept-encoding',
  'gzip, deflate',
  'accept-language',
  '',
  'accept-ranges',
  '',
  'accept',
  '',
  'access-control-allow-origin',
  '',
  'age',
  '',
  'allow',
  '',
  'authorization',
  '',
  'cache-control',
  '',
  'content-disposition',
  '',
  'content-encoding',
  '',
  'content-language',
  '',
  'content-length',
  '',
  'content-location',
  '',
  'content-range',
  '',
  'content-type',
  '',
  'cookie',
  '',
  'date',
  '',
  'etag',
  '',
  'expect',
  '',
  'expires',
  '',
  'from',
  '',
  'host',
  '',
  'if-match',
  '',
  'if-modified-since',
  '',
  'if-none-match',
  '',
  'if-range',
  '',
  'if-unmodified-since',
  '',
  'last-modified',
  '',
  'link',
  '',
  'location',
  '',
  'max-forwards',
  '',
  'proxy-authenticate',
  '',
  'proxy-authorization',
  '',
  'range',
  '',
  'referer',
  '',
  'refresh',
  '',
  'retry-after',
  '',
  'server',
  '',
  'set-cookie',
  '',
  'strict-transport-security',
  '',
  'transfer-encoding',
  '',
  'user-agent',
  '',
  'vary',
  '',
  'via',
  '',
  'www-authenticate',
  '',
]; // prettier-ignore
const STATIC_COUNT = 61;
const ENTRY_OVERHEAD = 32;

/** Integers longer than this many continuation octets (35 bits) exceed anything a block can mean. */
const MAX_INT_OCTETS = 5;

let huffmanOut = Buffer.allocUnsafe(256);

export class HpackDecoder {
  private size = 0;
  private maxSize: number;
  // The dynamic table as a ring: the newest entry sits just before `head`.
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  private head = 0;
  private count = 0;
  /** Read position in the block being decoded; a field so helpers need not return pairs. */
  private pos = 0;

  /** @param limit our SETTINGS_HEADER_TABLE_SIZE: the most a dynamic table size update may ask for */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /**
   * True when the last decode() went past its header-list limit: the fields beyond it were decoded
   * (the dynamic table stays in step with the encoder's) but not returned.
   */
  oversized = false;

  /**
   * Decodes one header block into a flat [name, value, ...] list. Fields are returned while the
   * list's size (RFC 9113 §6.5.2: name + value + 32 octets each) stays within `maxListSize`; a block
   * that goes past it sets `oversized`, costs no more than its own length to read and never
   * materializes more than the limit (a few octets can reference a 4 KiB table entry).
   */
  decode(block: Uint8Array, maxListSize = Infinity): string[] {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    const out: string[] = [];
    let listSize = 0;
    let fields = 0;
    this.oversized = false;
    this.pos = 0;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed field: the common case by far, since gRPC clients index nearly everything.
        const index = this.int(buf, 0x7f);
        if (index === 0) throw new HpackError('indexed field with index 0');
        if (index <= STATIC_COUNT) {
          name = STATIC[index * 2]!;
          value = STATIC[index * 2 + 1]!;
        } else {
          const slot = this.slot(index);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (b & 0x40) {
        name = this.name(buf, this.int(buf, 0x3f));
        value = this.str(buf);
        this.insert(name, value);
      } else if (b & 0x20) {
        // RFC 7541 4.2: updates may only precede the first field of a block.
        if (fields > 0) throw new HpackError('dynamic table size update after a header field');
        const n = this.int(buf, 0x1f);
        if (n > this.limit) throw new HpackError(`dynamic table size update to ${n} exceeds the limit ${this.limit}`);
        this.maxSize = n;
        this.evictTo(n);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): the same to a decoder.
        name = this.name(buf, this.int(buf, 0x0f));
        value = this.str(buf);
      }
      fields++;
      if (this.oversized) continue;
      listSize += ENTRY_OVERHEAD + name.length + value.length;
      if (listSize > maxListSize) this.oversized = true;
      else out.push(name, value);
    }
    return out;
  }

  /** Ring slot of HPACK index `index` (> 61), which must be in the dynamic table. */
  private slot(index: number): number {
    const d = index - STATIC_COUNT;
    if (d > this.count) throw new HpackError(`index ${index} beyond the dynamic table (${this.count} entries)`);
    return (this.head - d) & (this.names.length - 1);
  }

  private name(buf: Buffer, index: number): string {
    if (index === 0) return this.str(buf);
    if (index <= STATIC_COUNT) return STATIC[index * 2]!;
    return this.names[this.slot(index)]!;
  }

  private int(buf: Buffer, mask: number): number {
    let v = buf[this.pos++]! & mask;
    if (v < mask) return v;
    for (let shift = 0; shift < 7 * MAX_INT_OCTETS; shift += 7) {
      if (this.pos >= buf.length) throw new HpackError('truncated integer');
      const b = buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
    throw new HpackError('integer too long');
  }

  private str(buf: Buffer): string {
    if (this.pos >= buf.length) throw new HpackError('truncated block: string expected');
    const huffman = buf[this.pos]! & 0x80;
    const len = this.int(buf, 0x7f);
    const start = this.pos;
    const end = start + len;
    if (end > buf.length) throw new HpackError(`string of ${len} octets overruns the block`);
    this.pos = end;
    if (!huffman) return buf.toString('latin1', start, end);
    const max = huffmanDecodedMax(len);
    if (huffmanOut.length < max) huffmanOut = Buffer.allocUnsafe(Math.max(max, huffmanOut.length * 2));
    const n = huffmanDecode(buf, start, end, huffmanOut);
    if (n < 0) throw new HpackError('bad Huffman string (EOS, or padding not up to 7 one bits)');
    return huffmanOut.toString('latin1', 0, n);
  }

  private insert(name: string, value: string): void {
    const size = ENTRY_OVERHEAD + name.length + value.length;
    // RFC 7541 4.4: an entry larger than the table empties it and is not added.
    this.evictTo(this.maxSize - size);
    if (size > this.maxSize) return;
    if (this.count === this.names.length) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) & (this.names.length - 1);
    this.count++;
    this.size += size;
  }

  private evictTo(target: number): void {
    const mask = this.names.length - 1;
    while (this.count > 0 && this.size > target) {
      const slot = (this.head - this.count) & mask;
      this.size -= ENTRY_OVERHEAD + this.names[slot]!.length + this.values[slot]!.length;
      this.names[slot] = this.values[slot] = '';
      this.count--;
    }
  }

  private grow(): void {
    const cap = this.names.length;
    const names = new Array<string>(cap * 2);
    const values = new Array<string>(cap * 2);
    for (let i = 0; i < cap; i++) {
      const slot = (this.head + i) & (cap - 1); // oldest first, as the ring is full
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.head = cap;
  }
}

interface NameEntry {
  /** Insertion number of each dynamic entry under the name, by value. */
  values: Map<string, number>;
  /** Insertion number of the newest of them. */
  latest: number;
}

const STATIC_NAMES = new Map<string, { index: number; values: Map<string, number> }>();
for (let i = 1; i <= STATIC_COUNT; i++) {
  const name = STATIC[i * 2]!;
  let e = STATIC_NAMES.get(name);
  if (!e) STATIC_NAMES.set(name, (e = { index: i, values: new Map() }));
  e.values.set(STATIC[i * 2 + 1]!, i);
}

/** Headers whose values rarely repeat: indexing them would only push useful entries out. */
const NOT_INDEXED = new Set(['grpc-message', 'grpc-timeout', 'date', 'content-length', 'set-cookie', 'authorization']);
const MAX_INDEXED_VALUE = 64;

let scratch = Buffer.allocUnsafe(1024);

export class HpackEncoder {
  private size = 0;
  /** Insertion numbers of the entries in the table: [evicted, inserted); the newest is HPACK index 62. */
  private inserted = 0;
  private evicted = 0;
  private readonly dynamic = new Map<string, NameEntry>();
  // Entries in insertion order, as a ring indexed by insertion number, for eviction.
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  /** The size the peer's decoder currently uses, i.e. the last one we signalled. */
  private signalled: number;
  private pendingMin = Infinity;

  constructor(private maxSize = 4096) {
    this.signalled = maxSize;
  }

  setMaxTableSize(n: number): void {
    this.maxSize = n;
    this.pendingMin = Math.min(this.pendingMin, n);
    this.evictTo(n);
  }

  encode(headers: readonly string[]): Buffer {
    let buf = scratch;
    let p = 0;
    if (this.pendingMin !== Infinity) {
      // RFC 7541 4.2: after several changes, signal the smallest, then the final size.
      if (this.pendingMin < this.maxSize && this.pendingMin < this.signalled)
        p = writeInt(buf, p, 0x20, 0x1f, this.pendingMin);
      if (p > 0 || this.maxSize !== this.signalled) p = writeInt(buf, p, 0x20, 0x1f, this.maxSize);
      this.signalled = this.maxSize;
      this.pendingMin = Infinity;
    }
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      // Three integers of at most 6 octets, plus both strings.
      const need = p + 18 + name.length + value.length;
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
        buf.copy(bigger, 0, 0, p);
        buf = scratch = bigger;
      }
      const st = STATIC_NAMES.get(name);
      if (st !== undefined) {
        const index = st.values.get(value);
        if (index !== undefined) {
          p = writeInt(buf, p, 0x80, 0x7f, index);
          continue;
        }
      }
      const dyn = this.dynamic.get(name);
      if (dyn !== undefined) {
        const n = dyn.values.get(value);
        if (n !== undefined) {
          p = writeInt(buf, p, 0x80, 0x7f, STATIC_COUNT + this.inserted - n);
          continue;
        }
      }
      // The static index is shorter, and the RFC lets a name refer to the entry this one evicts.
      const nameIndex = st !== undefined ? st.index : dyn !== undefined ? STATIC_COUNT + this.inserted - dyn.latest : 0;
      const size = ENTRY_OVERHEAD + name.length + value.length;
      const indexing = value.length <= MAX_INDEXED_VALUE && size <= this.maxSize && !NOT_INDEXED.has(name);
      p = indexing ? writeInt(buf, p, 0x40, 0x3f, nameIndex) : writeInt(buf, p, 0x00, 0x0f, nameIndex);
      if (nameIndex === 0) p = writeString(buf, p, name);
      p = writeString(buf, p, value);
      if (indexing) this.insert(name, value, size);
    }
    const out = Buffer.allocUnsafe(p);
    // Blocks are mostly a few octets, where a loop beats the native copy's call overhead.
    if (p < 64) for (let i = 0; i < p; i++) out[i] = buf[i]!;
    else buf.copy(out, 0, 0, p);
    return out;
  }

  private insert(name: string, value: string, size: number): void {
    this.evictTo(this.maxSize - size);
    // Looked up after evicting, which may have dropped the name's entry.
    let entry = this.dynamic.get(name);
    if (this.inserted - this.evicted === this.names.length) this.grow();
    const n = this.inserted++;
    const slot = n & (this.names.length - 1);
    this.names[slot] = name;
    this.values[slot] = value;
    this.size += size;
    if (entry === undefined) this.dynamic.set(name, (entry = { values: new Map(), latest: n }));
    entry.values.set(value, n);
    entry.latest = n;
  }

  private evictTo(target: number): void {
    const mask = this.names.length - 1;
    while (this.evicted < this.inserted && this.size > target) {
      const n = this.evicted++;
      const slot = n & mask;
      const name = this.names[slot]!;
      const value = this.values[slot]!;
      this.names[slot] = this.values[slot] = '';
      this.size -= ENTRY_OVERHEAD + name.length + value.length;
      const entry = this.dynamic.get(name)!;
      // A full match is always indexed, so no two live entries share name and value.
      entry.values.delete(value);
      if (entry.latest === n) this.dynamic.delete(name); // it was the only one left with this name
    }
  }

  private grow(): void {
    const cap = this.names.length;
    const names = new Array<string>(cap * 2);
    const values = new Array<string>(cap * 2);
    for (let n = this.evicted; n < this.inserted; n++) {
      names[n & (cap * 2 - 1)] = this.names[n & (cap - 1)]!;
      values[n & (cap * 2 - 1)] = this.values[n & (cap - 1)]!;
    }
    this.names = names;
    this.values = values;
  }
}

/** RFC 7541 5.1 integer with a prefix of `mask` bits under the pattern bits `flags`. */
function writeInt(buf: Buffer, p: number, flags: number, mask: number, v: number): number {
  if (v < mask) {
    buf[p++] = flags | v;
    return p;
  }
  buf[p++] = flags | mask;
  v -= mask;
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[p++] = v;
  return p;
}

/** A raw (not Huffman-coded) string literal: RFC 7541 lets the encoder choose, and raw is cheaper. */
function writeString(buf: Buffer, p: number, s: string): number {
  p = writeInt(buf, p, 0x00, 0x7f, s.length);
  // Header strings are mostly short, where a loop beats the call into the native writer.
  if (s.length < 32) for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
  else p += buf.write(s, p, 'latin1');
  return p;
}
