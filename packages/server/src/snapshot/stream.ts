// A snapshot in etcd's format, streamed: the bbolt file of etcd's buckets built from one read
// transaction of the backend, then etcd's trailer (the SHA-256 of the file's bytes). The sizing
// pass runs in slices so the member keeps serving meanwhile; the bytes are produced as the consumer
// asks for them, so memory stays at a few chunks whatever the database size.

import { createHash, type Hash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BoltWriter } from '../storage/bbolt/index.js';
import { etcdBuckets, type ExportSource } from './export.js';

/** etcd's snapshot trailer: SHA-256 of the database bytes. */
export const SNAPSHOT_HASH_SIZE = 32;

export interface EtcdSnapshotStream {
  /** Bytes of the database (the trailer comes on top). */
  readonly size: number;
  /** The database bytes in order. Pull them at the pace they can be sent. */
  chunks(): Generator<Buffer, void, void>;
  /** SHA-256 of every byte `chunks()` produced (once it is exhausted). */
  digest(): Buffer;
  /** Releases the read transaction (also done when `chunks()` ends or is abandoned). */
  close(): void;
}

export interface OpenSnapshotOptions {
  /** Bytes per chunk (default 1 MiB). */
  chunkSize?: number;
  /** Longest stretch of the sizing pass without yielding to the event loop (default 10 ms). */
  sliceMs?: number;
  signal?: AbortSignal;
}

/** Sizes the snapshot of `src` (yielding to the event loop now and then) and returns its stream. */
export async function openEtcdSnapshot(src: ExportSource, opts: OpenSnapshotOptions = {}): Promise<EtcdSnapshotStream> {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    src.view.release();
  };
  try {
    const writer = new BoltWriter(etcdBuckets(src), { chunkSize: opts.chunkSize ?? 1 << 20 });
    const slice = opts.sliceMs ?? 10;
    let t = performance.now();
    for (const _ of writer.plan()) {
      if (performance.now() - t < slice) continue;
      await yieldToLoop();
      opts.signal?.throwIfAborted();
      if (closed) throw new Error('snapshot closed');
      t = performance.now();
    }
    const size = writer.byteSize;
    const sha: Hash = createHash('sha256');
    let digest: Buffer | null = null;
    return {
      size,
      *chunks() {
        try {
          for (const c of writer.chunks()) {
            sha.update(c);
            yield c;
          }
          digest = sha.digest();
        } finally {
          close();
        }
      },
      digest() {
        if (!digest) throw new Error('snapshot: digest() before the last chunk');
        return digest;
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}
