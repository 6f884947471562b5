// CountedHistogram writes the same series as prom-client's own Histogram for the same observations
// (buckets cumulative, +Inf, sum, count), with label names sorted and `le` last, as Go writes them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { CountedHistogram } from './counted-histogram.js';

const lines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

test('the same counts as prom-client for the same observations', async () => {
  const bounds = [0.001, 0.002, 0.004];
  const values = [0.0005, 0.001, 0.0015, 0.003, 0.01, 0.002];
  const mine = new Registry();
  const theirs = new Registry();
  const c = new CountedHistogram(mine, 'h_seconds', 'help', ['op', 'ok'], bounds);
  const p = new Histogram({
    name: 'h_seconds',
    help: 'help',
    labelNames: ['ok', 'op'],
    buckets: bounds,
    registers: [theirs],
  });
  const s = c.series({ op: 'Put', ok: 'true' });
  assert.equal(c.series({ ok: 'true', op: 'Put' }), s, 'one series per label set, whatever the key order');
  for (const v of values) {
    s.observe(v);
    p.observe({ ok: 'true', op: 'Put' }, v);
  }
  const got = lines(await mine.metrics());
  // prom-client writes le first; etcd (Go) writes it last, after the sorted labels
  const want = lines(await theirs.metrics()).map((l) =>
    l.replace(/\{le="([^"]+)",(.*)\}/, (_m, le: string, rest: string) => `{${rest},le="${le}"}`),
  );
  assert.deepEqual(got, want);
  assert.ok(got.includes('h_seconds_bucket{ok="true",op="Put",le="0.002"} 4'));
  assert.ok(got.includes('h_seconds_count{ok="true",op="Put"} 6'));
});

test('a series exists from its first use, at zero', async () => {
  const r = new Registry();
  const c = new CountedHistogram(r, 'z', 'help', ['a'], [1]);
  assert.deepEqual(lines(await r.metrics()), []);
  c.series({ a: 'x' });
  assert.deepEqual(lines(await r.metrics()), [
    'z_bucket{a="x",le="1"} 0',
    'z_bucket{a="x",le="+Inf"} 0',
    'z_sum{a="x"} 0',
    'z_count{a="x"} 0',
  ]);
});
