import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatusHub } from '../status/status.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { parseEndpoint } from './endpoint.js';
import { Pool } from './pool.js';
import { UnavailableError } from '../errors/base.js';

test('the breaker opens after the threshold, backs off on repeated failures, closes on success', () => {
  let now = 1000;
  const br = new CircuitBreaker(
    { failureThreshold: 2, minCooldownMs: 100, maxCooldownMs: 400 },
    () => now,
    () => 0.5,
  );
  assert.equal(br.closed, true);
  assert.equal(br.failure(), false);
  assert.equal(br.closed, true);
  assert.equal(br.failure(), true);
  assert.equal(br.state, 'open');
  assert.equal(br.msUntilProbe(), 100);
  now += 60;
  assert.equal(br.msUntilProbe(), 40);
  assert.equal(br.failure(), false); // a failed probe extends the cooldown (doubling)
  assert.equal(br.msUntilProbe(), 200);
  br.failure();
  br.failure();
  assert.equal(br.msUntilProbe(), 400); // capped
  assert.equal(br.success(), true);
  assert.equal(br.closed, true);
  assert.equal(br.success(), false);
  br.failure();
  assert.equal(br.closed, true); // the consecutive count restarted
});

test('endpoint parsing', () => {
  assert.deepEqual(parseEndpoint('127.0.0.1:2379', false), { address: '127.0.0.1:2379', secure: false });
  assert.deepEqual(parseEndpoint('http://10.0.0.1:2379', true), { address: '10.0.0.1:2379', secure: false });
  assert.deepEqual(parseEndpoint('https://host:2379/', false), { address: 'host:2379', secure: true });
  assert.deepEqual(parseEndpoint('localhost:2379', true), { address: 'localhost:2379', secure: true });
  assert.throws(() => parseEndpoint('', false), TypeError);
});

test('the pool round-robins over healthy endpoints, skips open circuits and reports transitions', async () => {
  const hub = new StatusHub();
  const sub = hub.subscribe();
  const down = (): UnavailableError => new UnavailableError({ message: 'down', code: 'Unavailable', retriable: true });
  const pool = new Pool(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], { breaker: { minCooldownMs: 60_000 } }, hub);
  try {
    const [a, b, c] = pool.endpoints;
    const seq = [pool.pick(), pool.pick(), pool.pick(), pool.pick()].map((e) => e.address);
    assert.deepEqual(seq, ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:1']);
    pool.succeeded(b!);
    pool.failed(b!, down());
    const seq2 = Array.from({ length: 4 }, () => pool.pick().address);
    assert.ok(!seq2.includes('127.0.0.1:2'));
    // endpoints already tried by this call are skipped while others remain
    assert.equal(pool.pick(new Set([a!])).address, '127.0.0.1:3');
    assert.equal(pool.hasUntried(new Set([a!, c!])), false);
    // every circuit open: the endpoint due for a probe soonest is still returned
    pool.failed(a!, down());
    pool.failed(c!, down());
    assert.ok(pool.endpoints.includes(pool.pick()));
    pool.succeeded(b!);
    assert.equal(pool.pick().address, '127.0.0.1:2');
  } finally {
    pool.close();
  }
  hub.close();
  const events: string[] = [];
  for await (const e of sub)
    events.push(e.type === 'closed' ? 'closed' : `${e.type} ${'endpoint' in e ? e.endpoint : ''}`);
  assert.deepEqual(events, [
    'connected 127.0.0.1:2',
    'disconnected 127.0.0.1:2',
    'disconnected 127.0.0.1:1',
    'disconnected 127.0.0.1:3',
    'connected 127.0.0.1:2',
    'closed',
  ]);
});

test('setEndpoints keeps existing channels and reports changes', () => {
  const pool = new Pool(['127.0.0.1:1', '127.0.0.1:2'], {}, new StatusHub());
  try {
    const a = pool.get('127.0.0.1:1');
    assert.equal(pool.setEndpoints(['127.0.0.1:1', '127.0.0.1:2']), false);
    assert.equal(pool.setEndpoints(['http://127.0.0.1:1', '127.0.0.1:3']), true);
    assert.equal(pool.get('127.0.0.1:1'), a);
    assert.deepEqual(pool.addresses, ['127.0.0.1:1', '127.0.0.1:3']);
    assert.equal(pool.setEndpoints([]), false);
  } finally {
    pool.close();
  }
});
