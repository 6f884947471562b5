// Replay: reads the segments a snapshot needs, checks every record, applies etcd's supersede rule
// (an entry at index i drops every earlier-written entry at ≥ i), and finds the end of valid data
// in the last segment — repairing a torn tail when asked to.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState } from '../../raft/types.js';
import { emptyHardState } from '../../raft/types.js';
import { WalCorruptionError, WalError, WalSnapshotMismatchError, WalSnapshotNotFoundError } from './errors.js';
import {
  RecordType,
  SEGMENT_FORMAT_VERSION,
  decodeEntryPayload,
  decodeHardStatePayload,
  decodeMetadataPayload,
  decodeSegmentHeaderPayload,
  decodeSnapshotMarkerPayload,
  scanRecord,
} from './record.js';
import { classifyDamage, truncateTail } from './repair.js';
import { type SegmentName, listSegments, startSegmentFor } from './segment.js';
import type { SnapshotMarker, StorageLogger, WalReadResult } from './types.js';

export interface ReplayOptions {
  fromSnapshot: SnapshotMarker;
  /** Repair a torn tail (truncate) — or only read up to it. */
  repair: boolean;
  /** Segments are preallocated: zeros after the data are expected, not damage. */
  preallocate: boolean;
  /** Read every segment for markers and hard state only: no entries, no snapshot lookup. */
  scanOnly?: boolean;
  logger?: StorageLogger | undefined;
}

export interface ReplayResult extends WalReadResult {
  /** Every segment in the directory, by sequence number. */
  segments: SegmentName[];
  /** Where valid data ends in the last segment (appends continue here). */
  tailOffset: number;
  /** Index of the last entry written (or the snapshot's / newest marker's index if higher). */
  lastIndex: number;
  /** All snapshot markers in the segments read, in write order. */
  markers: SnapshotMarker[];
}

function corrupt(seg: SegmentName, off: number, reason: string): WalCorruptionError {
  return new WalCorruptionError(seg.name, off, reason);
}

export async function replay(dir: string, opts: ReplayOptions): Promise<ReplayResult> {
  const segments = await listSegments(dir);
  if (segments.length === 0) throw new WalError('WAL_NOT_FOUND', `wal: no segments in ${dir}`);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) {
      throw corrupt(
        segments[i]!,
        0,
        `segment sequence gap: ${segments[i - 1]!.name} is followed by ${segments[i]!.name}`,
      );
    }
  }
  const from = opts.fromSnapshot;
  const start = opts.scanOnly ? 0 : startSegmentFor(segments, from.index);
  if (start < 0) {
    const first = segments[0]!;
    throw corrupt(
      first,
      0,
      `the oldest segment starts at index ${first.firstIndex}, but replay must start after snapshot index ${from.index}`,
    );
  }

  let metadata: Uint8Array | null = null;
  let hardState: HardState = emptyHardState();
  const entries: Entry[] = [];
  const markers: SnapshotMarker[] = [];
  let lastMarker: SnapshotMarker | null = null;
  let foundSnapshot = from.index === 0 || opts.scanOnly === true;
  let prevSize = -1;
  let tailOffset = 0;

  for (let i = start; i < segments.length; i++) {
    const seg = segments[i]!;
    const isLast = i === segments.length - 1;
    const path = join(dir, seg.name);
    const file = await readFile(path);
    // A plain Uint8Array view: decoded byte fields are then copies, not Buffer views pinning the file.
    const buf = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    let off = 0;
    let first = true;
    while (off < buf.length) {
      const rec = scanRecord(buf, off);
      if (!rec.ok) {
        if (!isLast || first) throw corrupt(seg, off, rec.reason);
        const damage = classifyDamage(buf, off);
        if (damage.kind === 'corrupt') {
          throw corrupt(seg, off, `${rec.reason}, followed by a valid record at offset ${damage.nextValid}`);
        }
        if (damage.kind === 'zeros' && opts.preallocate) break; // preallocated space: the normal end
        if (opts.repair) {
          await truncateTail(path, off, opts.preallocate ? buf.length : null);
          opts.logger?.({
            level: 'warn',
            msg: 'wal: repaired torn tail',
            file: seg.name,
            offset: off,
            droppedBytes: buf.length - off,
            damage: damage.kind,
            reason: rec.reason,
          });
        }
        break;
      }
      const { payloadStart: s, payloadEnd: e } = rec;
      try {
        if (first) {
          if (rec.type !== RecordType.Segment)
            throw new RangeError(`first record has type ${rec.type}, not a segment header`);
          const h = decodeSegmentHeaderPayload(buf, s, e);
          if (h.version !== SEGMENT_FORMAT_VERSION)
            throw new RangeError(`unsupported segment format version ${h.version}`);
          if (h.seq !== seg.seq || h.firstIndex !== seg.firstIndex) {
            throw new RangeError(`header says seq ${h.seq}, first index ${h.firstIndex}; the file name disagrees`);
          }
          if (prevSize >= 0 && h.prevSize !== prevSize) {
            throw new RangeError(
              `previous segment was ${h.prevSize} bytes when this one was cut, but is ${prevSize} bytes now`,
            );
          }
          first = false;
        } else {
          switch (rec.type) {
            case RecordType.Segment:
              throw new RangeError('segment header in the middle of a segment');
            case RecordType.Metadata: {
              const m = decodeMetadataPayload(buf, s, e);
              if (metadata && !Buffer.from(metadata).equals(m))
                throw new RangeError('metadata differs from earlier segments');
              metadata = m;
              break;
            }
            case RecordType.HardState:
              hardState = decodeHardStatePayload(buf, s, e);
              break;
            case RecordType.SnapshotMarker: {
              const m = decodeSnapshotMarkerPayload(buf, s, e);
              markers.push(m);
              if (!lastMarker || m.index >= lastMarker.index) lastMarker = m;
              if (m.index === from.index && from.index > 0) {
                if (m.term !== from.term) throw new WalSnapshotMismatchError(from.index, from.term, m.term);
                foundSnapshot = true;
              }
              break;
            }
            case RecordType.Entry: {
              if (opts.scanOnly) break;
              const ent = decodeEntryPayload(buf, s, e);
              if (ent.index > from.index) {
                const up = ent.index - from.index - 1;
                if (up > entries.length) {
                  const have = entries.length ? entries[entries.length - 1]!.index : from.index;
                  throw new RangeError(`entry ${ent.index} follows entry ${have}: entries in between are missing`);
                }
                entries.length = up;
                entries.push(ent);
              } else {
                entries.length = 0; // supersedes everything after it (never happens under Raft)
              }
              break;
            }
          }
        }
      } catch (err) {
        if (err instanceof WalError) throw err;
        throw corrupt(seg, off, err instanceof Error ? err.message : String(err));
      }
      off = rec.next;
    }
    if (first) throw corrupt(seg, 0, 'segment has no header record');
    prevSize = buf.length;
    if (isLast) tailOffset = off;
  }

  if (!foundSnapshot) throw new WalSnapshotNotFoundError(from.index, from.term);
  if (!metadata) throw corrupt(segments[start]!, 0, 'no metadata record');
  const lastEntry = entries.length ? entries[entries.length - 1]!.index : from.index;
  const lastIndex = Math.max(lastEntry, lastMarker?.index ?? 0, from.index);
  return { metadata, hardState, entries, lastSnapshotMarker: lastMarker, segments, tailOffset, lastIndex, markers };
}
