// Snapshot file format and names.
//
//   <term>-<index>.snap, both as 16 hex digits (etcd's %016x-%016x.snap)
//
//   offset 0   8 bytes  magic "CNCLSNAP"
//   offset 8   u32 LE   crc32c of every byte from offset 12 to the end of the file
//   offset 12  u32 LE   format version (1)
//   offset 16  u64 LE   body length (the file is exactly 24 + body length bytes)
//   offset 24  body:    uvarint metadata length, SnapshotMetadata (raft/codec), then the data bytes

import { ByteReader, ByteWriter, readSnapshotMetadata, writeSnapshotMetadata } from '../../raft/codec.js';
import type { Snapshot, SnapshotMetadata } from '../../raft/types.js';
import { crc32c } from '../../checksum/crc32c.js';

export const SNAP_SUFFIX = '.snap';
export const BROKEN_SUFFIX = '.broken';
export const TEMP_SUFFIX = '.tmp';
export const SNAP_FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode('CNCLSNAP');
const HEADER_SIZE = 24;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export type SnapErrorCode = 'SNAP_CORRUPT' | 'SNAP_NOT_FOUND';

export class SnapError extends Error {
  readonly code: SnapErrorCode;
  /** The snapshot file concerned (name only). */
  readonly file: string;
  constructor(code: SnapErrorCode, file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapError';
    this.code = code;
    this.file = file;
  }
}

export function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}${SNAP_SUFFIX}`;
}

export function parseSnapName(name: string): { term: number; index: number } | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const term = Number.parseInt(m[1]!, 16);
  const index = Number.parseInt(m[2]!, 16);
  return Number.isSafeInteger(term) && Number.isSafeInteger(index) ? { term, index } : null;
}

/** The file's bytes as pieces for one writev (the data is not copied). */
export function encodeSnapshotFile(s: Snapshot): Uint8Array[] {
  const mw = new ByteWriter(64);
  writeSnapshotMetadata(mw, s.metadata);
  const meta = mw.finish();
  const pw = new ByteWriter(16);
  pw.uvarint(meta.length);
  const prefix = pw.finish();
  const bodyLen = prefix.length + meta.length + s.data.length;

  const header = new Uint8Array(HEADER_SIZE);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint32(12, SNAP_FORMAT_VERSION, true);
  view.setBigUint64(16, BigInt(bodyLen), true);
  let crc = crc32c(header, 0, 12, HEADER_SIZE);
  crc = crc32c(prefix, crc);
  crc = crc32c(meta, crc);
  crc = crc32c(s.data, crc);
  view.setUint32(8, crc, true);
  return [header, prefix, meta, s.data];
}

/** Decodes and verifies a snapshot file; throws SnapError('SNAP_CORRUPT') naming `file`. */
export function decodeSnapshotFile(buf: Uint8Array, file: string): Snapshot {
  const bad = (why: string): SnapError =>
    new SnapError('SNAP_CORRUPT', file, `snap: corrupt snapshot file ${file}: ${why}`);
  if (buf.length < HEADER_SIZE) throw bad(`only ${buf.length} bytes`);
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) throw bad('bad magic');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stored = view.getUint32(8, true);
  const actual = crc32c(buf, 0, 12);
  if (stored !== actual) throw bad(`CRC mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`);
  const version = view.getUint32(12, true);
  if (version !== SNAP_FORMAT_VERSION) throw bad(`unsupported format version ${version}`);
  const bodyLen = view.getBigUint64(16, true);
  if (bodyLen !== BigInt(buf.length - HEADER_SIZE))
    throw bad(`body length ${bodyLen} but file holds ${buf.length - HEADER_SIZE}`);
  let metadata: SnapshotMetadata;
  let dataStart: number;
  try {
    const r = new ByteReader(buf, HEADER_SIZE);
    const metaLen = r.uvarint();
    if (r.pos + metaLen > buf.length) throw new RangeError(`metadata length ${metaLen} runs past the end`);
    const mr = new ByteReader(buf, r.pos, r.pos + metaLen);
    metadata = readSnapshotMetadata(mr);
    if (!mr.done) throw new RangeError('trailing bytes in metadata');
    dataStart = r.pos + metaLen;
  } catch (err) {
    throw bad(`undecodable metadata: ${err instanceof Error ? err.message : String(err)}`);
  }
  const named = parseSnapName(file);
  if (named && (named.index !== metadata.index || named.term !== metadata.term)) {
    throw bad(`metadata says term ${metadata.term}, index ${metadata.index}; the file name disagrees`);
  }
  // A view, not a copy: the buffer holds this one file.
  const data = new Uint8Array(buf.buffer, buf.byteOffset + dataStart, buf.length - dataStart);
  return { metadata, data };
}
