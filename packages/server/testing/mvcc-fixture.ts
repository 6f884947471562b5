// Helpers for the MVCC tests: temporary backends and readable shorthands.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '../src/storage/backend/index.js';
import { MvccStore } from '../src/mvcc/store.js';
import type { KeyValue } from '../src/mvcc/types.js';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A temporary directory removed by `cleanup()`. */
export function tempDir(prefix = 'conclave-mvcc-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Fixture {
  dir: string;
  backend: Backend;
  store: MvccStore;
  /** Closes and reopens backend and store on the same directory. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a backend + store in a fresh directory; `close()` closes them and removes the directory. */
export async function openFixture(): Promise<Fixture> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'data');
  const fx: Fixture = {
    dir,
    backend: await Backend.open({ path }),
    store: undefined as unknown as MvccStore,
    async reopen() {
      await fx.backend.close();
      fx.backend = await Backend.open({ path });
      fx.store = MvccStore.open(fx.backend);
    },
    async close() {
      await fx.backend.close();
      cleanup();
    },
  };
  fx.store = MvccStore.open(fx.backend);
  return fx;
}

/** Puts one key in its own logical transaction; returns the new revision. */
export function put(store: MvccStore, key: string | Buffer, value: string | Buffer, lease = 0n): number {
  const k = typeof key === 'string' ? b(key) : key;
  const v = typeof value === 'string' ? b(value) : value;
  store.write((t) => t.put(k, v, lease));
  return store.currentRevision;
}

/** Deletes [key, end) in its own logical transaction; returns the number deleted. */
export function del(store: MvccStore, key: string, end: string | null = null): number {
  return store.write((t) => t.deleteRange(b(key), end === null ? null : b(end)).deleted);
}

/** A KeyValue as a compact comparable tuple: [key, value, create, mod, version, lease]. */
export function kvt(kv: KeyValue): [string, string, number, number, number, bigint] {
  return [
    kv.key.toString('latin1'),
    kv.value.toString('latin1'),
    kv.createRevision,
    kv.modRevision,
    kv.version,
    kv.lease,
  ];
}

/** Every (revision key, value) stored in the `key` db, hex-encoded, in order. */
export function dumpKeyDb(backend: Backend): string[] {
  const out: string[] = [];
  for (const { key, value } of backend.dbs.key.getRange({}))
    out.push(`${key.toString('hex')}=${value.toString('hex')}`);
  return out;
}

/** The store's key index as plain data: key → [lease, generations as [created, ver, revs]]. */
export function dumpIndex(store: MvccStore): Array<[string, string, Array<[number, number, number[]]>]> {
  const core = (
    store as unknown as { core: { index: { values(): Iterable<import('../src/mvcc/key-index.js').KeyEntry> } } }
  ).core;
  const out: Array<[string, string, Array<[number, number, number[]]>]> = [];
  for (const e of core.index.values()) {
    out.push([
      e.k,
      String(e.lease),
      e.generations().map((g) => [g.created, g.ver, g.revs] as [number, number, number[]]),
    ]);
  }
  return out;
}
