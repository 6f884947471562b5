// A snapshot in etcd's format, streamed: the bbolt file of etcd's buckets built from one read
// transaction of the backend, then etcd's trailer (the SHA-256 of the file's bytes). The sizing
// pass runs in slices so the member keeps serving meanwhile; the bytes are produced as the consumer
// asks for them, so memory stays at a few chunks whatever the database size. Keys and values are
// read without copies (the backend's zero-copy view), chunks can leave room in front to be framed
// as gRPC messages in place (frameChunk), and a large file is hashed on a worker thread (hasher.ts).

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BoltWriter } from '../storage/bbolt/index.js';
import { etcdBuckets, type ExportSource } from './export.js';
import { inlineHasher, workerHasher, type Hasher } from './hasher.js';

/** etcd's snapshot trailer: SHA-256 of the database bytes. */
export const SNAPSHOT_HASH_SIZE = 32;

/** Free bytes in front of each chunk of a `framed` stream: room for a message's prefix. */
export const FRAME_HEADROOM = 128;

function varint(b: Buffer, p: number, v: number): number {
  while (v > 0x7f) {
    b[p++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  b[p++] = v;
  return p;
}

const varintLen = (v: number): number => {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
};

/**
 * Frames a chunk of a `framed` stream in place as one gRPC message carrying a SnapshotResponse
 * { header = 1, remaining_bytes = 2, blob = 3 (the chunk) }: the 5-byte gRPC prefix and the fields
 * before the blob go into the free bytes in front of it. Returns the message (the chunk not copied).
 */
export function frameChunk(chunk: Buffer, header: Uint8Array, remaining: number): Buffer {
  const fields =
    1 +
    varintLen(header.length) +
    header.length +
    (remaining > 0 ? 1 + varintLen(remaining) : 0) +
    1 +
    varintLen(chunk.length);
  const start = chunk.byteOffset - fields - 5;
  if (start < Math.max(0, chunk.byteOffset - FRAME_HEADROOM)) throw new RangeError('snapshot: chunk without headroom');
  const msg = Buffer.from(chunk.buffer, start, 5 + fields + chunk.length);
  msg[0] = 0;
  msg.writeUInt32BE(fields + chunk.length, 1);
  let p = 5;
  msg[p++] = 0x0a;
  p = varint(msg, p, header.length);
  msg.set(header, p);
  p += header.length;
  if (remaining > 0) {
    msg[p++] = 0x10;
    p = varint(msg, p, remaining);
  }
  msg[p++] = 0x1a;
  varint(msg, p, chunk.length);
  return msg;
}

export interface EtcdSnapshotStream {
  /** Bytes of the database (the trailer comes on top). */
  readonly size: number;
  /** The database bytes in order. Pull them at the pace they can be sent. */
  chunks(): AsyncGenerator<Buffer, void, void>;
  /** SHA-256 of every byte `chunks()` produced (once it is exhausted). */
  digest(): Promise<Buffer>;
  /** Releases the read transaction and the hashing thread (also done when `chunks()` ends). */
  close(): void;
}

export interface OpenSnapshotOptions {
  /** Bytes per chunk (default 1 MiB). */
  chunkSize?: number;
  /** Keep FRAME_HEADROOM free bytes in front of every chunk, for frameChunk(). */
  framed?: boolean;
  /** Longest stretch of the sizing pass without yielding to the event loop (default 10 ms). */
  sliceMs?: number;
  /** Databases at least this large are hashed on a worker thread (default 16 MiB). */
  workerHashFrom?: number;
  signal?: AbortSignal;
}

/** Sizes the snapshot of `src` (yielding to the event loop now and then) and returns its stream. */
export async function openEtcdSnapshot(src: ExportSource, opts: OpenSnapshotOptions = {}): Promise<EtcdSnapshotStream> {
  let closed = false;
  let hasher: Hasher | null = null;
  const close = (): void => {
    if (closed) return;
    closed = true;
    src.view.release();
    hasher?.close();
  };
  try {
    const writer = new BoltWriter(etcdBuckets(src), {
      chunkSize: opts.chunkSize ?? 1 << 20,
      headroom: opts.framed ? FRAME_HEADROOM : 0,
    });
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
    const h = size >= (opts.workerHashFrom ?? 16 << 20) ? workerHasher() : inlineHasher();
    hasher = h;
    let done = false;
    return {
      size,
      async *chunks() {
        try {
          for (const c of writer.chunks()) {
            await h.update(c);
            yield c;
          }
          done = true;
        } finally {
          // The read transaction is no longer needed; the hasher is, until digest().
          src.view.release();
        }
      },
      async digest() {
        if (!done) throw new Error('snapshot: digest() before the last chunk');
        try {
          return await h.digest();
        } finally {
          close();
        }
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}
