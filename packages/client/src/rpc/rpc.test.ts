// The call pipeline against in-process fake servers (grpc-js), where each failure can be staged
// exactly: which calls are retried, on which endpoint, and which are not.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdErrors, GrpcCode, etcdserverpb, grpcServiceDefinition, type EtcdErrorName } from '@conclave/api';
import * as grpc from '@grpc/grpc-js';
import { Client } from '../client.js';
import { op } from '../txn/txn.js';
import { AbortedError, DeadlineExceededError, UnavailableError } from '../errors/base.js';
import { LeaseNotFoundError, NoLeaderError, RequestTimeoutError } from '../errors/etcd.js';
import { freePortForTest } from './test-port.js';

type Behaviour = 'ok' | EtcdErrorName | 'proposalDropped' | 'hang';

interface Fake {
  endpoint: string;
  calls: { method: string; token: string | undefined; hasleader: boolean }[];
  behave: Partial<Record<string, Behaviour>>;
  server: grpc.Server;
}

const header = { clusterId: 1n, memberId: 1n, revision: 5n, raftTerm: 1n };

async function fake(): Promise<Fake> {
  const f: Fake = { endpoint: '', calls: [], behave: {}, server: new grpc.Server() };
  let tokenSeq = 0;
  const validTokens = new Set<string>();
  let lagMs = 0;
  const issuedAt = new Map<string, number>();
  const handle =
    (method: string, reply: () => object) =>
    (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>): void => {
      const token = call.metadata.get('token')[0] as string | undefined;
      f.calls.push({ method, token, hasleader: call.metadata.get('hasleader')[0] === 'true' });
      const b = f.behave[method] ?? 'ok';
      const lagging = token !== undefined && performance.now() - (issuedAt.get(token) ?? 0) < lagMs;
      if (f.behave['auth'] === 'ok' && method !== 'Authenticate' && (!token || !validTokens.has(token) || lagging)) {
        cb({ code: GrpcCode.UNAUTHENTICATED, details: EtcdErrors.InvalidAuthToken.message });
        return;
      }
      if (b === 'hang') return;
      if (b === 'proposalDropped') cb({ code: GrpcCode.UNKNOWN, details: 'raft proposal dropped' });
      else if (b !== 'ok') cb({ code: EtcdErrors[b].code, details: EtcdErrors[b].message });
      else cb(null, reply());
    };
  f.server.addService(grpcServiceDefinition(etcdserverpb.KVService) as unknown as grpc.ServiceDefinition, {
    Range: handle('Range', () => ({
      header,
      kvs: [{ key: Buffer.from('k'), value: Buffer.from('v'), createRevision: 2n, modRevision: 3n, version: 1n }],
      count: 1n,
    })),
    Put: handle('Put', () => ({ header })),
    DeleteRange: handle('DeleteRange', () => ({ header, deleted: 0n })),
    Txn: handle('Txn', () => ({ header, succeeded: true })),
    Compact: handle('Compact', () => ({ header })),
  });
  f.server.addService(grpcServiceDefinition(etcdserverpb.LeaseService) as unknown as grpc.ServiceDefinition, {
    LeaseRevoke: handle('LeaseRevoke', () => ({ header })),
  });
  f.server.addService(grpcServiceDefinition(etcdserverpb.AuthService) as unknown as grpc.ServiceDefinition, {
    Authenticate: handle('Authenticate', () => {
      const t = `tok${++tokenSeq}`;
      validTokens.clear();
      validTokens.add(t);
      issuedAt.set(t, performance.now());
      return { header, token: t };
    }),
  });
  // expose a way to expire every token
  (f as Fake & { expire: () => void }).expire = () => validTokens.clear();
  // and to refuse a token for `ms` after it was issued, as a member that has not yet applied the
  // Authenticate that made it (etcd's simple tokens go through Raft)
  (f as Fake & { lagTokens: (ms: number) => void }).lagTokens = (ms) => {
    lagMs = ms;
  };
  const port = await new Promise<number>((res, rej) =>
    f.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  f.endpoint = `127.0.0.1:${port}`;
  return f;
}

const count = (f: Fake, method: string): number => f.calls.filter((c) => c.method === method).length;

describe('call pipeline', () => {
  let a: Fake;
  let b: Fake;
  let dead: string;

  before(async () => {
    [a, b] = await Promise.all([fake(), fake()]);
    dead = `127.0.0.1:${await freePortForTest()}`;
  });
  after(() => {
    a.server.forceShutdown();
    b.server.forceShutdown();
  });
  const reset = (): void => {
    for (const f of [a, b]) {
      f.calls.length = 0;
      f.behave = {};
    }
  };

  test('reads fail over on UNAVAILABLE; writes that reached a server are not repeated', async () => {
    reset();
    a.behave = { Range: 'NoLeader', Put: 'NoLeader', Txn: 'TimeoutDueToLeaderFail' };
    const c = new Client({ endpoints: [a.endpoint, b.endpoint], circuitBreaker: { minCooldownMs: 60_000 } });
    try {
      const kv = await c.get('k');
      assert.equal(kv?.valueString, 'v');
      assert.equal(count(a, 'Range'), 1);
      assert.equal(count(b, 'Range'), 1);
      // a is out of rotation now: bring it back for the write tests
      c.setEndpoints([a.endpoint]);
      c.setEndpoints([a.endpoint, b.endpoint]);
    } finally {
      await c.close();
    }
    const w = new Client({ endpoints: [a.endpoint], timeoutMs: 2000 });
    try {
      await assert.rejects(
        w.put('k', 'v'),
        (e: unknown) => e instanceof NoLeaderError && e.retriable && e.code === 'NoLeader',
      );
      assert.equal(count(a, 'Put'), 1, 'the write was sent once');
      await assert.rejects(
        w.txn().then(op.put('k', 'v')).commit(),
        (e: unknown) => e instanceof RequestTimeoutError && e.code === 'TimeoutDueToLeaderFail',
      );
      assert.equal(count(a, 'Txn'), 1);
    } finally {
      await w.close();
    }
  });

  test('a write that never reached a server fails over; a dropped proposal is retried', async () => {
    reset();
    const c = new Client({ endpoints: [dead, b.endpoint] });
    const events: string[] = [];
    const sub = c.status();
    try {
      for (let i = 0; i < 4; i++) await c.put(`k${i}`, 'v');
      assert.equal(count(b, 'Put'), 4);
      a.behave = { Put: 'proposalDropped' };
      c.setEndpoints([a.endpoint, b.endpoint]);
      b.calls.length = 0;
      for (let i = 0; i < 2; i++) await c.put(`k${i}`, 'v');
      assert.equal(count(b, 'Put'), 2, 'both writes applied on b');
      assert.ok(count(a, 'Put') >= 1, 'a dropped at least one proposal');
    } finally {
      await c.close();
    }
    for await (const e of sub)
      events.push(e.type === 'closed' ? 'closed' : `${e.type} ${'endpoint' in e ? e.endpoint : ''}`);
    assert.ok(events.includes(`disconnected ${dead}`), events.join(', '));
    assert.ok(events.includes(`connected ${b.endpoint}`), events.join(', '));
    assert.ok(events.some((e) => e.startsWith('endpointsChanged')));
    assert.equal(events.at(-1), 'closed');
  });

  test('every endpoint down: a clear UnavailableError naming them, within the deadline', async () => {
    const other = `127.0.0.1:${await freePortForTest()}`;
    const c = new Client({ endpoints: [dead, other], timeoutMs: 800 });
    try {
      for (const call of [() => c.get('k'), () => c.put('k', 'v')]) {
        const t0 = Date.now();
        const err = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        const took = Date.now() - t0;
        assert.ok(err instanceof UnavailableError, String(err));
        assert.equal(err.code, 'Unavailable');
        assert.match(err.message, /no endpoint available after \d+ attempts in 800 ms/);
        assert.ok(err.message.includes(dead) && err.message.includes(other), err.message);
        assert.ok(took >= 700 && took < 1500, `took ${took} ms`);
      }
    } finally {
      await c.close();
    }
  });

  test('abort and deadline end a hanging call promptly', async () => {
    reset();
    a.behave = { Range: 'hang', Put: 'hang' };
    const c = new Client({ endpoints: [a.endpoint] });
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      const p = c.get('k', { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop')), 100);
      await assert.rejects(
        p,
        (e: unknown) => e instanceof AbortedError && e.name === 'AbortError' && (e.cause as Error).message === 'stop',
      );
      assert.ok(Date.now() - t0 < 1000);
      await assert.rejects(c.put('k', 'v', { signal: AbortSignal.abort() }), AbortedError);
      const t1 = Date.now();
      await assert.rejects(
        c.put('k', 'v', { timeoutMs: 200 }),
        (e: unknown) => e instanceof DeadlineExceededError && e.retriable,
      );
      assert.ok(Date.now() - t1 < 1000);
      // reads give up on a stuck endpoint after their per-attempt deadline and try again
      const r = new Client({ endpoints: [a.endpoint, b.endpoint], retry: { read: { attemptTimeoutMs: 150 } } });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await r.get('k'))?.valueString, 'v');
      } finally {
        await r.close();
      }
    } finally {
      await c.close();
    }
  });

  test('requireLeader sends hasleader and makes "no leader" safe to retry', async () => {
    reset();
    const c = new Client({ endpoints: [b.endpoint], requireLeader: true });
    try {
      await c.get('k');
      await c.put('k', 'v', { requireLeader: false });
      assert.deepEqual(
        b.calls.map((x) => x.hasleader),
        [true, false],
      );
      b.behave = { LeaseRevoke: 'LeaseNotFound' };
      await assert.rejects(c.lease.revoke(1n), LeaseNotFoundError);
    } finally {
      await c.close();
    }
    // with hasleader, "no leader" is the server's check before the handler: the write moves on
    reset();
    a.behave = { Put: 'NoLeader' };
    const r = new Client({ endpoints: [a.endpoint, b.endpoint], requireLeader: true });
    try {
      await r.put('k', 'v');
      await r.put('k', 'v');
      assert.equal(count(b, 'Put'), 2);
      assert.equal(count(a, 'Put'), 1);
    } finally {
      await r.close();
    }
  });

  test('auth: token sent as metadata, refreshed on "invalid auth token", the failed write retried', async () => {
    reset();
    b.behave = { auth: 'ok' };
    const c = new Client({ endpoints: [b.endpoint], username: 'u', password: 'p' });
    try {
      await c.put('k', 'v');
      assert.deepEqual(
        b.calls.map((x) => [x.method, x.token]),
        [
          ['Authenticate', undefined],
          ['Put', 'tok1'],
        ],
      );
      (b as Fake & { expire: () => void }).expire();
      await c.put('k', 'v2');
      assert.deepEqual(
        b.calls.slice(2).map((x) => [x.method, x.token]),
        [
          ['Put', 'tok1'],
          ['Authenticate', undefined],
          ['Put', 'tok2'],
        ],
      );
      // concurrent callers share one authentication
      (b as Fake & { expire: () => void }).expire();
      await Promise.all([c.get('k'), c.get('k'), c.get('k')]);
      assert.equal(count(b, 'Authenticate'), 3);
    } finally {
      await c.close();
    }
  });

  test('auth: a new token refused while the member catches up is kept and retried, with a backoff', async () => {
    reset();
    b.behave = { auth: 'ok' };
    const fb = b as Fake & { expire: () => void; lagTokens: (ms: number) => void };
    const c = new Client({ endpoints: [b.endpoint], username: 'u', password: 'p' });
    try {
      await c.put('k', 'v');
      fb.expire();
      // tokens are refused for 120 ms after they are issued: the expired token is refused, a new one
      // is fetched at once and refused, then tried again after 25, 50 and 100 ms, and accepted
      fb.lagTokens(120);
      const t0 = performance.now();
      assert.equal((await c.get('k'))?.valueString, 'v');
      const took = performance.now() - t0;
      assert.ok(took >= 120, `took ${took} ms`);
      const calls = b.calls.slice(2).map((x) => [x.method, x.token]);
      const [expired, fresh] = [calls[0]![1], calls[2]![1]];
      assert.deepEqual(calls.slice(0, 3), [
        ['Range', expired],
        ['Authenticate', undefined],
        ['Range', fresh],
      ]);
      assert.notEqual(fresh, expired);
      // the new token is kept (not fetched again) until the member accepts it
      assert.ok(
        calls.length >= 5 && calls.slice(2).every((x) => x[0] === 'Range' && x[1] === fresh),
        JSON.stringify(calls),
      );
      // a token that is never accepted fails the call after six retries, with etcd's error
      fb.expire();
      fb.lagTokens(Infinity);
      const before = b.calls.length;
      await assert.rejects(c.get('k'), (e: unknown) => (e as { code?: string }).code === 'InvalidAuthToken');
      assert.deepEqual(
        b.calls.slice(before).map((x) => x.method),
        ['Range', 'Authenticate', 'Range', 'Range', 'Range', 'Range', 'Range', 'Range'],
      );
    } finally {
      fb.lagTokens(0);
      await c.close();
    }
  });
});
