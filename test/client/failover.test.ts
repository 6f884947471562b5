// Failures under load, against every multi-member target: an endpoint down at start, the leader
// killed during reads, writes, watches and keepalives, a member that stops answering (abort and
// deadline), compaction while a watch is disconnected, every endpoint down, and endpoint auto-sync
// after a member is added. The tests run in order on one cluster and leave it whole between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AbortedError,
  CompactedError,
  ConclaveError,
  UnavailableError,
  type Client,
  type StatusEvent,
  type WatchBatch,
  type WatchEvent,
} from '@conclave/client';
import { describeTargets, type ClusterControl } from './targets.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for a status event matching `pred` (collecting every event into `log`). */
async function waitForStatus(
  c: Client,
  pred: (e: StatusEvent) => boolean,
  ms: number,
  log: StatusEvent[] = [],
): Promise<StatusEvent> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for await (const e of c.status({ signal: ac.signal })) {
      log.push(e);
      if (pred(e)) return e;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`no matching status event within ${ms} ms; saw ${log.map((e) => e.type).join(', ')}`);
}

/** Every event of a watch until one at `revision` or later has arrived. */
async function eventsUntil(
  it: AsyncIterator<WatchBatch>,
  revision: bigint,
  out: WatchEvent[],
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!out.length || out[out.length - 1]!.kv.modRevision < revision) {
    assert.ok(Date.now() < deadline, `watch stalled at ${out.at(-1)?.kv.modRevision} waiting for ${revision}`);
    const r = await it.next();
    assert.ok(!r.done, 'watch ended');
    if (r.value.type === 'events') out.push(...r.value.events);
  }
}

describeTargets(['multiMember', 'watch', 'lease'], (ctx) => {
  const cluster = (): ClusterControl => {
    assert.ok(ctx.running.cluster, 'the target has member control');
    return ctx.running.cluster;
  };

  test('one endpoint down at start: every call succeeds; the endpoint is probed back after a restart', async () => {
    const cl = cluster();
    const down = ((await cl.leader()) + 1) % cl.endpoints.length;
    await cl.kill(down);
    let restarted = false;
    try {
      const c = ctx.newClient({ circuitBreaker: { minCooldownMs: 100, maxCooldownMs: 500 } });
      const log: StatusEvent[] = [];
      const disconnected = waitForStatus(
        c,
        (e) => e.type === 'disconnected' && e.endpoint === cl.endpoints[down],
        5000,
        log,
      );
      for (let i = 0; i < 10; i++) {
        await c.put(`down/${i}`, String(i));
        assert.equal((await c.get(`down/${i}`))?.valueString, String(i));
      }
      await disconnected;
      // the restart itself can take several seconds on a loaded machine
      const back = waitForStatus(c, (e) => e.type === 'connected' && e.endpoint === cl.endpoints[down], 30_000);
      restarted = true;
      await cl.restart(down);
      await back;
    } finally {
      // a failure above must not leave the member down for the next tests
      if (!restarted) await cl.restart(down);
    }
  });

  test('leader killed during reads, writes, watches and keepalives', async () => {
    const cl = cluster();
    const leader = await cl.leader();
    const leaderFirst = [cl.endpoints[leader]!, ...cl.endpoints.filter((_, i) => i !== leader)];
    const c = ctx.newClient({ timeoutMs: 10_000 });
    // streams open on the first endpoint of their client: put the watch and the keepalive on the leader
    const cw = ctx.newClient({ endpoints: leaderFirst });
    const ck = ctx.newClient({ endpoints: leaderFirst });
    const start = (await c.put('lk/start', 'x')).revision;
    const w = cw.watch('lk/', { prefix: true, startRevision: start + 1n });
    let resumed = 0;
    w.on('resumed', () => resumed++);
    await w.created;
    const lease = await c.lease.grant(5);
    const ka = ck.lease.keepAlive(lease);
    await new Promise((r) => ka.once('renewed', r));

    let stop = false;
    let reads = 0;
    const readFailures: unknown[] = [];
    const writeFailures: unknown[] = [];
    const acked = new Map<string, bigint>();
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          assert.equal((await c.get('lk/start'))?.valueString, 'x');
          reads++;
        } catch (e) {
          readFailures.push(e);
        }
      }
    });
    const writers = Array.from({ length: 3 }, async (_, wi) => {
      for (let i = 0; !stop; i++) {
        const key = `lk/${wi}/${String(i).padStart(5, '0')}`;
        try {
          acked.set(key, (await c.put(key, String(i), { timeoutMs: 4000 })).revision);
        } catch (e) {
          writeFailures.push(e);
        }
      }
    });
    await sleep(700);
    await cl.kill(leader);
    // whatever fails below, the member comes back: the next tests need all three
    try {
      await sleep(3000);
      stop = true;
      await Promise.all([...readers, ...writers]);

      assert.deepEqual(readFailures.map(String), [], 'no read failed');
      assert.ok(reads > 50, `${reads} reads`);
      for (const e of writeFailures) assert.ok(e instanceof ConclaveError && e.retriable, `failed write: ${String(e)}`);
      // no acknowledged write lost
      const final = await c.range('lk/', { prefix: true });
      const stored = new Map(final.kvs.map((kv) => [kv.keyString, kv.modRevision]));
      for (const [k, rev] of acked) assert.equal(stored.get(k), rev, `acknowledged ${k}@${rev}`);
      assert.ok(acked.size > 20, `${acked.size} writes acknowledged`);

      // the watch delivered every event exactly once, in order, resuming on another member
      const seen: WatchEvent[] = [];
      await eventsUntil(w[Symbol.asyncIterator](), final.revision, seen);
      assert.ok(resumed >= 1, 'the watch was resumed after its member died');
      const history: WatchEvent[] = [];
      const hw = c.watch('lk/', { prefix: true, startRevision: start + 1n });
      await eventsUntil(hw[Symbol.asyncIterator](), final.revision, history);
      hw.close();
      const fmt = (e: WatchEvent): string => `${e.kv.keyString}@${e.kv.modRevision}`;
      assert.deepEqual(seen.map(fmt), history.map(fmt));
      for (const k of acked.keys())
        assert.ok(
          seen.some((e) => e.kv.keyString === k),
          `event for ${k}`,
        );

      // the lease stayed alive through the leader change
      assert.equal(ka.signal.aborted, false);
      assert.ok((await c.lease.timeToLive(lease.id)).ttl > 0);
    } finally {
      ka.close();
      w.close();
      await cl.restart(leader);
    }
  });

  test('a member that stops answering: abort and deadline end calls promptly', async () => {
    const cl = cluster();
    const i = ((await cl.leader()) + 1) % cl.endpoints.length;
    const c = ctx.newClient({ endpoints: [cl.endpoints[i]!] });
    await c.get('x');
    cl.pause(i);
    try {
      const ac = new AbortController();
      const p = c.put('stopped/a', '1', { signal: ac.signal });
      await sleep(200);
      const t0 = Date.now();
      ac.abort();
      await assert.rejects(p, AbortedError);
      assert.ok(Date.now() - t0 < 200, 'rejected right after the abort');
      const t1 = Date.now();
      await assert.rejects(
        c.get('stopped/a', { timeoutMs: 400 }),
        (e: unknown) => e instanceof ConclaveError && e.retriable,
      );
      assert.ok(Date.now() - t1 < 1500);
    } finally {
      cl.resume(i);
    }
    await c.get('x');
  });

  test('a keepalive reports loss only once the TTL has passed without a renewal', async () => {
    const cl = cluster();
    const i = ((await cl.leader()) + 1) % cl.endpoints.length;
    const c = ctx.newClient({ endpoints: [cl.endpoints[i]!] });
    const lease = await c.lease.grant(2);
    const ka = c.lease.keepAlive(lease);
    let lastRenewal = 0;
    ka.on('renewed', () => (lastRenewal = Date.now()));
    await new Promise((r) => ka.once('renewed', r));
    cl.pause(i);
    try {
      const err = await ka.lost;
      const silence = Date.now() - lastRenewal;
      assert.equal(err.reason, 'ttl-elapsed');
      assert.ok(silence >= 2000 - 150 && silence < 3000, `lost ${silence} ms after the last renewal`);
      assert.equal(ka.signal.aborted, true);
    } finally {
      cl.resume(i);
    }
  });

  test('compaction while a watch is disconnected: CompactedError, or a resync with onCompacted', async () => {
    const cl = cluster();
    const k = ((await cl.leader()) + 1) % cl.endpoints.length;
    const solo = ctx.newClient({ endpoints: [cl.endpoints[k]!] });
    const others = ctx.newClient({ endpoints: cl.endpoints.filter((_, j) => j !== k) });
    const w = solo.watch('cw/', { prefix: true });
    const r = solo.watch('cw/', { prefix: true, onCompacted: 'resync' });
    await Promise.all([w.created, r.created]);
    await others.put('cw/a', '1');
    const wi = w[Symbol.asyncIterator]();
    const ri = r[Symbol.asyncIterator]();
    assert.equal(((await wi.next()).value as WatchBatch).type, 'events');
    assert.equal(((await ri.next()).value as WatchBatch).type, 'events');
    await cl.kill(k);
    let compactAt: bigint;
    try {
      await others.put('cw/a', '2');
      compactAt = (await others.put('cw/b', '3')).revision;
      await others.compact(compactAt);
    } finally {
      await cl.restart(k);
    }
    await assert.rejects(wi.next(), (e: unknown) => e instanceof CompactedError && e.compactRevision === compactAt);
    const resync = (await ri.next()).value as WatchBatch;
    assert.ok(resync.type === 'resync', resync.type);
    assert.deepEqual(
      resync.kvs.map((kv) => `${kv.keyString}=${kv.valueString}`),
      ['cw/a=2', 'cw/b=3'],
    );
    const after = (await others.put('cw/c', '4')).revision;
    const next = (await ri.next()).value as WatchBatch;
    assert.ok(next.type === 'events' && next.events[0]!.kv.modRevision === after);
    r.close();
  });

  test('every endpoint down: a clear UnavailableError within the deadline', async () => {
    const cl = cluster();
    const c = ctx.newClient({ timeoutMs: 1500 });
    await c.get('x');
    await Promise.all(cl.endpoints.map((_, i) => cl.kill(i)));
    try {
      const t0 = Date.now();
      const err = await c.get('x').then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = Date.now() - t0;
      assert.ok(err instanceof UnavailableError, String(err));
      for (const ep of cl.endpoints) assert.ok(err.message.includes(ep), err.message);
      assert.ok(took >= 1400 && took < 2500, `took ${took} ms`);
    } finally {
      await Promise.all(cl.endpoints.map((_, i) => cl.restart(i)));
    }
    await c.get('x', { timeoutMs: 10_000 });
  });

  test('endpoint auto-sync picks up a member added to the cluster', async () => {
    const cl = cluster();
    const c = ctx.newClient({ endpoints: [cl.endpoints[0]!], autoSyncIntervalMs: 300 });
    const n = cl.endpoints.length;
    await waitForStatus(c, (e) => e.type === 'endpointsChanged' && e.endpoints.length === n, 5000);
    const grown = waitForStatus(c, (e) => e.type === 'endpointsChanged' && e.endpoints.length === n + 1, 20_000);
    const added = await cl.addMember();
    await grown;
    assert.ok(c.endpoints.includes(cl.endpoints[added]!), c.endpoints.join(','));
    // the new member is in rotation and answers
    const status = await c.maintenance.status({ endpoint: cl.endpoints[added]! });
    assert.equal(status.endpoint, cl.endpoints[added]);
    await c.put('sync/a', '1');
    for (let i = 0; i < 8; i++) assert.equal((await c.get('sync/a'))?.valueString, '1');
  });
});
