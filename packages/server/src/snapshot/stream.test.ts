// The pieces that let Maintenance.Snapshot stream a database without copying it: chunks written
// after free headroom, framed in place as gRPC messages (frameChunk), hashed on a worker thread
// (workerHasher), and the whole stream from a backend's zero-copy read view.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeMessage, encodeMessage, etcdserverpb, mvccpb } from '@conclave/api';
import { b, openFixture, put } from '../../testing/mvcc-fixture.js';
import { BoltReader, BoltWriter, type BucketInput } from '../storage/bbolt/index.js';
import { inlineHasher, workerHasher } from './hasher.js';
import { FRAME_HEADROOM, frameChunk, openEtcdSnapshot } from './stream.js';

function withHeadroom(body: Buffer): Buffer {
  const buf = Buffer.alloc(FRAME_HEADROOM + body.length, 0xee);
  body.copy(buf, FRAME_HEADROOM);
  return buf.subarray(FRAME_HEADROOM);
}

test('frameChunk frames a chunk in place as one SnapshotResponse message', () => {
  const header = encodeMessage(etcdserverpb.ResponseHeader, {
    clusterId: 0xfedcba9876543210n,
    memberId: 7n,
    revision: 123456n,
    raftTerm: 9n,
  });
  // Blob and remaining sizes whose varints take 1, 2 and 3 bytes; remaining 0 leaves the field out.
  for (const [size, remaining] of [
    [1, 0],
    [100, 127],
    [128, 128],
    [16_383, 300_000],
    [16_384, 0],
    [1 << 20, 2 ** 40],
  ] as const) {
    const body = randomBytes(size);
    const chunk = withHeadroom(body);
    const msg = frameChunk(chunk, header, remaining);
    assert.equal(msg.buffer, chunk.buffer, 'the message shares the chunk’s memory');
    assert.equal(msg.byteOffset + msg.length, chunk.byteOffset + chunk.length, 'the chunk ends the message');
    assert.equal(msg[0], 0, 'not compressed');
    assert.equal(msg.readUInt32BE(1), msg.length - 5, 'length prefix');
    const res = decodeMessage(etcdserverpb.SnapshotResponse, msg.subarray(5));
    assert.ok(Buffer.from(res.blob).equals(body), `blob of ${size} bytes`);
    assert.equal(BigInt(res.remainingBytes), BigInt(remaining));
    assert.equal(BigInt(res.header!.clusterId), 0xfedcba9876543210n);
    assert.equal(BigInt(res.header!.revision), 123456n);
    const whole = encodeMessage(etcdserverpb.SnapshotResponse, {
      header: decodeMessage(etcdserverpb.ResponseHeader, header),
      remainingBytes: remaining,
      blob: body,
    });
    assert.ok(Buffer.from(whole).equals(msg.subarray(5)), 'the bytes the codec would encode');
  }
  assert.throws(() => frameChunk(Buffer.alloc(10), header, 1), /chunk without headroom/);
});

test('the writer leaves headroom before every chunk and writes the same bytes', () => {
  const rand = randomBytes(300_000);
  const buckets: BucketInput[] = [
    {
      name: b('big'),
      *entries() {
        for (let i = 0; i < 2000; i++) {
          const key = Buffer.from(i.toString().padStart(6, '0'));
          yield { key, value: rand.subarray(i * 100, i * 100 + (i % 7 === 0 ? 9000 : 100)) };
        }
      },
    },
    { name: b('small'), entries: () => [{ key: b('k'), value: b('v') }] },
  ];
  const write = (headroom: number): Buffer[] => {
    const w = new BoltWriter(buckets, { chunkSize: 64 * 1024, headroom });
    for (const _ of w.plan());
    return [...w.chunks()];
  };
  const plain = write(0);
  const framed = write(FRAME_HEADROOM);
  assert.ok(plain.length > 3, `${plain.length} chunks`);
  assert.ok(Buffer.concat(plain).equals(Buffer.concat(framed)), 'same file');
  for (const c of framed) assert.ok(c.byteOffset >= FRAME_HEADROOM, 'free bytes in front');
});

async function hashWith(h: ReturnType<typeof inlineHasher>, chunks: Buffer[]): Promise<Buffer> {
  for (const c of chunks) await h.update(c);
  try {
    return await h.digest();
  } finally {
    h.close();
  }
}

test('the worker hasher gives the SHA-256 of every chunk in order, through a ring it wraps around', async () => {
  // Chunks larger than a slot, smaller, empty, and more than the ring holds at once.
  const chunks = [0, 1, 1024, 1025, 5000, 3, 0, 4096, 70_000, 17].map((n) => randomBytes(n));
  const want = createHash('sha256');
  for (const c of chunks) want.update(c);
  const expected = want.digest();
  assert.ok((await hashWith(workerHasher(2, 1024), chunks)).equals(expected), 'worker, 2 slots of 1 KiB');
  assert.ok((await hashWith(workerHasher(), chunks)).equals(expected), 'worker, default ring');
  assert.ok((await hashWith(inlineHasher(), chunks)).equals(expected), 'inline');
});

test('the worker hasher reuses a chunk only after copying it (the caller may overwrite it at once)', async () => {
  const h = workerHasher(2, 1024);
  const buf = Buffer.alloc(3000);
  const want = createHash('sha256');
  for (let i = 0; i < 20; i++) {
    buf.fill(i);
    want.update(buf);
    await h.update(buf);
  }
  assert.ok((await h.digest()).equals(want.digest()));
  h.close();
});

test('closing the worker hasher while an update waits for a free slot ends that update', async () => {
  const h = workerHasher(1, 1024);
  // Fill the ring faster than it can possibly drain, then close while the update waits.
  const pending = h.update(randomBytes(1024 * 200));
  h.close();
  await assert.rejects(Promise.resolve(pending), /hashing (closed|thread stopped)/);
  await assert.rejects(h.digest(), /hashing (closed|thread stopped)/);
});

test('openEtcdSnapshot streams a bbolt file of the backend (zero-copy reads, framed chunks, worker hash)', async () => {
  const fx = await openFixture();
  try {
    const value = randomBytes(3000);
    for (let i = 0; i < 2000; i++) put(fx.store, `k/${i}`, value.subarray(0, 500 + (i % 2500)));
    for (const opts of [{}, { framed: true, chunkSize: 64 * 1024, workerHashFrom: 0 }]) {
      const snap = await openEtcdSnapshot({ view: fx.backend.readView(), members: [], alarms: [] }, opts);
      const parts: Buffer[] = [];
      try {
        for await (const c of snap.chunks()) {
          if (opts.framed) assert.ok(c.byteOffset >= FRAME_HEADROOM);
          parts.push(Buffer.from(c));
        }
        const db = Buffer.concat(parts);
        assert.equal(db.length, snap.size);
        assert.ok((await snap.digest()).equals(createHash('sha256').update(db).digest()), 'trailer');
        const file = join(fx.dir, `snap-${parts.length}.db`);
        writeFileSync(file, db);
        const r = BoltReader.open(file);
        try {
          const keys = r.bucket(b('key'));
          assert.ok(keys, 'key bucket');
          let n = 0;
          let last = 0;
          for (const { value: v } of r.entries(keys)) {
            const kv = decodeMessage(mvccpb.KeyValue, v);
            assert.equal(Buffer.from(kv.key).toString(), `k/${n}`);
            assert.equal(kv.value.length, 500 + (n % 2500));
            last = Number(kv.modRevision);
            n++;
          }
          assert.equal(n, 2000);
          assert.equal(last, fx.store.currentRevision);
        } finally {
          r.close();
        }
      } finally {
        snap.close();
      }
    }
  } finally {
    await fx.close();
  }
});
