// Mutex, RWMutex and Semaphore against a 3-member etcd 3.4 cluster and a 3-member Conclave cluster:
// mutual exclusion under contention through a leader kill (fencing tokens guarding a write), session
// expiry of a holder and of a waiter, tryLock / abort / the in-process guard, readers-writer and
// semaphore limits, and exclusion with etcd's Go concurrency.Mutex (test/go/gomutex) on one prefix.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { AbortedError, cmp, op, type Client, type WatchEvent } from '@conclave/client';
import { Mutex, RWMutex, ReleasedError, Semaphore, Session, SessionExpiredError } from '@conclave/concurrency';
import { delay, describeClusters, until } from './clusters.js';

const GOMUTEX = join(import.meta.dirname, '../../node_modules/.cache/conclave-go/gomutex');

const pad = (n: bigint): string => n.toString().padStart(20, '0');

/** Writes `token` to `fence` only while `m` holds the lock and the stored token is lower; retried through failover. */
async function fencedWrite(client: Client, m: Mutex, fence: string, token: bigint): Promise<boolean> {
  for (let i = 0; ; i++) {
    try {
      const r = await client
        .txn()
        .if(m.isOwner(), cmp.value(fence, '<', pad(token)))
        .then(op.put(fence, pad(token)))
        .else(op.get(fence))
        .commit();
      if (r.succeeded) return true;
      const cur = r.responses[0]?.type === 'get' ? r.responses[0].kvs[0]?.valueString : undefined;
      return cur === pad(token); // an earlier attempt whose answer was lost did apply
    } catch (e) {
      if (!(e as { retriable?: boolean }).retriable || i > 50) throw e;
      await delay(50);
    }
  }
}

describeClusters((ctx) => {
  test('mutual exclusion under contention with a leader kill: one holder at a time, fencing tokens strictly increase, work resumes', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('mx');
    // a short call deadline: a write caught in the leader's death fails fast (etcd waits ~6 s), and is retried
    const clients = [0, 1, 2].map(() => ctx.newClient({ timeoutMs: 2000 }));
    const sessions = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => Session.create(clients[i % 3]!, { ttl: 5 })));
    const fence = `${p}/fence`;
    await ctx.client.put(fence, pad(0n));
    let inside = 0;
    let maxInside = 0;
    const tokens: bigint[] = [];
    let fencedFailures = 0;
    let killed = false;
    let afterKill = 0;
    let stop = false;
    const worker = async (s: Session, w: number): Promise<void> => {
      const m = new Mutex(s, `${p}/lock`);
      while (!stop) {
        const token = await m.lock({ timeoutMs: 20_000 });
        maxInside = Math.max(maxInside, ++inside);
        tokens.push(token);
        if (!(await fencedWrite(clients[w % 3]!, m, fence, token))) fencedFailures++;
        if (killed) afterKill++;
        inside--;
        await m.unlock();
      }
    };
    const running = sessions.map((s, w) => worker(s, w));
    const failed = Promise.all(running).then(() => undefined);
    await Promise.race([until(() => tokens.length >= 15, 20_000, '15 acquisitions'), failed]);
    const leader = await ctx.cluster.leader();
    await ctx.cluster.kill(leader);
    killed = true;
    try {
      await Promise.race([until(() => afterKill >= 15, 30_000, '15 acquisitions after the leader kill'), failed]);
    } finally {
      stop = true;
      await Promise.allSettled(running);
      await ctx.cluster.restart(leader);
    }
    await Promise.all(running);
    assert.equal(maxInside, 1, 'two holders at once');
    for (let i = 1; i < tokens.length; i++)
      assert.ok(tokens[i]! > tokens[i - 1]!, `token ${tokens[i]} after ${tokens[i - 1]}`);
    assert.equal(fencedFailures, 0, 'a holder lost the lock during the failover');
    assert.equal((await ctx.client.get(fence))?.valueString, pad(tokens[tokens.length - 1]!));
    await Promise.all(sessions.map((s) => s.close()));
    assert.equal((await ctx.client.range(`${p}/lock/`, { prefix: true, countOnly: true })).count, 0);
  });

  test('a holder whose session expires is told, and loses the lock before anyone else gets it', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('hx');
    const other = ctx.newClient();
    const sh = await Session.create(ctx.client, { ttl: 2 });
    const sw = await Session.create(other, { ttl: 5 });
    const holder = new Mutex(sh, `${p}/lock`);
    const waiter = new Mutex(sw, `${p}/lock`);
    const t1 = await holder.lock();
    let toldAt = 0;
    let gotAt = 0;
    holder.signal.addEventListener('abort', () => (toldAt = performance.now()));
    const waiting = waiter.lock().then((t) => {
      gotAt = performance.now();
      return t;
    });
    await delay(300);
    assert.equal(gotAt, 0, 'the waiter must wait');
    const orphanedAt = performance.now();
    sh.orphan(); // keepalives stop; the lease lives out its TTL
    const t2 = await waiting;
    assert.ok(toldAt > 0, 'the holder was not told');
    assert.ok(toldAt < gotAt, `told at ${toldAt - orphanedAt} ms, the waiter got the lock at ${gotAt - orphanedAt} ms`);
    // not at once: the lease (renewed every 2/3 s) is still valid for most of its 2 s TTL after orphan()
    assert.ok(toldAt - orphanedAt > 300, `told ${toldAt - orphanedAt} ms after the keepalives stopped`);
    const why = holder.signal.reason;
    assert.ok(why instanceof ReleasedError && why.reason === 'session-lost', String(why));
    assert.ok(why.cause instanceof SessionExpiredError);
    assert.equal(holder.isHeld, false);
    assert.ok(t2 > t1);
    // the old holder's guarded write fails: the key it compares against is gone
    const late = await ctx.client
      .txn()
      .if(holder.isOwner())
      .then(op.put(`${p}/res`, 'stale'))
      .commit();
    assert.equal(late.succeeded, false);
    await holder.unlock();
    await waiter.unlock();
    await sw.close();
  });

  test('a waiter whose session expires does not get the lock', { timeout: 60_000 }, async () => {
    const p = ctx.prefix('wx');
    const [ca, cb, cc] = [ctx.newClient(), ctx.newClient(), ctx.newClient()];
    const sh = await Session.create(ca, { ttl: 5 });
    const sw = await Session.create(cb, { ttl: 2 });
    const sx = await Session.create(cc, { ttl: 5 });
    const holder = new Mutex(sh, `${p}/lock`);
    const held = await holder.lock();
    const doomed = new Mutex(sw, `${p}/lock`);
    const doomedLock = doomed.lock().then(
      () => 'acquired',
      (e: unknown) => e,
    );
    await until(async () => (await ctx.client.get(doomed.key)) !== undefined, 5000, "the waiter's queue key");
    const next = new Mutex(sx, `${p}/lock`);
    const nextLock = next.lock();
    await delay(100);
    sw.orphan();
    const err = await doomedLock;
    assert.ok(err instanceof SessionExpiredError, String(err));
    assert.equal(doomed.isHeld, false);
    // the server expires the doomed lease; its key goes with it
    await until(async () => (await ctx.client.get(doomed.key)) === undefined, 5000, "the expired waiter's key to go");
    await holder.unlock();
    const tok = await nextLock;
    assert.ok(tok > held);
    assert.equal(doomed.isHeld, false);
    await next.unlock();
    await Promise.all([sh.close(), sx.close()]);
  });

  test('tryLock, abort while waiting, and the in-process guard for two Mutex objects of one session', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('try');
    const [s1, s2] = await Promise.all([
      Session.create(ctx.client, { ttl: 5 }),
      Session.create(ctx.newClient(), { ttl: 5 }),
    ]);
    const a = new Mutex(s1, `${p}/lock`);
    const b = new Mutex(s2, `${p}/lock`);
    const ta = await a.lock();
    assert.equal(await b.tryLock(), false);
    assert.equal(
      (await ctx.client.range(`${p}/lock/`, { prefix: true, countOnly: true })).count,
      1,
      'tryLock leaves no queue entry',
    );
    const ac = new AbortController();
    const aborted = b.lock({ signal: ac.signal });
    await until(async () => (await ctx.client.get(b.key)) !== undefined, 5000, 'the waiter to queue');
    ac.abort();
    await assert.rejects(aborted, AbortedError);
    assert.equal(await ctx.client.get(b.key), undefined, 'abort withdraws the queue entry');
    await assert.rejects(b.lock({ timeoutMs: 200 }), AbortedError);
    // a second Mutex on the same session and prefix maps to the same key: it must wait in-process
    const a2 = new Mutex(s1, `${p}/lock`);
    assert.equal(await a2.tryLock(), false);
    let a2got = false;
    const a2lock = a2.lock().then(() => (a2got = true));
    await delay(200);
    assert.equal(a2got, false);
    await a.unlock();
    await a2lock;
    const t2 = a2.fencingToken;
    assert.ok(t2 > ta);
    await a2.unlock();
    assert.equal(await b.tryLock(), true);
    assert.ok(b.fencingToken > t2);
    await b.unlock();
    await Promise.all([s1.close(), s2.close()]);
  });

  test('RWMutex: readers share, a writer excludes both kinds, writer tokens increase', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('rw');
    const ss = await Promise.all([0, 1, 2, 3].map(() => Session.create(ctx.client, { ttl: 5 })));
    const [r1, r2, w, r3] = ss.map((s) => new RWMutex(s, `${p}/rw`));
    await r1!.rLock();
    await r2!.rLock(); // readers share
    let wGot = false;
    const wLock = w!.lock().then((t) => {
      wGot = true;
      return t;
    });
    await until(
      async () => (await ctx.client.range(`${p}/rw/write/`, { prefix: true, countOnly: true })).count === 1,
      5000,
      'the writer to queue',
    );
    let r3Got = false;
    const r3Lock = r3!.rLock().then(() => (r3Got = true)); // queued behind the writer
    await delay(200);
    assert.equal(wGot, false);
    await r1!.rUnlock();
    await delay(100);
    assert.equal(wGot, false, 'one reader still holds');
    await r2!.rUnlock();
    const wt = await wLock;
    assert.equal(w!.mode, 'write');
    await delay(100);
    assert.equal(r3Got, false, 'a reader queued after a writer waits for it');
    await w!.unlock();
    await r3Lock;
    await r3!.rUnlock();
    await w!.lock();
    assert.ok(w!.fencingToken > wt);
    await w!.unlock();
    await Promise.all(ss.map((s) => s.close()));
  });

  test('Semaphore: never more than `permits` holders', { timeout: 60_000 }, async () => {
    const p = ctx.prefix('sem');
    const ss = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => Session.create(i % 2 ? ctx.client : ctx.newClient(), { ttl: 5 })),
    );
    let holders = 0;
    let most = 0;
    await Promise.all(
      ss.map(async (s) => {
        const sem = new Semaphore(s, `${p}/sem`, 3);
        for (let i = 0; i < 3; i++) {
          await sem.acquire({ timeoutMs: 15_000 });
          most = Math.max(most, ++holders);
          await delay(100);
          holders--;
          await sem.release();
        }
      }),
    );
    assert.equal(most, 3);
    await Promise.all(ss.map((s) => s.close()));
  });

  test("excludes etcd's Go concurrency.Mutex on the same prefix (test/go/gomutex)", { timeout: 60_000 }, async () => {
    // gomutex's Go workers (built by `npm test` against Debian's etcd 3.4 Go client) lock "lockbench/0" (Go's key layout: lockbench/0/<lease hex>) while
    // TypeScript holders do too. Every key instance under the prefix is recorded from a watch, and
    // exclusion is checked in revision space: (1) when a TypeScript holder starts its critical
    // section (a write guarded by isOwner()), every key created before its own — Go's included — is
    // already deleted; (2) every key created while a TypeScript holder's key existed outlives it,
    // i.e. the Go workers waited for it.
    const prefix = 'lockbench/0';
    const start = (await ctx.client.get('lockbench-start')) ?? (await ctx.client.put('lockbench-start', '1'));
    const from = 'revision' in start ? start.revision : start.modRevision;
    const events: WatchEvent[] = [];
    const history = ctx.client.watch(`${prefix}/`, { prefix: true, startRevision: from + 1n });
    const collecting = (async () => {
      for await (const e of history.events()) events.push(e);
    })();
    const bench = spawn(
      GOMUTEX,
      ['-endpoints', ctx.cluster.endpoints.join(','), '-prefix', prefix, '-workers', '4', '-total', '250'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    bench.stdout.on('data', (d: Buffer) => (out += d.toString()));
    bench.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const benchDone = new Promise<number | null>((r) => bench.once('exit', (code) => r(code)));
    let benchExited = false;
    void benchDone.then(() => (benchExited = true));
    await until(() => events.length > 0 || benchExited, 10_000, 'the Go workers to start');
    const sessions = await Promise.all([0, 1, 2].map(() => Session.create(ctx.newClient(), { ttl: 10 })));
    const ours = new Set(sessions.map((s) => `${prefix}/${s.lease.toString(16)}`));
    const tenures: { key: string; token: bigint; begin: bigint; end: bigint }[] = [];
    await Promise.all(
      sessions.map(async (s, w) => {
        const m = new Mutex(s, prefix);
        for (let i = 0; i < 12 && !benchExited; i++) {
          const token = await m.lock({ timeoutMs: 20_000 });
          const a = await s.client
            .txn()
            .if(m.isOwner())
            .then(op.put('lockbench-marker', `ts${w}-in`))
            .commit();
          await delay(2);
          const b = await s.client
            .txn()
            .if(m.isOwner())
            .then(op.put('lockbench-marker', `ts${w}-out`))
            .commit();
          assert.ok(a.succeeded && b.succeeded, 'the guarded writes of a holder must succeed');
          tenures.push({ key: m.key, token, begin: a.revision, end: b.revision });
          await m.unlock();
        }
      }),
    );
    const code = await benchDone;
    const summary = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ops?: number; errors?: number };
    assert.equal(code, 0, out);
    assert.equal(summary.errors, 0, out);
    assert.equal(summary.ops, 250, out);
    await Promise.all(sessions.map((s) => s.close()));
    const last = await ctx.client.put('lockbench-start', '2');
    await until(
      () => history.revision >= last.revision - 1n || events.some((e) => e.kv.modRevision >= last.revision),
      5000,
      'the history watch to catch up',
    );
    await until(
      async () => (await ctx.client.range(`${prefix}/`, { prefix: true, countOnly: true })).count === 0,
      5000,
      'every lock key to go',
    );
    await delay(200);
    history.close();
    await collecting;
    // key instances: created (version 1) ... deleted
    const instances: { key: string; created: bigint; deleted: bigint }[] = [];
    const open = new Map<string, { key: string; created: bigint; deleted: bigint }>();
    for (const e of events) {
      const key = e.kv.keyString;
      if (e.type === 'put' && e.kv.version === 1n) {
        const inst = { key, created: e.kv.createRevision, deleted: -1n };
        open.set(key, inst);
        instances.push(inst);
      } else if (e.type === 'delete') {
        const inst = open.get(key);
        if (inst) inst.deleted = e.kv.modRevision;
        open.delete(key);
      }
    }
    assert.ok(tenures.length > 0);
    let waitedOnGo = 0;
    let goWaitedOnUs = 0;
    for (const t of tenures) {
      const mine = instances.find((i) => i.key === t.key && i.created === t.token);
      assert.ok(mine && mine.deleted > t.end, `the history holds the TypeScript tenure ${t.key}@${t.token}`);
      for (const i of instances) {
        if (i === mine) continue;
        if (i.created < t.token) {
          assert.ok(
            i.deleted !== -1n && i.deleted < t.begin,
            `${i.key}@${i.created} (deleted at ${i.deleted}) overlaps the TypeScript tenure ${t.key}@${t.token} from ${t.begin}`,
          );
          if (!ours.has(i.key) && i.deleted > t.token) waitedOnGo++;
        } else if (i.created < mine.deleted) {
          assert.ok(
            i.deleted > mine.deleted,
            `${i.key}@${i.created} was released at ${i.deleted}, before the TypeScript holder it queued behind (${mine.deleted})`,
          );
          if (!ours.has(i.key)) goWaitedOnUs++;
        }
      }
    }
    assert.ok(waitedOnGo > 0, 'no TypeScript holder ever waited for a Go holder');
    assert.ok(goWaitedOnUs > 0, 'no Go worker ever waited for a TypeScript holder');
  });
});
