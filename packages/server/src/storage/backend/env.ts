// Opening the LMDB environment of one data file with every sub-database of the schema, and the
// page accounting behind dbSizeInUse.

import { open as openLmdb, type Database, type RootDatabase } from 'lmdb';
import { DB_NAMES, DB_OPTIONS, META, metaKey, type DbName } from './schema.js';

export type BinaryDb = Database<Buffer, Buffer>;
export type Dbs = Readonly<Record<DbName, BinaryDb>>;

export interface Env {
  root: RootDatabase<Buffer, Buffer>;
  dbs: Dbs;
  /** The same sub-databases read without copies (see ZERO_COPY_OPTIONS); for reading only. */
  volatile: Dbs;
}

/**
 * Handles whose reads hand out views of LMDB's own buffers instead of copies: a value (and key) is
 * valid only until the next read. For streaming a whole database (snapshots) at memory speed;
 * iterate with `start: Buffer.from([0])` (these handles have no binary key default).
 */
const ZERO_COPY_OPTIONS = {
  encoding: 'zero-copy',
  encoder: {
    encode: (v: Buffer): Buffer => v,
    // lmdb-js's shared value buffer reports the value's size as its `length` but is larger: always
    // take a view of exactly `size` bytes.
    decode: (bytes: Uint8Array, size: number): Uint8Array => bytes.subarray(0, size),
    needsStableBuffer: false,
  },
  keyEncoder: {
    writeKey: (key: Uint8Array, target: Uint8Array, start: number): number => {
      target.set(key, start);
      return start + key.length;
    },
    readKey: (target: Uint8Array, start: number, end: number): Uint8Array => target.subarray(start, end),
  },
} as const;

const WARMUP_VALUE = Buffer.from([1]);

/** Opens `file` (an LMDB data file, noSubdir mode) and every sub-database named in schema.ts. */
export async function openEnv(file: string, mapSize: number): Promise<Env> {
  // overlappingSync (lmdb-js's default on Linux) makes every transactionSync commit wait for an
  // fsync on the calling thread; without it, NO_SYNC_FLUSH commits cost microseconds.
  const root = openLmdb<Buffer, Buffer>({
    path: file,
    noSubdir: true,
    maxDbs: 16,
    mapSize,
    overlappingSync: false,
    ...DB_OPTIONS,
  });
  try {
    const dbs = {} as Record<DbName, BinaryDb>;
    const volatile = {} as Record<DbName, BinaryDb>;
    for (const name of DB_NAMES) {
      dbs[name] = root.openDB<Buffer, Buffer>(name, { ...DB_OPTIONS });
      volatile[name] = root.openDB<Buffer, Buffer>(name, ZERO_COPY_OPTIONS as unknown as typeof DB_OPTIONS);
    }
    // lmdb 3.5.6 has been seen to hang in close() after synchronous transactions when no asynchronous
    // write ever happened on the environment: do one (idempotent) asynchronous write at open.
    await dbs.meta.put(metaKey(META.warmup), WARMUP_VALUE);
    await root.flushed;
    return { root, dbs, volatile };
  } catch (err) {
    await root.close().catch(() => undefined);
    throw err;
  }
}

interface TreeStats {
  pageSize?: number;
  treeBranchPageCount?: number;
  treeLeafPageCount?: number;
  overflowPages?: number;
  root?: TreeStats;
  free?: TreeStats;
}

function treePages(s: TreeStats | undefined): number {
  return s ? (s.treeBranchPageCount ?? 0) + (s.treeLeafPageCount ?? 0) + (s.overflowPages ?? 0) : 0;
}

/** Bytes in pages referenced by the B-trees (2 meta pages + main, free-list and every sub-database). */
export function usedPages(root: RootDatabase<Buffer, Buffer>, dbs: Dbs): number {
  const st = root.getStats() as TreeStats;
  let pages = 2 + treePages(st.root ?? st) + treePages(st.free);
  for (const name of DB_NAMES) pages += treePages(dbs[name].getStats() as TreeStats);
  return pages * (st.pageSize ?? 4096);
}
