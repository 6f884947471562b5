// Raft entry payloads: round trip, and small payloads share slabs (no ArrayBuffer per entry) without
// overwriting each other; large ones get a buffer of their own.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestKind, decodeRequest, encodeRequest, type InternalRequest } from './raft-request.js';

const req = (i: number, bodyLen: number): InternalRequest => ({
  kind: RequestKind.Put,
  id: BigInt(i) * 0x1_0000_0001n,
  username: i % 3 === 0 ? '' : `user-${i}`,
  authRevision: i,
  body: new Uint8Array(bodyLen).fill(i & 0xff),
});

test('payloads round trip; small ones share slabs, each in its own bytes', () => {
  const reqs = Array.from({ length: 2000 }, (_, i) => req(i, 200 + (i % 97)));
  const encoded = reqs.map(encodeRequest);
  const buffers = new Set(encoded.map((e) => e.buffer));
  assert.ok(buffers.size <= 10, `2000 payloads of ~300 bytes in ${buffers.size} buffers`);
  encoded.forEach((e, i) => {
    const d = decodeRequest(e);
    assert.deepEqual({ ...d, body: [...d.body] }, { ...reqs[i]!, body: [...reqs[i]!.body] }, `request ${i}`);
  });
});

test('a large payload gets a buffer of its own', () => {
  const big = encodeRequest(req(7, 100_000));
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, big.length);
  assert.equal(decodeRequest(big).body.length, 100_000);
});
