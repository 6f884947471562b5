import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY, decodeKeyOf, decodeKeyValue, decodeKvHeader, encodeKeyValue, stripValue } from './kv-codec.js';
import { decodeRevKey, encodeRevKey, isTombstoneKey, revKeyMain, revKeySub } from './revision.js';
import type { KeyValue } from './types.js';

test('revision keys: 17 bytes, tombstone marker, byte order equals revision order', () => {
  const k = encodeRevKey(2, 1);
  assert.equal(k.toString('hex'), '0000000000000002' + '5f' + '0000000000000001');
  const t = encodeRevKey(2, 1, true);
  assert.equal(t.length, 18);
  assert.equal(t[17], 0x74);
  assert.ok(isTombstoneKey(t) && !isTombstoneKey(k));
  assert.deepEqual(decodeRevKey(t), { main: 2, sub: 1, tombstone: true });
  const revs: Array<[number, number]> = [
    [1, 0],
    [1, 5],
    [255, 0],
    [256, 0],
    [2 ** 32 - 1, 3],
    [2 ** 32, 0],
    [2 ** 40 + 7, 2 ** 33],
    [2 ** 53 - 1, 0],
  ];
  const keys = revs.map(([m, s]) => encodeRevKey(m, s));
  for (let i = 1; i < keys.length; i++) assert.ok(Buffer.compare(keys[i - 1]!, keys[i]!) < 0, `order at ${i}`);
  for (const [i, [m, s]] of revs.entries()) {
    assert.equal(revKeyMain(keys[i]!), m);
    assert.equal(revKeySub(keys[i]!), s);
  }
  assert.throws(() => decodeRevKey(Buffer.alloc(5)), RangeError);
});

test('KeyValue encodes like gogoproto: field order, zero fields omitted', () => {
  const kv: KeyValue = {
    key: Buffer.from('foo'),
    createRevision: 2,
    modRevision: 3,
    version: 2,
    value: Buffer.from('bar'),
    lease: 0n,
  };
  assert.equal(encodeKeyValue(kv).toString('hex'), '0a03666f6f' + '1002' + '1803' + '2002' + '2a03626172');
  const tomb: KeyValue = {
    key: Buffer.from('foo'),
    createRevision: 0,
    modRevision: 0,
    version: 0,
    value: EMPTY,
    lease: 0n,
  };
  assert.equal(encodeKeyValue(tomb).toString('hex'), '0a03666f6f');
  const leased = { ...kv, value: EMPTY, lease: 0x694d7e5f3a2b1c0dn, modRevision: 300 };
  const enc = encodeKeyValue(leased);
  assert.equal(enc.subarray(0, 13).toString('hex'), '0a03666f6f' + '1002' + '18ac02' + '2002' + '30');
  assert.deepEqual(decodeKeyValue(enc), leased);
});

test('KeyValue round-trips large, negative and binary values', () => {
  const cases: KeyValue[] = [
    {
      key: Buffer.from([0, 255, 0]),
      createRevision: 2 ** 53 - 1,
      modRevision: 2 ** 40,
      version: 1,
      value: Buffer.alloc(70000, 9),
      lease: 1n,
    },
    { key: Buffer.alloc(10 * 1024, 0xff), createRevision: 1, modRevision: 1, version: 1, value: EMPTY, lease: -5n },
    {
      key: Buffer.from('k'),
      createRevision: 7,
      modRevision: 9,
      version: 3,
      value: Buffer.from('v'),
      lease: (1n << 63n) - 1n,
    },
    {
      key: Buffer.from('k'),
      createRevision: -1,
      modRevision: 9,
      version: 3,
      value: Buffer.from('v'),
      lease: -(1n << 63n),
    },
  ];
  for (const kv of cases) {
    const bytes = encodeKeyValue(kv);
    assert.deepEqual(decodeKeyValue(bytes), kv);
    assert.deepEqual(decodeKeyOf(bytes), kv.key);
    const h = decodeKvHeader(bytes, { key: EMPTY, createRevision: 0, version: 0, lease: 0n });
    assert.deepEqual(h, { key: kv.key, createRevision: kv.createRevision, version: kv.version, lease: kv.lease });
    assert.deepEqual(decodeKeyValue(stripValue(bytes)), { ...kv, value: EMPTY });
  }
  // Negative int64 takes 10 bytes, two's complement.
  const neg = encodeKeyValue({ key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: -1n });
  assert.equal(neg.toString('hex'), `30${'ff'.repeat(9)}01`);
});

test('KeyValue decoding skips unknown fields and rejects truncated input', () => {
  const bytes = Buffer.concat([
    Buffer.from('0a01614801', 'hex'),
    Buffer.from('520200ff', 'hex'),
    Buffer.from('2001', 'hex'),
  ]);
  const kv = decodeKeyValue(bytes);
  assert.deepEqual([kv.key.toString(), kv.version], ['a', 1]);
  assert.throws(() => decodeKeyValue(Buffer.from('0a05616263', 'hex')), RangeError);
  assert.throws(() => decodeKeyValue(Buffer.from('10ff', 'hex')), RangeError);
});
