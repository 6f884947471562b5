import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseEtcdUrl,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoUint,
  parseUrlList,
  splitHostPort,
} from './go-values.js';

test('parseGoBool accepts exactly strconv.ParseBool spellings', () => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(s), false, s);
  for (const s of ['yes', 'no', 'on', 'tRUE', '', ' true']) assert.equal(parseGoBool(s), undefined, s);
});

test('parseGoUint uses base 0 like Go flag values', () => {
  const values: Record<string, bigint> = {
    '100': 100n,
    '0x10': 16n,
    '0X1f': 31n,
    '0o17': 15n,
    '017': 15n,
    '0b101': 5n,
    '1_000': 1000n,
    '0': 0n,
    '18446744073709551615': 2n ** 64n - 1n,
  };
  for (const [s, value] of Object.entries(values)) assert.deepEqual(parseGoUint(s, 64), { ok: true, value }, s);
  for (const s of ['', '-1', '+1', 'abc', '1_', '_1', '1__0', '0x', '08', '1.5', ' 1']) {
    assert.deepEqual(parseGoUint(s, 64), { ok: false, error: 'syntax' }, s);
  }
  assert.deepEqual(parseGoUint('18446744073709551616', 64), { ok: false, error: 'range' });
  assert.deepEqual(parseGoUint('4294967296', 32, 10), { ok: false, error: 'range' });
  assert.deepEqual(parseGoUint('0x10', 32, 10), { ok: false, error: 'syntax' });
});

test('parseGoInt handles signs and the int64 range', () => {
  assert.deepEqual(parseGoInt('-1', 64), { ok: true, value: -1n });
  assert.deepEqual(parseGoInt('+0x10', 64), { ok: true, value: 16n });
  assert.deepEqual(parseGoInt('-9223372036854775808', 64), { ok: true, value: -(2n ** 63n) });
  assert.deepEqual(parseGoInt('9223372036854775808', 64), { ok: false, error: 'range' });
  assert.deepEqual(parseGoInt('-', 64), { ok: false, error: 'syntax' });
});

test('parseGoDuration accepts Go duration syntax and reports Go errors', () => {
  const durations: Record<string, bigint> = {
    '0': 0n,
    '100ms': 100_000_000n,
    '1h30m': 5_400_000_000_000n,
    '1.5h': 5_400_000_000_000n,
    '2h45m10.5s': 9_910_500_000_000n,
    '-1.5s': -1_500_000_000n,
    '+5s': 5_000_000_000n,
    '1us': 1000n,
    '1µs': 1000n,
    '1μs': 1000n,
    '3ns': 3n,
    '.5s': 500_000_000n,
    '1.s': 1_000_000_000n,
  };
  for (const [s, ns] of Object.entries(durations)) assert.deepEqual(parseGoDuration(s), { ok: true, ns }, s);
  const errors: Record<string, string> = {
    abc: 'time: invalid duration "abc"',
    '': 'time: invalid duration ""',
    '-1': 'time: missing unit in duration "-1"',
    '5': 'time: missing unit in duration "5"',
    '1x': 'time: unknown unit "x" in duration "1x"',
    '.s': 'time: invalid duration ".s"',
    '3000000h': 'time: invalid duration "3000000h"',
  };
  for (const [s, error] of Object.entries(errors)) assert.deepEqual(parseGoDuration(s), { ok: false, error }, s);
});

test('splitHostPort mirrors net.SplitHostPort', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:2379'), { host: '127.0.0.1', port: '2379' });
  assert.deepEqual(splitHostPort('[::1]:2379'), { host: '::1', port: '2379' });
  assert.deepEqual(splitHostPort(':2379'), { host: '', port: '2379' });
  assert.deepEqual(splitHostPort('localhost:'), { host: 'localhost', port: '' });
  assert.deepEqual(splitHostPort('127.0.0.1'), { error: 'address 127.0.0.1: missing port in address' });
  assert.deepEqual(splitHostPort('::1:2379'), { error: 'address ::1:2379: too many colons in address' });
  assert.deepEqual(splitHostPort('[::1]'), { error: 'address [::1]: missing port in address' });
  assert.deepEqual(splitHostPort('[::1:2379'), { error: "address [::1:2379: missing ']' in address" });
});

test('parseEtcdUrl validates like types.NewURLs and keeps the URL as written', () => {
  assert.deepEqual(parseEtcdUrl(' http://127.0.0.1:2379 '), {
    scheme: 'http',
    host: '127.0.0.1:2379',
    hostname: '127.0.0.1',
    port: '2379',
    href: 'http://127.0.0.1:2379',
  });
  assert.equal(parseEtcdUrl('https://LocalHost:443').href, 'https://LocalHost:443');
  assert.equal(parseEtcdUrl('HTTP://[::1]:2380').href, 'http://[::1]:2380');
  assert.equal(parseEtcdUrl('unix://localhost:12345').scheme, 'unix');
  assert.throws(() => parseEtcdUrl('foo'), { message: 'URL scheme must be http, https, unix, or unixs: foo' });
  assert.throws(() => parseEtcdUrl(''), { message: 'URL scheme must be http, https, unix, or unixs: ' });
  assert.throws(() => parseEtcdUrl('ftp://a:1'), {
    message: 'URL scheme must be http, https, unix, or unixs: ftp://a:1',
  });
  assert.throws(() => parseEtcdUrl('http://127.0.0.1'), {
    message: 'URL address does not have the form "host:port": http://127.0.0.1',
  });
  assert.throws(() => parseEtcdUrl('http://127.0.0.1:2379/foo'), {
    message: 'URL must not contain a path: http://127.0.0.1:2379/foo',
  });
  assert.throws(() => parseEtcdUrl('http://[::1:2379'), { message: `parse "http://[::1:2379": missing ']' in host` });
  assert.throws(() => parseEtcdUrl('http://a:b'), { message: `parse "http://a:b": invalid port ":b" after host` });
});

test('parseUrlList sorts and de-duplicates like etcd URL flags', () => {
  const hrefs = parseUrlList('http://b:2,http://a:1,http://b:2').map((u) => u.href);
  assert.deepEqual(hrefs, ['http://a:1', 'http://b:2']);
  assert.deepEqual(
    parseUrlList('http://b:2,http://b:2', false).map((u) => u.href),
    ['http://b:2', 'http://b:2'],
  );
});
