// Record framing. Every WAL record is
//
//   offset 0  u32 LE  crc32c of bytes [4, 8 + len): the length word, the type byte and the payload
//   offset 4  u32 LE  len: 1 (type byte) + payload length; never 0, so a zeroed header is never valid
//   offset 8  u8      type (RecordType)
//   offset 9  payload (len - 1 bytes)
//             zero padding to the next multiple of 8 (not covered by the CRC, but checked to be zero)
//
// Records are 8-byte aligned, so a scan for valid records after damage needs to look only at
// aligned offsets. Payloads use the Raft codec (raft/codec.ts).

import { ByteReader, type ByteWriter, readEntry, readHardState, writeEntry, writeHardState } from '../../raft/codec.js';
import type { Entry, HardState } from '../../raft/types.js';
import { crc32c } from '../../checksum/crc32c.js';
import type { SnapshotMarker } from './types.js';

export enum RecordType {
  /** First record of every segment: format version, sequence number, first index, previous segment's size. */
  Segment = 1,
  Metadata = 2,
  Entry = 3,
  HardState = 4,
  SnapshotMarker = 5,
}

export const RECORD_HEADER_SIZE = 8;
export const RECORD_ALIGN = 8;
/** Larger lengths are treated as damage, not as a record to wait for. */
export const MAX_RECORD_LEN = 512 * 1024 * 1024;
export const SEGMENT_FORMAT_VERSION = 1;

export interface SegmentHeader {
  version: number;
  seq: number;
  firstIndex: number;
  /** Byte size of the previous segment when this one was cut from it; 0 for the first segment. */
  prevSize: number;
}

export function paddedSize(len: number): number {
  const n = RECORD_HEADER_SIZE + len;
  return n + ((RECORD_ALIGN - (n % RECORD_ALIGN)) % RECORD_ALIGN);
}

function begin(w: ByteWriter, type: RecordType): number {
  const start = w.pos;
  for (let i = 0; i < RECORD_HEADER_SIZE; i++) w.u8(0);
  w.u8(type);
  return start;
}

function end(w: ByteWriter, start: number): void {
  const len = w.pos - start - RECORD_HEADER_SIZE;
  const pad = paddedSize(len) - RECORD_HEADER_SIZE - len;
  for (let i = 0; i < pad; i++) w.u8(0);
  w.view.setUint32(start + 4, len, true);
  w.view.setUint32(start, crc32c(w.buf, 0, start + 4, start + RECORD_HEADER_SIZE + len), true);
}

export function writeEntryRecord(w: ByteWriter, e: Entry): void {
  const s = begin(w, RecordType.Entry);
  writeEntry(w, e);
  end(w, s);
}

export function writeHardStateRecord(w: ByteWriter, hs: HardState): void {
  const s = begin(w, RecordType.HardState);
  writeHardState(w, hs);
  end(w, s);
}

export function writeMetadataRecord(w: ByteWriter, metadata: Uint8Array): void {
  const s = begin(w, RecordType.Metadata);
  w.bytes(metadata);
  end(w, s);
}

export function writeSnapshotMarkerRecord(w: ByteWriter, m: SnapshotMarker): void {
  const s = begin(w, RecordType.SnapshotMarker);
  w.uvarint(m.index);
  w.uvarint(m.term);
  end(w, s);
}

export function writeSegmentHeaderRecord(w: ByteWriter, h: SegmentHeader): void {
  const s = begin(w, RecordType.Segment);
  w.uvarint(h.version);
  w.uvarint(h.seq);
  w.uvarint(h.firstIndex);
  w.uvarint(h.prevSize);
  end(w, s);
}

/** The view of `w`'s bytes written so far (no copy: `w` must not be reused). */
export function written(w: ByteWriter): Uint8Array {
  return w.buf.subarray(0, w.pos);
}

export type RecordScan =
  | { ok: true; type: RecordType; payloadStart: number; payloadEnd: number; next: number }
  | {
      ok: false;
      reason: string /** The record runs past the end of the data: what a torn write leaves. */;
      truncated: boolean;
    };

function u32(buf: Uint8Array, o: number): number {
  return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
}

/** Reads the frame at `off`, checking length, CRC and type; does not decode the payload. */
export function scanRecord(buf: Uint8Array, off: number, limit = buf.length): RecordScan {
  if (off + RECORD_HEADER_SIZE > limit) return { ok: false, reason: 'partial record header', truncated: true };
  const crc = u32(buf, off);
  const len = u32(buf, off + 4);
  if (len === 0) {
    return { ok: false, reason: crc === 0 ? 'zeroed record header' : 'zero record length', truncated: false };
  }
  if (len > MAX_RECORD_LEN) return { ok: false, reason: `implausible record length ${len}`, truncated: false };
  const next = off + paddedSize(len);
  if (off + RECORD_HEADER_SIZE + len > limit || next > limit) {
    return { ok: false, reason: `record of ${len} bytes runs past the end of the file`, truncated: true };
  }
  const actual = crc32c(buf, 0, off + 4, off + RECORD_HEADER_SIZE + len);
  if (actual !== crc) {
    return {
      ok: false,
      reason: `CRC mismatch (stored 0x${crc.toString(16)}, computed 0x${actual.toString(16)})`,
      truncated: false,
    };
  }
  for (let i = off + RECORD_HEADER_SIZE + len; i < next; i++) {
    if (buf[i] !== 0) return { ok: false, reason: `nonzero padding at offset ${i}`, truncated: false };
  }
  const type = buf[off + RECORD_HEADER_SIZE]!;
  if (type < RecordType.Segment || type > RecordType.SnapshotMarker) {
    return { ok: false, reason: `unknown record type ${type}`, truncated: false };
  }
  return {
    ok: true,
    type,
    payloadStart: off + RECORD_HEADER_SIZE + 1,
    payloadEnd: off + RECORD_HEADER_SIZE + len,
    next,
  };
}

function reader<T>(buf: Uint8Array, start: number, stop: number, read: (r: ByteReader) => T): T {
  const r = new ByteReader(buf, start, stop);
  const v = read(r);
  if (!r.done) throw new RangeError('trailing bytes in record payload');
  return v;
}

// Payload decoders. They throw RangeError on malformed payloads (which passed the CRC, so the
// writer was wrong, or the file is from another format version).
export const decodeEntryPayload = (buf: Uint8Array, s: number, e: number): Entry => reader(buf, s, e, readEntry);
export const decodeHardStatePayload = (buf: Uint8Array, s: number, e: number): HardState =>
  reader(buf, s, e, readHardState);
export const decodeMetadataPayload = (buf: Uint8Array, s: number, e: number): Uint8Array =>
  reader(buf, s, e, (r) => r.bytes());
export const decodeSnapshotMarkerPayload = (buf: Uint8Array, s: number, e: number): SnapshotMarker =>
  reader(buf, s, e, (r) => ({ index: r.uvarint(), term: r.uvarint() }));
export const decodeSegmentHeaderPayload = (buf: Uint8Array, s: number, e: number): SegmentHeader =>
  reader(buf, s, e, (r) => ({
    version: r.uvarint(),
    seq: r.uvarint(),
    firstIndex: r.uvarint(),
    prevSize: r.uvarint(),
  }));
