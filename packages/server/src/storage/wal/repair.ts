// Telling a torn tail from corruption, and repairing a torn tail.
//
// A crash can leave the end of the last segment damaged only where writes had not been synced:
// a partial record, zeros (preallocated or newly allocated but unwritten space), or a mix.
// Bytes that were synced are intact, and every acknowledged (synced) write precedes every
// unsynced one. So a bad record in the last segment is a torn tail when
//   - nothing valid follows it (the common case: the process died during the final write), or
//   - valid records follow, but between them lies an entirely zero 512-byte sector: the disk
//     persisted a later sector of the final unsynced writes before an earlier one (power loss).
//     This is etcd's heuristic (decoder.isTornEntry); the records after the gap were never
//     acknowledged, because an acknowledged write implies everything before it was durable.
// Anything else — garbage followed by valid data, or any damage in an earlier segment — is
// corruption of data that was durable, and is reported, never repaired.

import { open } from 'node:fs/promises';
import { RECORD_ALIGN, RECORD_HEADER_SIZE, MAX_RECORD_LEN, scanRecord } from './record.js';

export const SECTOR_SIZE = 512;

export type Damage =
  /** Only zeros from the bad offset to the end of the file. */
  | { kind: 'zeros' }
  /** A torn final write: nothing valid after the bad record. */
  | { kind: 'torn' }
  /** Valid records after an all-zero sector: unsynced writes persisted out of order. */
  | { kind: 'torn-reordered'; nextValid: number; zeroSector: number }
  /** Valid data after non-zero damage. */
  | { kind: 'corrupt'; nextValid: number };

export function isAllZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The offset of the next valid record at an aligned offset after `off`, or -1. */
export function findNextValidRecord(buf: Uint8Array, off: number): number {
  for (let p = off + RECORD_ALIGN; p + RECORD_HEADER_SIZE <= buf.length; p += RECORD_ALIGN) {
    // Cheap filters before the CRC: plausible length and a known type byte.
    const len = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    if (len === 0 || len > MAX_RECORD_LEN || p + RECORD_HEADER_SIZE + len > buf.length) continue;
    const type = buf[p + RECORD_HEADER_SIZE]!;
    if (type < 1 || type > 5) continue;
    if (scanRecord(buf, p).ok) return p;
  }
  return -1;
}

/** Classifies damage found at `off` in the last segment's bytes `buf`. */
export function classifyDamage(buf: Uint8Array, off: number): Damage {
  if (isAllZero(buf, off, buf.length)) return { kind: 'zeros' };
  const nextValid = findNextValidRecord(buf, off);
  if (nextValid < 0) return { kind: 'torn' };
  const firstSector = Math.ceil(off / SECTOR_SIZE) * SECTOR_SIZE;
  for (let s = firstSector; s + SECTOR_SIZE <= nextValid; s += SECTOR_SIZE) {
    if (isAllZero(buf, s, s + SECTOR_SIZE)) return { kind: 'torn-reordered', nextValid, zeroSector: s };
  }
  return { kind: 'corrupt', nextValid };
}

/**
 * Cuts the file at `validEnd` and syncs it. With preallocation the file is extended back to
 * `keepSize` so that the space after the valid data reads as zeros.
 */
export async function truncateTail(path: string, validEnd: number, keepSize: number | null): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(validEnd);
    if (keepSize !== null && keepSize > validEnd) await fh.truncate(keepSize);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
