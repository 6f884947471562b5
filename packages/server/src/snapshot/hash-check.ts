// etcd's snapshot integrity rule: a snapshot saved from a member is its database followed by the
// SHA-256 of the database's bytes. A file whose size is 32 more than a multiple of 512 carries
// that hash (a bbolt database is whole pages); restore checks it unless --skip-hash-check (which a
// bare database copied out of a data dir needs). Texts as etcdutl prints them.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { SNAPSHOT_HASH_SIZE } from './stream.js';

export class SnapshotHashError extends Error {
  override readonly name = 'SnapshotHashError';
}

/** Whether the file of `size` bytes ends with the hash (etcd: size % 512 == sha256.Size). */
export function hasSnapshotHash(size: number): boolean {
  return size % 512 === SNAPSHOT_HASH_SIZE;
}

const goBytes = (b: Uint8Array): string => `[${Array.from(b).join(' ')}]`;

/**
 * Checks `path`'s trailer (unless `skip`) and returns whether it has one. Throws SnapshotHashError
 * with etcd's text when the hash is missing or does not match.
 */
export async function checkSnapshotHash(path: string, skip: boolean): Promise<{ hasHash: boolean; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const hasHash = hasSnapshotHash(size);
    if (skip) return { hasHash, size };
    if (!hasHash) throw new SnapshotHashError('snapshot missing hash but --skip-hash-check=false');
    const dbSize = size - SNAPSHOT_HASH_SIZE;
    const sha = createHash('sha256');
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let pos = 0; pos < dbSize; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, dbSize - pos), pos);
      if (bytesRead === 0) throw new SnapshotHashError(`unexpected end of snapshot at byte ${pos}`);
      sha.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const stored = Buffer.alloc(SNAPSHOT_HASH_SIZE);
    await fh.read(stored, 0, SNAPSHOT_HASH_SIZE, dbSize);
    const computed = sha.digest();
    if (!computed.equals(stored))
      throw new SnapshotHashError(`expected sha256 ${goBytes(stored)}, got ${goBytes(computed)}`);
    return { hasHash, size };
  } finally {
    await fh.close();
  }
}
