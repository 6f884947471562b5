import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBytes, nextKey, prefixEnd, prefixRange, resolveRange, toBytes, toText } from './bytes.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const r2 = (r: { key: Uint8Array; rangeEnd: Uint8Array }): [string, string] => [hex(r.key), hex(r.rangeEnd)];
const eqb = (a: Uint8Array, e: Uint8Array): void => assert.equal(hex(a), hex(e));

test('prefixEnd increments the last byte below 0xff and never aliases its input', () => {
  const p = toBytes('ab');
  eqb(prefixEnd(p), toBytes('ac'));
  assert.equal(toText(p), 'ab');
  eqb(prefixEnd(b(1, 0xff, 0xff)), b(2));
  eqb(prefixEnd(b(0xff, 0xff)), b(0));
  eqb(prefixEnd(b()), b(0));
});

test('resolveRange follows the Go client for prefix, fromKey and end', () => {
  assert.deepEqual(r2(resolveRange('k', undefined)), [hex(toBytes('k')), hex(b())]);
  assert.deepEqual(r2(resolveRange('k/', { prefix: true })), [hex(toBytes('k/')), hex(toBytes('k0'))]);
  assert.deepEqual(r2(resolveRange('', { prefix: true })), [hex(b(0)), hex(b(0))]);
  assert.deepEqual(r2(resolveRange('', { fromKey: true })), [hex(b(0)), hex(b(0))]);
  assert.deepEqual(r2(resolveRange('m', { fromKey: true })), [hex(toBytes('m')), hex(b(0))]);
  assert.deepEqual(r2(resolveRange('a', { end: 'c' })), [hex(toBytes('a')), hex(toBytes('c'))]);
  assert.throws(() => resolveRange('a', { end: 'c', prefix: true }), TypeError);
});

test('prefixRange namespaces keys and maps the keyspace edge to the namespace end', () => {
  const ns = toBytes('ns/');
  assert.deepEqual(r2(prefixRange(ns, toBytes('k'), b())), [hex(toBytes('ns/k')), hex(b())]);
  assert.deepEqual(r2(prefixRange(ns, toBytes('a'), toBytes('c'))), [hex(toBytes('ns/a')), hex(toBytes('ns/c'))]);
  // every key of the namespace
  assert.deepEqual(r2(prefixRange(ns, b(0), b(0))), [hex(toBytes('ns/\0')), hex(toBytes('ns0'))]);
  // from key within the namespace
  assert.deepEqual(r2(prefixRange(ns, toBytes('m'), b(0))), [hex(toBytes('ns/m')), hex(toBytes('ns0'))]);
  // a prefix within the namespace
  const r = resolveRange('p/', { prefix: true });
  assert.deepEqual(r2(prefixRange(ns, r.key, r.rangeEnd)), [hex(toBytes('ns/p/')), hex(toBytes('ns/p0'))]);
  assert.deepEqual(r2(prefixRange(b(), toBytes('x'), b())), [hex(toBytes('x')), hex(b())]);
});

test('binary keys round-trip and order bytewise', () => {
  const k = b(0, 0xff, 0x80, 10);
  assert.equal(toBytes(k), k);
  assert.ok(compareBytes(k, nextKey(k)) < 0);
  assert.ok(compareBytes(b(1), b(1, 0)) < 0);
  assert.equal(compareBytes(b(2, 3), b(2, 3)), 0);
});
