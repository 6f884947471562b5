// Helpers for the storage tests (not a test file itself).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Entry, EntryType } from '../src/raft/types.js';
import type { StorageLogEvent } from '../src/storage/wal/types.js';

/** A fresh temp directory, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'conclave-wal-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic payload for (index, term), so replayed data can be checked exactly. */
export function payload(index: number, term: number, size = 32): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (index * 31 + term * 7 + i) & 0xff;
  return b;
}

export function entry(index: number, term = 1, size = 32): Entry {
  return { term, index, type: EntryType.Normal, data: payload(index, term, size) };
}

export function entries(from: number, to: number, term = 1, size = 32): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

export const META = new TextEncoder().encode('member=1 cluster=2');

/** A logger that records events. */
export function collectLogs(): { events: StorageLogEvent[]; logger: (e: StorageLogEvent) => void } {
  const events: StorageLogEvent[] = [];
  return { events, logger: (e) => events.push(e) };
}
