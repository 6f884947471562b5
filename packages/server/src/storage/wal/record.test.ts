import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../../raft/codec.js';
import { crc32c } from '../../checksum/crc32c.js';
import { EntryType } from '../../raft/types.js';
import {
  RECORD_HEADER_SIZE,
  RecordType,
  decodeEntryPayload,
  decodeHardStatePayload,
  decodeMetadataPayload,
  decodeSegmentHeaderPayload,
  decodeSnapshotMarkerPayload,
  paddedSize,
  scanRecord,
  writeEntryRecord,
  writeHardStateRecord,
  writeMetadataRecord,
  writeSegmentHeaderRecord,
  writeSnapshotMarkerRecord,
  written,
} from './record.js';
import { parseSegmentName, segmentName, startSegmentFor } from './segment.js';

function frame(write: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter(8);
  write(w);
  return written(w);
}

test('every record type round-trips through framing, 8-byte aligned', () => {
  const e = { term: 2 ** 40, index: 2 ** 52 + 5, type: EntryType.ConfChange, data: new Uint8Array([1, 2, 3]) };
  const hs = { term: 9, vote: 0xffffffffffffffffn, commit: 77 };
  const seg = { version: 1, seq: 3, firstIndex: 1234, prevSize: 999 };
  const w = new ByteWriter(8);
  writeSegmentHeaderRecord(w, seg);
  writeMetadataRecord(w, new Uint8Array([5, 6]));
  writeEntryRecord(w, e);
  writeHardStateRecord(w, hs);
  writeSnapshotMarkerRecord(w, { index: 10, term: 2 });
  writeEntryRecord(w, { ...e, data: new Uint8Array(0) });
  const buf = written(w);
  const got: unknown[] = [];
  let off = 0;
  while (off < buf.length) {
    assert.equal(off % 8, 0);
    const r = scanRecord(buf, off);
    assert.ok(r.ok);
    const { payloadStart: s, payloadEnd: end } = r;
    if (r.type === RecordType.Segment) got.push(decodeSegmentHeaderPayload(buf, s, end));
    if (r.type === RecordType.Metadata) got.push(decodeMetadataPayload(buf, s, end));
    if (r.type === RecordType.Entry) got.push(decodeEntryPayload(buf, s, end));
    if (r.type === RecordType.HardState) got.push(decodeHardStatePayload(buf, s, end));
    if (r.type === RecordType.SnapshotMarker) got.push(decodeSnapshotMarkerPayload(buf, s, end));
    off = r.next;
  }
  assert.equal(off, buf.length);
  assert.deepEqual(got, [
    seg,
    new Uint8Array([5, 6]),
    e,
    hs,
    { index: 10, term: 2 },
    { ...e, data: new Uint8Array(0) },
  ]);
});

test('padding: record sizes are multiples of 8', () => {
  for (let len = 1; len < 40; len++) {
    const size = paddedSize(len);
    assert.equal(size % 8, 0);
    assert.ok(size >= RECORD_HEADER_SIZE + len && size < RECORD_HEADER_SIZE + len + 8);
  }
});

test('scanRecord rejects a flipped bit anywhere in the CRC-covered bytes', () => {
  const buf = frame((w) =>
    writeEntryRecord(w, { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(20).fill(7) }),
  );
  const covered = RECORD_HEADER_SIZE + (buf[4]! | (buf[5]! << 8));
  for (let i = 0; i < covered; i++) {
    const copy = buf.slice();
    copy[i]! ^= 0x10;
    const r = scanRecord(copy, 0);
    assert.equal(r.ok, false, `flip at ${i}`);
  }
});

test('scanRecord classifies truncation, zero headers and unknown types', () => {
  const buf = frame((w) => writeMetadataRecord(w, new Uint8Array(30)));
  for (let cut = 0; cut < buf.length; cut++) {
    const r = scanRecord(buf.subarray(0, cut), 0);
    assert.ok(!r.ok && r.truncated, `cut ${cut}`);
  }
  const z = scanRecord(new Uint8Array(64), 0);
  assert.ok(!z.ok && !z.truncated && z.reason === 'zeroed record header');
  // A well-formed frame with a type this version does not know.
  const bad = frame((w) => writeMetadataRecord(w, new Uint8Array(3)));
  bad[8] = 42;
  const view = new DataView(bad.buffer, bad.byteOffset);
  view.setUint32(0, crc32c(bad, 0, 4, 8 + view.getUint32(4, true)), true);
  const u = scanRecord(bad, 0);
  assert.ok(!u.ok && /unknown record type 42/.test(u.reason));
});

test('segment names encode sequence and first index in hex, and select the replay start', () => {
  assert.equal(segmentName(1, 0x3e9), '0000000000000001-00000000000003e9.wal');
  assert.deepEqual(parseSegmentName('0000000000000001-00000000000003e9.wal'), {
    name: '0000000000000001-00000000000003e9.wal',
    seq: 1,
    firstIndex: 1001,
  });
  assert.equal(parseSegmentName('0000000000000001-00000000000003e9.wal.tmp'), null);
  assert.equal(parseSegmentName('1-2.wal'), null);
  const segs = [0, 101, 201, 301].map((f, seq) => ({ name: segmentName(seq, f), seq, firstIndex: f }));
  assert.equal(startSegmentFor(segs, 0), 0);
  assert.equal(startSegmentFor(segs, 99), 0);
  assert.equal(startSegmentFor(segs, 100), 1);
  assert.equal(startSegmentFor(segs, 250), 2);
  assert.equal(startSegmentFor(segs, 10_000), 3);
  assert.equal(startSegmentFor(segs.slice(1), 50), -1);
});
