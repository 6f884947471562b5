import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bitString,
  boolean,
  encodeLength,
  explicit,
  implicitPrimitive,
  integer,
  namedBits,
  nullValue,
  oid,
  directoryString,
  readChildren,
  readTlv,
  sequence,
  set,
  time,
} from './asn1.js';

const hex = (b: Buffer): string => b.toString('hex');

test('lengths use the short form below 128 and the long form above', () => {
  assert.equal(hex(encodeLength(0)), '00');
  assert.equal(hex(encodeLength(127)), '7f');
  assert.equal(hex(encodeLength(128)), '8180');
  assert.equal(hex(encodeLength(256)), '820100');
  assert.equal(hex(encodeLength(70000)), '83011170');
});

test("INTEGER is minimal two's complement", () => {
  const cases: Array<[bigint | number, string]> = [
    [0, '020100'],
    [2, '020102'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [0xba277ec6e6bc0caa3554476e0b05555an, '021100ba277ec6e6bc0caa3554476e0b05555a'],
  ];
  for (const [v, want] of cases) assert.equal(hex(integer(v)), want, String(v));
});

test('OBJECT IDENTIFIERs encode base-128 arcs', () => {
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(hex(oid('1.2.840.10045.2.1')), '06072a8648ce3d0201');
  assert.equal(hex(oid('2.5.4.10')), '060355040a');
  assert.equal(hex(oid('2.5.29.17')), '0603551d11');
  assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
  assert.throws(() => oid('1'), RangeError);
});

test('strings, booleans, null, bit strings and named bits', () => {
  assert.equal(hex(boolean(true)), '0101ff');
  assert.equal(hex(nullValue()), '0500');
  assert.equal(hex(directoryString('etcd')), '130465746364');
  assert.equal(hex(directoryString('é')), '0c02c3a9', 'UTF8String when not printable');
  assert.equal(hex(bitString(Buffer.from([0xab]))), '030200ab');
  assert.equal(hex(namedBits([0, 2])), '030205a0', 'digitalSignature|keyEncipherment, as Go encodes KeyUsage');
  assert.equal(hex(namedBits([5])), '03020204');
  assert.equal(hex(namedBits([8])), '0303070080');
});

test('times: UTCTime until 2049, GeneralizedTime after', () => {
  assert.equal(
    time(new Date(Date.UTC(2026, 10, 23, 6, 44, 1)))
      .toString('latin1')
      .slice(2),
    '261123064401Z',
  );
  assert.equal(time(new Date(Date.UTC(2026, 10, 23, 6, 44, 1)))[0], 0x17);
  const g = time(new Date(Date.UTC(2050, 0, 1, 0, 0, 0)));
  assert.equal(g[0], 0x18);
  assert.equal(g.toString('latin1').slice(2), '20500101000000Z');
});

test('constructed and context-specific elements read back', () => {
  const der = sequence(
    explicit(0, integer(2)),
    set(integer(2), integer(1)),
    implicitPrimitive(7, Buffer.from([127, 0, 0, 1])),
  );
  const top = readTlv(der);
  assert.equal(top.tag, 0x30);
  assert.equal(top.end, der.length);
  const kids = readChildren(top.content);
  assert.deepEqual(
    kids.map((k) => k.tag),
    [0xa0, 0x31, 0x87],
  );
  assert.deepEqual(
    readChildren(kids[1]?.content ?? Buffer.alloc(0)).map((k) => hex(k.content)),
    ['01', '02'],
    'SET OF sorted',
  );
  assert.equal(hex(kids[2]?.content ?? Buffer.alloc(0)), '7f000001');
  const long = sequence(Buffer.alloc(300, 0x05));
  assert.equal(readTlv(long).content.length, 300);
  assert.throws(() => readTlv(Buffer.from([0x30, 0x05, 0x00])), RangeError);
});
