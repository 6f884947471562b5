// The recipes through server failures, against every target of test/client/targets.ts that fits:
// a server started after the client (sessions, registrations and config watchers created while
// nothing listens come up alive), the whole cluster killed while a lock is held and waited for,
// the cluster down longer than the TTLs and restarted (each registration reports exactly one lost →
// registered pair, no lease is left behind, the config watcher carries on), and the leader paused
// (SIGSTOP) under lock contention. No process warning (MaxListenersExceededWarning) may appear.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, LeaseNotFoundError, type KeySpace } from '@conclave/client';
import {
  ConfigWatcher,
  Mutex,
  type ReleasedError,
  ServiceRegistry,
  Session,
  SessionExpiredError,
} from '@conclave/concurrency';
import { freePort } from '../helpers/tmp.js';
import { onlyFastTier } from '../helpers/tier.js';
import { TARGETS, describeTargets, type ClusterControl, type Running } from '../client/targets.js';
import { delay, until } from './clusters.js';

const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));
after(() => assert.deepEqual(warnings.map(String), [], 'no process warnings'));

/** Whether a lease still exists. */
async function leaseExists(kv: KeySpace, id: bigint): Promise<boolean> {
  try {
    return (await kv.lease.timeToLive(id)).ttl > 0;
  } catch (e) {
    if (e instanceof LeaseNotFoundError) return false;
    throw e;
  }
}

for (const target of TARGETS.filter((t) => t.members === 1 && t.features.has('lease'))) {
  describe(`${target.name}: started late`, () => {
    let running: Running | undefined;
    after(async () => {
      await running?.stop();
    });

    test('a session, a registration and a config watcher created before the server starts come up alive', {
      timeout: 90_000,
    }, async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const client = new Client({ endpoints: [`127.0.0.1:${port}`], timeoutMs: 60_000 });
      try {
        const t0 = performance.now();
        const session = Session.create(client, { ttl: 3 });
        const registry = new ServiceRegistry(client, { prefix: 'late/', ttl: 3 });
        const registration = registry.register({ service: 'api', id: 'a1', address: '10.0.0.1', port: 80 });
        const config = ConfigWatcher.start(client, 'late-config/', { parse: (s) => s.entries.get('mode') ?? 'none' });
        await delay(2500); // longer than the backoff of many retries: every call above is still pending
        running = await target.start({ args: ['--listen-client-urls', url, '--advertise-client-urls', url] });
        const s = await session;
        // alive when create() resolves: its TTL counts from the grant that succeeded, not from the first try
        assert.equal(s.isDone, false);
        assert.ok(s.expiresAt - Date.now() > 1500, `${s.expiresAt - Date.now()} ms left of a 3 s TTL`);
        const m = new Mutex(s, 'late-lock');
        await m.lock({ timeoutMs: 10_000 });
        assert.equal(m.isHeld, true);
        await m.unlock();
        const reg = await registration;
        const events: string[] = [];
        reg.on('lost', () => events.push('lost'));
        reg.on('registered', () => events.push('registered'));
        assert.deepEqual(
          (await registry.discover('api')).map((i) => i.id),
          ['a1'],
        );
        const cfg = await config;
        await client.put('late-config/mode', 'on');
        await until(() => cfg.current().value === 'on', 10_000, 'the config change');
        await delay(4000); // longer than every TTL: nothing may expire
        assert.equal(s.isDone, false);
        assert.deepEqual(events, []);
        assert.ok(performance.now() - t0 > 2500);
        cfg.close();
        await registry.close();
        await s.close();
      } finally {
        await client.close();
      }
    });
  });
}

// not a matrix test: the fast tier's (test/helpers/tier.ts)
onlyFastTier(() =>
  test('an outage of 20 s with every kind of call waiting: no listener leak, every call ends on close', {
    timeout: 60_000,
  }, async () => {
    // nothing listens: unary calls, a watch, a kept-alive lease's stream and the recipes' retries
    // all go round their backoff loops for 20 s (p-retry, the watch and keep-alive reopen timers)
    const warned = warnings.length;
    const port = await freePort();
    const client = new Client({ endpoints: [`127.0.0.1:${port}`], timeoutMs: 60_000 });
    const signals = new AbortController();
    const pending = [
      Session.create(client, { ttl: 5 }),
      new ServiceRegistry(client, { prefix: 'outage/', ttl: 5 }).register({
        service: 'api',
        id: 'a',
        address: '10.0.0.1',
        port: 80,
      }),
      ConfigWatcher.start(client, 'outage-config/', { parse: (snap) => snap.entries.size }),
      ...Array.from({ length: 20 }, (_, i) => client.put(`outage/${i}`, 'v', { signal: signals.signal })),
      ...Array.from({ length: 20 }, (_, i) => client.get(`outage/${i}`, { signal: signals.signal })),
    ].map((p) =>
      (p as Promise<unknown>).then(
        () => 'resolved',
        (e: unknown) => (e as Error).constructor.name,
      ),
    );
    const watcher = client.watch('outage/', { prefix: true });
    await delay(20_000);
    signals.abort();
    await client.close();
    const outcomes = await Promise.all(pending);
    assert.ok(
      outcomes.every((o) => o !== 'resolved'),
      `nothing can succeed without a server: ${outcomes.join(', ')}`,
    );
    await watcher.close();
    assert.deepEqual(warnings.slice(warned).map(String), [], 'no process warning during the outage');
  }),
);

describeTargets(['multiMember', 'lease', 'watch'], (ctx) => {
  const cluster = (): ClusterControl => {
    assert.ok(ctx.running.cluster, 'the target has member control');
    return ctx.running.cluster;
  };
  const all = (): number[] => cluster().endpoints.map((_, i) => i);
  const killAll = async (): Promise<void> => {
    for (const i of all()) await cluster().kill(i, 'SIGKILL');
  };
  const restartAll = async (): Promise<void> => {
    await Promise.all(all().map((i) => cluster().restart(i)));
    await cluster().leader();
  };

  test('the whole cluster killed while a lock is held and awaited: both survive a short outage', {
    timeout: 120_000,
  }, async () => {
    const a = ctx.newClient({ timeoutMs: 20_000 });
    const b = ctx.newClient({ timeoutMs: 20_000 });
    // TTLs longer than a restart of the whole cluster takes on a loaded machine
    const sa = await Session.create(a, { ttl: 30 });
    const sb = await Session.create(b, { ttl: 30 });
    const holder = new Mutex(sa, 'chaos-lock');
    const waiter = new Mutex(sb, 'chaos-lock');
    const t1 = await holder.lock();
    let released: unknown;
    holder.signal.addEventListener('abort', () => (released = holder.signal.reason));
    const waiting = waiter.lock({ timeoutMs: 60_000 });
    await until(async () => (await a.get(waiter.key)) !== undefined, 5000, 'the waiter to queue');
    await killAll();
    await delay(2000);
    await restartAll();
    // the leases outlived the outage: the holder still holds, the waiter still waits
    await delay(1000);
    assert.equal(holder.isHeld, true, `hold ended: ${String(released)}`);
    assert.equal(sa.isDone, false);
    await holder.unlock();
    const t2 = await waiting;
    assert.ok(t2 > t1);
    assert.equal((released as ReleasedError).reason, 'unlocked');
    await waiter.unlock();
    await Promise.all([sa.close(), sb.close()]);
  });

  test('the cluster down longer than the TTLs: holders told, registrations re-registered once, no lease left behind', {
    timeout: 120_000,
  }, async () => {
    const c = ctx.newClient({ timeoutMs: 10_000 });
    // TTLs of a few seconds: long enough for the new lease to be renewed while a just restarted
    // cluster settles on a loaded machine, short enough to run out during the outage
    const registry = new ServiceRegistry(c, { prefix: 'chaos-svc/', ttl: 4 });
    const reg = await registry.register({ service: 'api', id: 'r1', address: '10.0.0.2', port: 81 });
    const first = reg.lease!;
    const events: string[] = [];
    const history: string[] = [];
    reg.on('lost', (e) => {
      events.push('lost');
      history.push(`${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`);
    });
    reg.on('registered', (l) => {
      events.push('registered');
      history.push(`registered ${l.toString(16)}`);
    });
    const config = await ConfigWatcher.start(c, 'chaos-config/', { parse: (s) => s.entries.get('v') ?? '' });
    const session = await Session.create(c, { ttl: 4 });
    const m = new Mutex(session, 'chaos-lock-2');
    await m.lock();
    await killAll();
    await until(() => m.signal.aborted, 10_000, 'the holder to be told');
    const why = m.signal.reason as ReleasedError;
    assert.equal(why.reason, 'session-lost');
    assert.ok(why.cause instanceof SessionExpiredError && why.cause.reason === 'ttl-elapsed');
    await delay(5000);
    await restartAll();
    await until(() => events.includes('registered'), 30_000, 're-registration');
    await delay(3000); // time for a second, spurious pair to show
    assert.deepEqual(events, ['lost', 'registered'], history.join('; '));
    const kv = await c.get(reg.key);
    assert.ok(kv && kv.lease === reg.lease && reg.lease !== first);
    // the old lease was revoked (not left to expire), the new one carries the instance
    await until(async () => !(await leaseExists(c, first)), 10_000, 'the old lease to go');
    assert.equal(await leaseExists(c, reg.lease!), true);
    await c.put('chaos-config/v', 'after');
    await until(() => config.current().value === 'after', 10_000, 'the config watcher to carry on');
    await m.unlock(); // acknowledges the loss
    config.close();
    await registry.close();
    assert.equal(await c.get(reg.key), undefined);
  });

  test('the leader paused under lock contention: work goes on, no session is lost', { timeout: 120_000 }, async () => {
    const cl = cluster();
    const sessions = await Promise.all(
      [0, 1, 2].map(() => Session.create(ctx.newClient({ timeoutMs: 3000 }), { ttl: 20 })),
    );
    let stop = false;
    let after = 0;
    let paused = false;
    const tokens: bigint[] = [];
    const workers = sessions.map(async (s) => {
      const m = new Mutex(s, 'chaos-pause');
      while (!stop) {
        await m.withLock(
          async (_signal, token) => {
            tokens.push(token);
            if (paused) after++;
            await delay(5);
          },
          { timeoutMs: 30_000 },
        );
      }
    });
    const failed = Promise.all(workers).then(() => undefined);
    await Promise.race([until(() => tokens.length >= 10, 20_000, '10 holds'), failed]);
    const leader = await cl.leader();
    cl.pause(leader);
    paused = true;
    try {
      await Promise.race([until(() => after >= 10, 45_000, '10 holds while the leader is paused'), failed]);
    } finally {
      stop = true;
      cl.resume(leader);
    }
    await Promise.all(workers);
    for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, 'fencing tokens increase');
    for (const s of sessions) assert.equal(s.isDone, false);
    await Promise.all(sessions.map((s) => s.close()));
  });
});

before(() => {
  warnings.length = 0;
});
