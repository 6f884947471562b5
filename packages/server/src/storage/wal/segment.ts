// Segment files: naming (`<seq>-<firstIndex>.wal`, both 16 hex digits, as etcd), listing,
// selection for replay and release, and the small durable-I/O helpers the WAL builds on.

import { open, readdir, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface SegmentName {
  /** File name, no directory. */
  name: string;
  seq: number;
  /** lastIndex + 1 when the segment was created: every live entry in earlier segments is below it. */
  firstIndex: number;
}

export const SEGMENT_SUFFIX = '.wal';
export const TEMP_SUFFIX = '.tmp';
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

export function parseSegmentName(name: string): SegmentName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return null;
  return { name, seq, firstIndex };
}

/** The segments in `dir`, by sequence number. Other files are ignored. */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const out: SegmentName[] = [];
  for (const name of await readdir(dir)) {
    const s = parseSegmentName(name);
    if (s) out.push(s);
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Removes leftovers of interrupted segment creation. Returns their names. */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (name.endsWith(SEGMENT_SUFFIX + TEMP_SUFFIX)) {
      await rm(join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}

/**
 * Position in `segs` of the segment replay must start from to see every live entry after
 * `index`: the last one whose firstIndex ≤ index + 1 (earlier segments hold only entries ≤ index,
 * or entries a later write superseded). -1 when every segment starts later (entries are missing).
 */
export function startSegmentFor(segs: readonly SegmentName[], index: number): number {
  let at = -1;
  for (let i = 0; i < segs.length; i++) {
    if (segs[i]!.firstIndex <= index + 1) at = i;
    else break;
  }
  return at;
}

/** fsync a directory so that creates, renames and deletes in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** writev all of `bufs` at `position`, continuing after short writes. */
export async function writeAllAt(fh: FileHandle, bufs: Uint8Array[], position: number): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.length;
  let done = 0;
  let rest = bufs;
  while (done < total) {
    const { bytesWritten } = await fh.writev(rest as NodeJS.ArrayBufferView[], position + done);
    if (bytesWritten <= 0) throw new Error(`wal: writev wrote ${bytesWritten} bytes`);
    done += bytesWritten;
    if (done >= total) break;
    // Drop the fully written buffers and trim the partly written one.
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
  return total;
}

/** Writes `len` zero bytes from `position` in 1 MiB chunks (preallocation). */
export async function writeZeros(fh: FileHandle, position: number, len: number): Promise<void> {
  const chunk = new Uint8Array(Math.min(len, 1 << 20));
  let done = 0;
  while (done < len) {
    const n = Math.min(chunk.length, len - done);
    const { bytesWritten } = await fh.write(chunk, 0, n, position + done);
    done += bytesWritten;
  }
}
