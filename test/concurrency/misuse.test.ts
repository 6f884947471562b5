// The recipes used wrongly, against 3-member etcd 3.4, etcd 3.5 and Conclave clusters: wrong
// argument types (a TypeError naming the argument), releases of nothing held (NotHeldError),
// getters read after a release and inside the hold's own abort listener (never a throw), a lock
// key deleted by someone else (reason key-deleted), the with*(fn) helpers and asyncDispose, an
// abort at every await of lock() and campaign() (before and while each call is in flight: the
// queue entry is always withdrawn and the object stays usable), and a program that forgets to close
// its client (it still exits) or its session (the session keeps it alive and renewing; once the
// process dies, the lock passes on within the TTL).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { AbortedError, type Client, type KeySpace, type Txn } from '@conclave/client';
import {
  ConfigWatcher,
  DoubleBarrier,
  Election,
  Mutex,
  NotHeldError,
  Queue,
  RWMutex,
  ReleasedError,
  Semaphore,
  ServiceRegistry,
  Session,
  SessionClosedError,
  runSTM,
} from '@conclave/concurrency';
import { repoRoot } from '../helpers/process.js';
import { describeClusters, until } from './clusters.js';

/** A program run in a child process (an ES module given on stdin). */
interface Program {
  /** What it printed so far (stdout and stderr). */
  readonly out: string;
  /** Its exit code once it exited, else undefined. */
  readonly exitCode: number | null | undefined;
  /** Resolves with the exit code, or with 'alive' if it is still running after `ms`. */
  exitWithin(ms: number): Promise<number | null | 'alive'>;
  kill(): Promise<void>;
}

function runProgram(script: string): Program {
  const child = spawn(process.execPath, ['--conditions=conclave-source', '--import', 'tsx', '--input-type=module'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(script);
  let out = '';
  let exitCode: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  return {
    get out() {
      return out;
    },
    get exitCode() {
      return exitCode;
    },
    exitWithin: (ms) =>
      Promise.race([exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), ms).unref())]),
    async kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

const typeError = (re: RegExp) => (e: unknown) => e instanceof TypeError && re.test(e.message);

/**
 * A view of `client` that calls `hook(n)` at the n-th call (put/get/range/delete/txn commit/watch/
 * lease.timeToLive) made through it: the points where a recipe awaits the cluster.
 */
function instrumented(client: Client, hook: (n: number, when: 'before' | 'after') => void): KeySpace {
  let n = 0;
  const count = <T>(run: () => T): T => {
    const k = ++n;
    hook(k, 'before');
    const r = run();
    hook(k, 'after');
    return r;
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'txn')
        return () => {
          const t: Txn = target.txn();
          const commit = t.commit.bind(t);
          t.commit = (o) => count(() => commit(o));
          return t;
        };
      if (['put', 'get', 'range', 'delete', 'watch'].includes(prop as string))
        return (...args: unknown[]) => count(() => (v as (...a: unknown[]) => unknown).apply(target, args));
      return v;
    },
  });
}

describeClusters((ctx) => {
  test('wrong argument types: a TypeError naming the argument, nothing written', async () => {
    const p = ctx.prefix('types');
    await assert.rejects(
      ctx.client.put(`${p}/k`, 42 as never),
      typeError(/^put: value must be a string or Uint8Array, got number 42$/),
    );
    assert.equal(await ctx.client.get(`${p}/k`), undefined, 'nothing was stored');
    await assert.rejects(Session.create({} as never), typeError(/^Session\.create: client must be a Client/));
    await assert.rejects(Session.create(ctx.client, { ttl: 0 }), typeError(/options\.ttl must be a positive integer/));
    await assert.rejects(Session.create(ctx.client, { ttl: 1.5 }), typeError(/got number 1\.5/));
    const s = await Session.create(ctx.client, { ttl: 5 });
    try {
      assert.throws(() => new Mutex(ctx.client as never, p), typeError(/^Mutex: session must be a Session/));
      assert.throws(() => new Mutex(s, 5 as never), typeError(/^Mutex: prefix must be a non-empty string/));
      assert.throws(() => new RWMutex(s, ''), typeError(/^RWMutex: prefix/));
      assert.throws(
        () => new Semaphore(s, p, 0),
        typeError(/^Semaphore: permits must be an integer ≥ 1, got number 0/),
      );
      assert.throws(() => new Election(s, undefined as never), typeError(/^Election: prefix/));
      assert.throws(() => new DoubleBarrier(s, p, 2.5), typeError(/^DoubleBarrier: count/));
      assert.throws(() => new Queue(ctx.client, null as never), typeError(/^Queue: prefix/));
      assert.throws(() => new ServiceRegistry(ctx.client, { ttl: -1 }), typeError(/^ServiceRegistry: options\.ttl/));
      const m = new Mutex(s, `${p}/m`);
      await assert.rejects(m.lock({ timeoutMs: 'soon' } as never), typeError(/^Mutex\.lock: options\.timeoutMs/));
      await assert.rejects(m.lock('now' as never), typeError(/^Mutex\.lock: options must be an options object/));
      await assert.rejects(
        new Election(s, `${p}/e`).campaign(7 as never),
        typeError(/^Election\.campaign: value must be a string/),
      );
      await assert.rejects(m.withLock('fn' as never), typeError(/fn must be a function/));
      await assert.rejects(
        runSTM(ctx.client, (stm) => stm.put(`${p}/x`, 5 as never)),
        typeError(/^stm\.put: value must be a string, got number 5/),
      );
      assert.equal(await ctx.client.get(`${p}/x`), undefined);
      await assert.rejects(
        runSTM(ctx.client, async () => 1, { isolation: 'strict' as never }),
        typeError(/options\.isolation/),
      );
      await assert.rejects(
        ConfigWatcher.start(ctx.client, p, {} as never),
        typeError(/^ConfigWatcher\.start: options\.parse must be a function/),
      );
      assert.equal((await ctx.client.range(`${p}/`, { prefix: true, countOnly: true })).count, 0, 'no key written');
    } finally {
      await s.close();
    }
  });

  test('releasing what is not held is NotHeldError; after a loss it just clears', async () => {
    const p = ctx.prefix('notheld');
    const s = await Session.create(ctx.client, { ttl: 5 });
    const m = new Mutex(s, `${p}/m`);
    await assert.rejects(m.unlock(), NotHeldError, 'unlock without lock');
    assert.throws(() => m.fencingToken, NotHeldError, 'no token before the first lock');
    await assert.rejects(new RWMutex(s, `${p}/rw`).rUnlock(), NotHeldError);
    await assert.rejects(new Semaphore(s, `${p}/sem`, 2).release(), NotHeldError);
    await assert.rejects(new Election(s, `${p}/el`).resign(), NotHeldError);
    await m.lock();
    await m.unlock();
    await assert.rejects(m.unlock(), NotHeldError, 'a second unlock');
    await m[Symbol.asyncDispose](); // disposing of nothing held is fine
    await m.lock();
    await s.close(); // the hold is lost with the session
    assert.equal(m.isHeld, false);
    await m.unlock(); // acknowledges the loss: no error
    await assert.rejects(m.unlock(), NotHeldError);
  });

  test('getters never throw after a release, not even inside the abort listener', async () => {
    const p = ctx.prefix('getters');
    const s = await Session.create(ctx.client, { ttl: 5 });
    const m = new Mutex(s, `${p}/m`);
    const token = await m.lock();
    const seen: unknown[] = [];
    m.signal.addEventListener('abort', () => {
      seen.push(m.fencingToken, m.key, m.signal.aborted, m.isHeld, m.acquiredRevision > 0n, m.isOwner().key);
    });
    await m.unlock();
    assert.deepEqual(seen, [token, m.key, true, false, true, m.key]);
    const why = m.signal.reason;
    assert.ok(why instanceof ReleasedError && why.reason === 'unlocked' && why.code === 'Released');

    const e = new Election(s, `${p}/el`);
    await e.campaign('a');
    const term = e.rev;
    let inListener: unknown;
    e.signal.addEventListener('abort', () => (inListener = [e.rev, e.isElected, e.signal.reason]));
    await e.resign();
    assert.equal((inListener as unknown[])[0], term);
    assert.equal((inListener as unknown[])[1], false);
    assert.equal(((inListener as unknown[])[2] as ReleasedError).reason, 'resigned');

    const rw = new RWMutex(s, `${p}/rw`);
    await rw.lock();
    const rwKey = rw.key;
    await rw.unlock();
    assert.equal(rw.key, rwKey);
    assert.equal(rw.mode, undefined);

    const sem = new Semaphore(s, `${p}/sem`, 1);
    await sem.acquire();
    await s.close();
    const lost = sem.signal.reason;
    assert.ok(lost instanceof ReleasedError && lost.reason === 'session-lost');
    assert.ok(lost.cause instanceof SessionClosedError);
    assert.ok(sem.fencingToken > 0n);
  });

  test('a lock whose key someone else deletes ends with reason key-deleted, and can be taken again', async () => {
    const p = ctx.prefix('deleted');
    const s = await Session.create(ctx.client, { ttl: 5 });
    const m = new Mutex(s, `${p}/m`);
    const t1 = await m.lock();
    const signal = m.signal; // starts watching the key
    await ctx.newClient().delete(m.key);
    await until(() => signal.aborted, 5000, 'the hold to end');
    const why = signal.reason as ReleasedError;
    assert.equal(why.reason, 'key-deleted');
    assert.equal(m.isHeld, false);
    assert.equal(s.isDone, false, 'the session lives on');
    const t2 = await m.lock({ timeoutMs: 5000 });
    assert.ok(t2 > t1);
    await m.unlock();
    await s.close();
  });

  test('withLock, withRead/withWrite, withPermit and lead release however fn ends', async () => {
    const p = ctx.prefix('with');
    const s = await Session.create(ctx.client, { ttl: 5 });
    const m = new Mutex(s, `${p}/m`);
    const got = await m.withLock(async (signal, token) => {
      assert.equal(signal.aborted, false);
      assert.equal(m.isHeld, true);
      assert.equal(token, m.fencingToken);
      return 'result';
    });
    assert.equal(got, 'result');
    assert.equal(m.isHeld, false);
    assert.equal(await ctx.client.get(m.key), undefined, 'the key was deleted');
    await assert.rejects(
      m.withLock(() => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(m.isHeld, false);
    assert.equal(await ctx.client.get(m.key), undefined);
    // fn may release by itself
    await m.withLock(() => m.unlock());

    const rw = new RWMutex(s, `${p}/rw`);
    assert.equal(await rw.withRead(() => rw.mode), 'read');
    assert.equal(await rw.withWrite(() => rw.mode), 'write');
    const sem = new Semaphore(s, `${p}/sem`, 2);
    assert.equal(await sem.withPermit(() => sem.isHeld), true);
    assert.equal(sem.isHeld, false);

    const e = new Election(s, `${p}/el`);
    const observedLeader = await e.lead('me', async (signal, term) => {
      assert.equal(term, e.rev);
      assert.equal(signal.aborted, false);
      return (await e.leader())?.valueString;
    });
    assert.equal(observedLeader, 'me');
    assert.equal(await e.leader(), undefined, 'resigned after fn');

    await m.lock();
    await m[Symbol.asyncDispose]();
    assert.equal(await ctx.client.get(m.key), undefined, 'asyncDispose unlocked');
    await e.campaign('again');
    await e[Symbol.asyncDispose]();
    assert.equal(await e.leader(), undefined, 'asyncDispose resigned');
    await assert.rejects(
      m.withLock(() => m.withLock(() => 1)),
      typeError(/already held by this object/),
    );
    await s.close();
  });

  test('forgetting to close: a used client lets the program exit; a session keeps it alive until it dies', {
    timeout: 60_000,
  }, async () => {
    const p = ctx.prefix('forgot');
    const script = (hold: boolean): string => `
      import { Client } from '@conclave/client';
      import { Mutex, Session } from '@conclave/concurrency';
      const c = new Client({ endpoints: ${JSON.stringify(ctx.cluster.endpoints)} });
      await c.put('${p}/k', 'v');
      await c.get('${p}/k');
      ${hold ? `const s = await Session.create(c, { ttl: 2 }); await new Mutex(s, '${p}/lock').lock();` : ''}
      console.log('done');`;
    // neither client.close() nor anything else: the idle connections do not hold the process
    const plain = runProgram(script(false));
    try {
      assert.equal(await plain.exitWithin(20_000), 0, `the program did not exit by itself: ${plain.out}`);
      assert.match(plain.out, /done/);
    } finally {
      await plain.kill();
    }
    // a session nobody closed is still renewed: the lock stays held past its 2 s TTL
    const held = runProgram(script(true));
    try {
      await until(() => held.out.includes('done') || held.exitCode !== undefined, 20_000, 'the lock');
      assert.equal(await held.exitWithin(4000), 'alive', `the program exited while holding a lock: ${held.out}`);
      const s = await Session.create(ctx.client, { ttl: 5 });
      try {
        const m = new Mutex(s, `${p}/lock`);
        assert.equal(await m.tryLock(), false, 'the forgotten session still holds the lock');
        // the process dies without unlocking: the lock passes on once the lease's TTL has run out
        await held.kill();
        const t0 = performance.now();
        await m.lock({ timeoutMs: 15_000 });
        const waited = performance.now() - t0;
        assert.ok(waited < 10_000, `the lock came ${Math.round(waited)} ms after the holder died`);
        await m.unlock();
      } finally {
        await s.close();
      }
    } finally {
      await held.kill();
    }
  });

  for (const recipe of ['Mutex.lock', 'Election.campaign'] as const) {
    test(`abort at every await of ${recipe}: the entry is withdrawn and the object stays usable`, {
      timeout: 120_000,
    }, async () => {
      const p = ctx.prefix(recipe === 'Mutex.lock' ? 'abort-lock' : 'abort-campaign');
      const holderSession = await Session.create(ctx.client, { ttl: 5 });
      for (const when of ['before', 'after'] as const) {
        for (let k = 1; ; k++) {
          const holder = recipe === 'Mutex.lock' ? new Mutex(holderSession, p) : new Election(holderSession, p);
          if (holder instanceof Mutex) await holder.lock();
          else await holder.campaign('holder');
          const ac = new AbortController();
          let calls = 0;
          let aborted = false;
          const hooked = instrumented(ctx.client, (n, w) => {
            calls = Math.max(calls, n);
            if (n === k && w === when) {
              aborted = true;
              ac.abort();
            }
            // once the waiter watches the holder's key (3rd call), let the holder go
            if (n === 3 && w === 'after') setTimeout(() => void release(holder), 30);
          });
          const session = await Session.create(hooked, { ttl: 5 });
          const waiter = recipe === 'Mutex.lock' ? new Mutex(session, p) : new Election(session, p);
          const acquiring =
            waiter instanceof Mutex
              ? waiter.lock({ signal: ac.signal })
              : waiter.campaign('waiter', { signal: ac.signal });
          const outcome = await acquiring.then(
            () => 'held',
            (e: unknown) => e,
          );
          await release(holder).catch(() => undefined);
          if (!aborted) {
            // k passed the last await: the acquisition completed
            assert.equal(outcome, 'held');
            await release(waiter);
            await session.close();
            assert.ok(k > 3, `${when}: lock completed after ${calls} calls`);
            break;
          }
          if (outcome === 'held') {
            // aborted after the last await had succeeded: the hold stands
            await release(waiter);
          } else {
            assert.ok(outcome instanceof AbortedError, `${when} call ${k}: ${String(outcome)}`);
            assert.equal(waiter.isHeld, false);
            assert.equal(await ctx.client.get(waiter.key), undefined, `${when} call ${k}: the entry was withdrawn`);
          }
          // the object can be used again at once
          const again =
            waiter instanceof Mutex ? waiter.lock({ timeoutMs: 5000 }) : waiter.campaign('w', { timeoutMs: 5000 });
          await again;
          await release(waiter);
          await session.close();
        }
      }
      await holderSession.close();
    });
  }
});

async function release(h: Mutex | Election): Promise<void> {
  if (!h.isHeld) return;
  if (h instanceof Mutex) await h.unlock();
  else await h.resign();
}
