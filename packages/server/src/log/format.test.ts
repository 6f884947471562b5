import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  capnslogTimestamp,
  formatGoDuration,
  formatGoDurationNs,
  formatId,
  goQuote,
  goQuoteList,
  zapTimestamp,
} from './format.js';

test('durations print like Go time.Duration.String()', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [100, '100ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [5000, '5s'],
    [600_000, '10m0s'],
    [5_400_000, '1h30m0s'],
    [7_200_000, '2h0m0s'],
    [1.040592, '1.040592ms'],
    [0.0015, '1.5µs'],
    [-1500, '-1.5s'],
    [90_061_001, '25h1m1.001s'],
  ];
  for (const [ms, want] of cases) assert.equal(formatGoDuration(ms), want, `${ms}ms`);
  assert.equal(formatGoDurationNs(2n), '2ns');
  assert.equal(formatGoDurationNs(1_000n), '1µs');
  assert.equal(formatGoDurationNs(9_223_372_036_854_775_807n), '2562047h47m16.854775807s');
});

test('member IDs print as unpadded lower-case hex, as etcd types.ID does', () => {
  assert.equal(formatId(0xbdae9bbc11dd390dn), 'bdae9bbc11dd390d');
  assert.equal(formatId(0x0123n), '123');
  assert.equal(formatId(-1n), 'ffffffffffffffff');
});

test('goQuote and goQuoteList follow strconv.Quote and %q', () => {
  assert.equal(goQuote('abc'), '"abc"');
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('\n\t\x01'), '"\\n\\t\\x01"');
  assert.equal(goQuote('µs'), '"µs"');
  assert.equal(goQuoteList(['stderr', 'stdout']), '["stderr" "stdout"]');
  assert.equal(goQuoteList([]), '[]');
});

test('zap timestamps: ISO 8601 in local time with milliseconds and a Z0700 zone', () => {
  const saved = process.env['TZ'];
  try {
    process.env['TZ'] = 'UTC';
    assert.equal(zapTimestamp(Date.UTC(2026, 10, 23, 6, 37, 50, 123)), '2026-11-23T06:37:50.123Z');
    process.env['TZ'] = 'Asia/Kolkata';
    assert.equal(zapTimestamp(Date.UTC(2026, 10, 23, 6, 37, 50, 5)), '2026-11-23T12:07:50.005+0530');
    process.env['TZ'] = 'America/New_York';
    assert.equal(zapTimestamp(Date.UTC(2026, 10, 23, 6, 37, 50, 5)), '2026-11-23T01:37:50.005-0500');
  } finally {
    if (saved === undefined) delete process.env['TZ'];
    else process.env['TZ'] = saved;
  }
});

test('capnslog timestamps: local time with microseconds', () => {
  const saved = process.env['TZ'];
  try {
    process.env['TZ'] = 'UTC';
    assert.equal(capnslogTimestamp(Date.UTC(2026, 10, 23, 6, 43, 56) + 53.954), '2026-11-23 06:43:56.053954');
    assert.equal(capnslogTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02 03:04:05.000000');
  } finally {
    if (saved === undefined) delete process.env['TZ'];
    else process.env['TZ'] = saved;
  }
});
