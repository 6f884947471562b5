// The snapshot directory: durable save, newest-valid load (quarantining corrupt files as
// `.broken`, like etcd), and purge (etcd's --max-snapshots).

import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Snapshot, SnapshotMetadata } from '../../raft/types.js';
import type { StorageLogger } from '../wal/index.js';
import {
  BROKEN_SUFFIX,
  SNAP_SUFFIX,
  SnapError,
  TEMP_SUFFIX,
  decodeSnapshotFile,
  encodeSnapshotFile,
  parseSnapName,
  snapName,
} from './format.js';

export interface SnapshotterOptions {
  logger?: StorageLogger;
  /** Told each save's total, encoding and fsync durations in seconds (etcd's snapshot metrics). */
  observer?: { saveSeconds(total: number, marshal: number, fsync: number): void };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The names in `dir`; none if it does not exist. */
async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export class Snapshotter {
  readonly dir: string;
  private readonly logger: StorageLogger | undefined;
  private readonly observer: SnapshotterOptions['observer'];

  constructor(dir: string, opts: SnapshotterOptions = {}) {
    this.dir = resolve(dir);
    this.logger = opts.logger;
    this.observer = opts.observer;
  }

  /**
   * Writes the snapshot as `<term>-<index>.snap`: to a temp file, fsync, rename, directory fsync.
   * Returns the file name, or null for an empty snapshot (index 0), which is not saved.
   */
  async save(snapshot: Snapshot): Promise<string | null> {
    if (snapshot.metadata.index === 0) return null;
    await mkdir(this.dir, { recursive: true });
    const name = snapName(snapshot.metadata.term, snapshot.metadata.index);
    const tmp = join(this.dir, name + TEMP_SUFFIX);
    const started = performance.now();
    let marshal = 0;
    let fsync = 0;
    const fh = await open(tmp, 'w');
    try {
      const pieces = encodeSnapshotFile(snapshot);
      marshal = performance.now() - started;
      let total = 0;
      for (const p of pieces) total += p.length;
      let done = (await fh.writev(pieces, 0)).bytesWritten;
      if (done < total) {
        const all = Buffer.concat(pieces, total); // short write: finish from one buffer
        while (done < total) done += (await fh.write(all, done, total - done, done)).bytesWritten;
      }
      const t = performance.now();
      await fh.sync();
      fsync = performance.now() - t;
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await rename(tmp, join(this.dir, name));
    await fsyncDir(this.dir);
    this.observer?.saveSeconds((performance.now() - started) / 1000, marshal / 1000, fsync / 1000);
    return name;
  }

  /** Snapshot file names, newest (highest index) first. Ignores temp and `.broken` files. */
  async list(): Promise<string[]> {
    const names = await namesIn(this.dir);
    const snaps: { name: string; term: number; index: number }[] = [];
    for (const name of names) {
      const p = parseSnapName(name);
      if (p) snaps.push({ name, ...p });
    }
    snaps.sort((a, b) => b.index - a.index || b.term - a.term);
    return snaps.map((s) => s.name);
  }

  /** Reads and verifies one snapshot file; throws SnapError (SNAP_NOT_FOUND / SNAP_CORRUPT). */
  async load(name: string): Promise<Snapshot> {
    let file: Buffer;
    try {
      file = await readFile(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SnapError('SNAP_NOT_FOUND', name, `snap: no snapshot file ${name}`, { cause: err });
      throw err;
    }
    return decodeSnapshotFile(new Uint8Array(file.buffer, file.byteOffset, file.byteLength), name);
  }

  /**
   * The newest snapshot that verifies and that `validate` accepts (e.g. one the WAL has a marker
   * for), or null. Corrupt files are renamed to `<name>.broken` and skipped; rejected ones are
   * only skipped.
   */
  async loadNewest(validate?: (meta: SnapshotMetadata) => boolean): Promise<Snapshot | null> {
    for (const name of await this.list()) {
      let snap: Snapshot;
      try {
        snap = await this.load(name);
      } catch (err) {
        if (!(err instanceof SnapError) || err.code !== 'SNAP_CORRUPT') throw err;
        await rename(join(this.dir, name), join(this.dir, name + BROKEN_SUFFIX));
        await fsyncDir(this.dir);
        this.logger?.({
          level: 'warn',
          msg: 'snap: renamed corrupt snapshot',
          file: name,
          to: name + BROKEN_SUFFIX,
          reason: err.message,
        });
        continue;
      }
      if (validate && !validate(snap.metadata)) {
        this.logger?.({ level: 'info', msg: 'snap: skipped snapshot rejected by validate', file: name });
        continue;
      }
      return snap;
    }
    return null;
  }

  /**
   * Keeps the newest `maxSnapshots` snapshot files and deletes the rest, plus leftover temp files
   * (etcd's --max-snapshots; 0 = keep all). Returns the deleted names.
   */
  async purge(maxSnapshots = 5): Promise<string[]> {
    const names = await namesIn(this.dir);
    const victims = names.filter((n) => n.endsWith(SNAP_SUFFIX + TEMP_SUFFIX));
    if (maxSnapshots > 0) victims.push(...(await this.list()).slice(maxSnapshots).reverse());
    if (!victims.length) return [];
    for (const v of victims) await rm(join(this.dir, v), { force: true });
    await fsyncDir(this.dir);
    this.logger?.({ level: 'info', msg: 'snap: purged', files: victims });
    return victims;
  }
}
