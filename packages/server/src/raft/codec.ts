// Binary encoding of Raft's data types, for the WAL and the peer transport.
// Compact and allocation-light: unsigned varints for terms, indexes and lengths (exact to 2^53),
// fixed 8-byte little-endian words for node IDs. Decoders throw RangeError on truncated input.

import {
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type Snapshot,
  type SnapshotMetadata,
  EMPTY_BYTES,
} from './types.js';

export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint of a non-negative safe integer. */
  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`uvarint out of range: ${v}`);
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('raft codec: truncated input');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    throw new RangeError('raft codec: varint too long');
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.uvarint();
    this.need(n);
    const out = n === 0 ? EMPTY_BYTES : this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }
}

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.uvarint(e.term);
  w.uvarint(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

export function readEntry(r: ByteReader): Entry {
  const term = r.uvarint();
  const index = r.uvarint();
  const type = r.u8();
  const data = r.bytes();
  return { term, index, type, data };
}

export function writeHardState(w: ByteWriter, hs: HardState): void {
  w.uvarint(hs.term);
  w.u64(hs.vote);
  w.uvarint(hs.commit);
}

export function readHardState(r: ByteReader): HardState {
  const term = r.uvarint();
  const vote = r.u64();
  const commit = r.uvarint();
  return { term, vote, commit };
}

export function writeConfState(w: ByteWriter, cs: ConfState): void {
  w.uvarint(cs.voters.length);
  for (const id of cs.voters) w.u64(id);
  w.uvarint(cs.learners.length);
  for (const id of cs.learners) w.u64(id);
}

export function readConfState(r: ByteReader): ConfState {
  const voters: bigint[] = [];
  for (let n = r.uvarint(); n > 0; n--) voters.push(r.u64());
  const learners: bigint[] = [];
  for (let n = r.uvarint(); n > 0; n--) learners.push(r.u64());
  return { voters, learners };
}

export function writeSnapshotMetadata(w: ByteWriter, m: SnapshotMetadata): void {
  w.uvarint(m.index);
  w.uvarint(m.term);
  writeConfState(w, m.confState);
}

export function readSnapshotMetadata(r: ByteReader): SnapshotMetadata {
  const index = r.uvarint();
  const term = r.uvarint();
  const confState = readConfState(r);
  return { index, term, confState };
}

export function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  writeSnapshotMetadata(w, s.metadata);
  w.bytes(s.data);
}

export function readSnapshot(r: ByteReader): Snapshot {
  const metadata = readSnapshotMetadata(r);
  const data = r.bytes();
  return { metadata, data };
}

export function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(m.type);
  w.u64(m.to);
  w.u64(m.from);
  w.uvarint(m.term);
  w.uvarint(m.logTerm);
  w.uvarint(m.index);
  w.uvarint(m.commit);
  w.u8(m.reject ? 1 : 0);
  w.uvarint(m.rejectHint);
  w.uvarint(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.snapshot) {
    w.u8(1);
    writeSnapshot(w, m.snapshot);
  } else {
    w.u8(0);
  }
  w.bytes(m.context);
}

export function readMessage(r: ByteReader): Message {
  const type = r.u8();
  const to = r.u64();
  const from = r.u64();
  const term = r.uvarint();
  const logTerm = r.uvarint();
  const index = r.uvarint();
  const commit = r.uvarint();
  const reject = r.u8() === 1;
  const rejectHint = r.uvarint();
  const entries: Entry[] = [];
  for (let n = r.uvarint(); n > 0; n--) entries.push(readEntry(r));
  const snapshot = r.u8() === 1 ? readSnapshot(r) : null;
  const context = r.bytes();
  return { type, to, from, term, logTerm, index, entries, commit, snapshot, reject, rejectHint, context };
}

export function writeConfChange(w: ByteWriter, cc: ConfChange): void {
  w.u8(cc.type);
  w.u64(cc.nodeId);
  w.u64(cc.id);
  w.bytes(cc.context);
}

export function readConfChange(r: ByteReader): ConfChange {
  const type = r.u8();
  const nodeId = r.u64();
  const id = r.u64();
  const context = r.bytes();
  return { type, nodeId, id, context };
}

function encodeWith<T>(write: (w: ByteWriter, v: T) => void, v: T, size = 64): Uint8Array {
  const w = new ByteWriter(size);
  write(w, v);
  return w.finish();
}

export const encodeEntry = (e: Entry): Uint8Array => encodeWith(writeEntry, e, 32 + e.data.length);
export const decodeEntry = (b: Uint8Array): Entry => readEntry(new ByteReader(b));
export const encodeHardState = (hs: HardState): Uint8Array => encodeWith(writeHardState, hs, 32);
export const decodeHardState = (b: Uint8Array): HardState => readHardState(new ByteReader(b));
export const encodeSnapshotMetadata = (m: SnapshotMetadata): Uint8Array => encodeWith(writeSnapshotMetadata, m);
export const decodeSnapshotMetadata = (b: Uint8Array): SnapshotMetadata => readSnapshotMetadata(new ByteReader(b));
export const encodeMessage = (m: Message): Uint8Array => encodeWith(writeMessage, m, 128);
export const decodeMessage = (b: Uint8Array): Message => readMessage(new ByteReader(b));
export const encodeConfChange = (cc: ConfChange): Uint8Array => encodeWith(writeConfChange, cc, 32 + cc.context.length);
export const decodeConfChange = (b: Uint8Array): ConfChange => readConfChange(new ByteReader(b));
