// On-disk layout of the backend directory and the file operations behind defragment, snapshot and
// restore.
//
//   <dir>/kv-000001.mdb        the LMDB data file of generation 1 (noSubdir mode)
//   <dir>/kv-000001.mdb-lock   its LMDB lock file
//   <dir>/kv-000002.mdb        a newer generation, published by defragment/restore; on open the
//                              highest generation wins and older ones are deleted
//   <dir>/*.tmp                copies in progress (never valid; deleted on open)
//
// A new generation is written as `*.tmp`, fsynced, then renamed into place (and the directory
// fsynced), so a crash leaves either the old generation or a complete new one.

import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { BackendError } from './errors.js';
import { dirname, join } from 'node:path';

const DATA_RE = /^kv-(\d{6,})\.mdb$/;

export function dataFileName(gen: number): string {
  return `kv-${String(gen).padStart(6, '0')}.mdb`;
}

/**
 * Creates `dir` if needed, removes leftovers (temporary copies, superseded generations) and returns
 * the generation to open (1 for a new directory).
 */
export async function prepareDir(dir: string): Promise<{ gen: number; file: string }> {
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  let gen = 0;
  for (const name of names) {
    const m = DATA_RE.exec(name);
    if (m?.[1]) gen = Math.max(gen, Number(m[1]));
  }
  for (const name of names) {
    const m = DATA_RE.exec(name);
    const stale = name.endsWith('.tmp') || name.endsWith('.tmp-lock') || (m?.[1] !== undefined && Number(m[1]) < gen);
    if (stale) await removeDataFile(join(dir, name));
    else if (name.endsWith('.mdb-lock') && !names.includes(name.slice(0, -5)))
      await rm(join(dir, name), { force: true });
  }
  if (gen === 0) gen = 1;
  return { gen, file: join(dir, dataFileName(gen)) };
}

/** Removes an LMDB data file and its lock file; missing files are fine. */
export async function removeDataFile(file: string): Promise<void> {
  await rm(file, { force: true });
  await rm(`${file}-lock`, { force: true });
}

/** fsyncs a file's contents. */
export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, making renames and creations in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch (err) {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
    if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  } finally {
    await fh?.close();
  }
}

/** Makes a finished temporary copy durable and moves it to its final name atomically. */
export async function publish(tmp: string, final: string): Promise<void> {
  await fsyncFile(tmp);
  await rm(`${tmp}-lock`, { force: true });
  await rename(tmp, final);
  await fsyncDir(dirname(final));
}

const LMDB_MAGIC = 0xbeefc0de;
const META_MAGIC_OFFSET = 24;

/**
 * Checks that `file` starts with an LMDB meta page, before LMDB maps it: lmdb-js crashes the
 * process (SIGSEGV) when asked to open arbitrary bytes. Deeper corruption is not detected here;
 * snapshots carry their own checksum at the layer that transports them.
 */
export async function checkLmdbFile(file: string): Promise<void> {
  const fh = await open(file, constants.O_RDONLY);
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(META_MAGIC_OFFSET + 8);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const ok = size >= 8192 && bytesRead === head.length && head.readUInt32LE(META_MAGIC_OFFSET) === LMDB_MAGIC;
    if (!ok) throw new BackendError(`backend: ${file} is not an LMDB data file`);
  } finally {
    await fh.close();
  }
}
