import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Crc32c, crc32c } from './crc32c.js';

/** Bit-at-a-time reference implementation. */
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c known vectors (check value and RFC 3720 B.4)', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode('The quick brown fox jumps over the lazy dog')), 0x22620404);
});

test('crc32c matches a bitwise reference for every length 0..100 and random offsets', () => {
  const data = randomBytes(4096);
  for (let len = 0; len <= 100; len++) {
    const s = (len * 37) % 64;
    assert.equal(crc32c(data, 0, s, s + len), reference(data.subarray(s, s + len)), `len ${len}`);
  }
  assert.equal(crc32c(data), reference(data));
});

test('crc32c continues across pieces', () => {
  const data = randomBytes(1000);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut), crc32c(data));
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
  }
});

test('Crc32c accumulates pieces like one call over the whole', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(new Crc32c().update(data.subarray(0, cut)).update(data.subarray(cut)).digest(), whole);
  }
  assert.equal(new Crc32c().digest(), 0);
});
