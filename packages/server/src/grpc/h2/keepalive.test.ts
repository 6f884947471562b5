// grpc-go's keepalive rules as Conclave applies them: which client PINGs are strikes, what etcd's
// flags turn into, and the server's PINGs on a silent connection (with real timers, short times).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ETCD_KEEPALIVE, etcdKeepalive, KeepalivePinger, type KeepaliveOptions, PingPolicy } from './keepalive.js';

const opts = (o: Partial<KeepaliveOptions> = {}): KeepaliveOptions => ({
  minTimeMs: 5000,
  permitWithoutStream: false,
  timeMs: 7_200_000,
  timeoutMs: 20_000,
  ...o,
});

/** Feeds PINGs at the given times (ms) with `streams` open; returns the index of the PING that struck out, or -1. */
function strikeOut(
  p: PingPolicy,
  times: number[],
  streams: number,
  sent: (i: number) => boolean = () => false,
): number {
  for (const [i, t] of times.entries()) if (!p.onPing(t, streams, sent(i))) return i;
  return -1;
}

describe('PingPolicy (grpc-go handlePing)', () => {
  test('the first PING is never a strike; the fourth too soon in a row ends the connection', () => {
    assert.equal(strikeOut(new PingPolicy(opts()), [0, 1, 2, 3, 4], 1), 3);
  });

  test('PINGs min-time apart while a stream is open are fine, one sooner is a strike', () => {
    const p = new PingPolicy(opts({ minTimeMs: 500 }));
    assert.equal(strikeOut(p, [0, 500, 1000, 1500, 2000, 2500], 1), -1);
    // three strikes (499 ms each) and the connection would still live: a strike count of 2 is allowed
    assert.equal(strikeOut(p, [2999, 3498], 1), -1);
    assert.equal(strikeOut(p, [3997], 1), 0);
  });

  test('without an open stream, PINGs closer than 2 hours are strikes unless permitted', () => {
    assert.equal(strikeOut(new PingPolicy(opts({ minTimeMs: 500 })), [0, 600, 1200, 1800, 2400], 0), 3);
    assert.equal(
      strikeOut(new PingPolicy(opts({ minTimeMs: 500, permitWithoutStream: true })), [0, 600, 1200, 1800, 2400], 0),
      -1,
    );
    assert.equal(strikeOut(new PingPolicy(opts()), [0, 7_200_001, 14_400_002], 0), -1);
  });

  test('stream data sent since the previous PING clears the strikes', () => {
    // PINGs 1 ms apart, each after the server sent HEADERS or DATA: never too many
    assert.equal(
      strikeOut(new PingPolicy(opts()), [0, 1, 2, 3, 4, 5, 6], 1, () => true),
      -1,
    );
    // two strikes, then data clears them: three more strikes are needed after it
    assert.equal(
      strikeOut(new PingPolicy(opts()), [0, 1, 2, 3, 4, 5, 6, 7], 1, (i) => i === 3),
      6,
    );
  });
});

describe('etcdKeepalive (etcd flags → grpc-go options)', () => {
  test('etcd defaults', () => {
    assert.deepEqual(ETCD_KEEPALIVE, {
      minTimeMs: 5000,
      permitWithoutStream: false,
      timeMs: 7_200_000,
      timeoutMs: 20_000,
    });
  });

  test('0 leaves grpc-go its own defaults (5 min policy; 2 h / 20 s pings), it disables nothing', () => {
    assert.equal(etcdKeepalive(0, 1000, 1000).minTimeMs, 300_000);
    assert.equal(etcdKeepalive(-1, 1000, 1000).minTimeMs, 300_000);
    assert.deepEqual(etcdKeepalive(5000, 0, 3000), etcdKeepalive(5000, 7_200_000, 20_000));
    assert.deepEqual(etcdKeepalive(5000, 3000, 0), etcdKeepalive(5000, 7_200_000, 20_000));
  });

  test('given values are taken; a ping interval below 1 s is raised to 1 s, as grpc-go does', () => {
    assert.deepEqual(etcdKeepalive(250, 30_000, 3000), {
      minTimeMs: 250,
      permitWithoutStream: false,
      timeMs: 30_000,
      timeoutMs: 3000,
    });
    assert.equal(etcdKeepalive(5000, 200, 3000).timeMs, 1000);
  });
});

describe('KeepalivePinger (grpc-go keepalive loop)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function fakeConnection() {
    const c = {
      last: performance.now(),
      pings: [] as number[],
      killedAt: -1,
      start: performance.now(),
      lastRead: () => c.last,
      sendPing: () => c.pings.push(performance.now() - c.start),
      kill: () => (c.killedAt = performance.now() - c.start),
    };
    return c;
  }

  test('a silent peer gets a PING after the interval and is closed when the timeout passes too', async () => {
    const c = fakeConnection();
    const p = new KeepalivePinger(opts({ timeMs: 100, timeoutMs: 150 }), c);
    await sleep(400);
    p.stop();
    assert.equal(c.pings.length, 1);
    assert.ok(c.pings[0]! >= 95 && c.pings[0]! < 180, `ping at ${c.pings[0]}`);
    // timeout 150 > interval 100: checks at 200 and 250, the second closes
    assert.ok(c.killedAt >= 240 && c.killedAt < 360, `killed at ${c.killedAt}`);
  });

  test('a peer that answers (anything read) is pinged every interval and kept', async () => {
    const c = fakeConnection();
    const p = new KeepalivePinger(opts({ timeMs: 60, timeoutMs: 40 }), {
      lastRead: () => c.lastRead(),
      sendPing: () => {
        c.sendPing();
        // the ack arrives 5 ms later
        setTimeout(() => (c.last = performance.now()), 5);
      },
      kill: c.kill,
    });
    await sleep(420);
    p.stop();
    assert.equal(c.killedAt, -1);
    assert.ok(c.pings.length >= 4 && c.pings.length <= 7, `${c.pings.length} pings`);
  });

  test('a peer that keeps sending is never pinged', async () => {
    const c = fakeConnection();
    const p = new KeepalivePinger(opts({ timeMs: 80, timeoutMs: 40 }), c);
    const feed = setInterval(() => (c.last = performance.now()), 20);
    await sleep(300);
    clearInterval(feed);
    p.stop();
    assert.deepEqual(c.pings, []);
    assert.equal(c.killedAt, -1);
  });

  test('stop() ends it: no PING, no close', async () => {
    const c = fakeConnection();
    new KeepalivePinger(opts({ timeMs: 30, timeoutMs: 30 }), c).stop();
    await sleep(120);
    assert.deepEqual(c.pings, []);
    assert.equal(c.killedAt, -1);
  });
});
