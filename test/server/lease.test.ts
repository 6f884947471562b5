// Leases on one member, end to end over gRPC (short TTLs: --election-timeout 500 makes the minimum
// TTL 1 s): expiry revokes a lease and deletes its keys in one revision that watchers see as one
// response; keep-alives keep keys alive; revoking during a keep-alive stream turns its answers to
// TTL 0; bad input gets etcd's errors; NOSPACE refuses grants; and lease state survives a restart
// (from a Raft snapshot), where the new leader restarts every countdown (plus an election timeout)
// instead of expiring leases early.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb, GrpcCode } from '@conclave/api';
import type { MemberHandle } from '../../packages/server/src/embed/start.js';
import { streamClient, type RpcError, type StreamClient } from '../helpers/etcd-streams.js';
import { startInProcess } from '../helpers/in-process.js';
import { tempDir, waitUntil } from '../helpers/tmp.js';

const dir = tempDir('conclave-lease');
let member: MemberHandle;
let c: StreamClient;

async function start(): Promise<void> {
  let endpoint: string;
  ({ member, endpoint } = await startInProcess(`${dir.path}/m.etcd`, [
    '--election-timeout=500',
    '--heartbeat-interval=100',
    // Frequent Raft snapshots: the restart below recovers from a snapshot plus the backend.
    '--snapshot-count=20',
    '--log-level=error',
  ]));
  c = streamClient(endpoint);
}

async function restart(): Promise<void> {
  c.close();
  await member.close();
  await start();
}

before(start);
after(async () => {
  c?.close();
  await member?.close();
  dir.cleanup();
});

const buf = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = (cond: () => Promise<boolean>, ms: number): Promise<void> => waitUntil('the condition', cond, ms, 50);

async function rpcError(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as RpcError;
    return { code: err.code, details: err.details };
  }
  throw new Error('expected the call to fail');
}

async function count(prefix: string): Promise<number> {
  const r = await c.range({
    key: buf(prefix),
    rangeEnd: buf(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)),
    countOnly: true,
  });
  return Number(r.count);
}

describe('lease expiry and keep-alive', () => {
  test('an expired lease is revoked through Raft: all its keys deleted in one revision, seen by watchers in one response', async () => {
    const g = await c.leaseGrant({ TTL: 1 });
    assert.equal(g.TTL, 1n, 'minimum TTL with a 500 ms election timeout');
    for (const k of ['e/c', 'e/a', 'e/b']) await c.put({ key: buf(k), value: buf('v'), lease: g.ID });
    await c.put({ key: buf('e/keep'), value: buf('v') });
    const w = c.watch();
    w.write({ createRequest: { key: buf('e/'), rangeEnd: buf('e0') } });
    await w.count(1);
    const t0 = Date.now();
    const [, res] = await w.until((rs) => rs.some((r) => r.events.length > 0), 5000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 2500, `expired after ${elapsed} ms`);
    const ev = res!;
    assert.deepEqual(
      ev.events.map((e) => [e.type, Buffer.from(e.kv!.key).toString()]),
      [
        [1, 'e/a'],
        [1, 'e/b'],
        [1, 'e/c'],
      ],
    );
    assert.equal(new Set(ev.events.map((e) => e.kv!.modRevision)).size, 1);
    assert.equal((await c.leaseTimeToLive({ ID: g.ID })).TTL, -1n);
    assert.equal(await count('e/'), 1);
    w.cancel();
  });

  test('keep-alives keep the keys; once they stop, the lease expires', async () => {
    const g = await c.leaseGrant({ TTL: 1 });
    await c.put({ key: buf('ka/x'), value: buf('v'), lease: g.ID });
    const ka = c.keepAlive();
    for (let i = 0; i < 7; i++) {
      ka.write({ ID: g.ID });
      await sleep(250);
    }
    await ka.count(7);
    assert.ok(ka.responses.every((r) => r.ID === g.ID && r.TTL === 1n));
    assert.equal(await count('ka/'), 1, 'alive after 1.75 s of a 1 s lease');
    const ttl = await c.leaseTimeToLive({ ID: g.ID, keys: true });
    assert.deepEqual([ttl.grantedTTL, ttl.keys.map((k) => Buffer.from(k).toString())], [1n, ['ka/x']]);
    ka.end();
    assert.equal(await ka.closed(), null, 'half-close ends the stream with OK');
    await until(async () => (await count('ka/')) === 0, 3000);
  });

  test('revoke during a keep-alive stream: later renewals answer TTL 0', async () => {
    const g = await c.leaseGrant({ TTL: 30 });
    const ka = c.keepAlive();
    ka.write({ ID: g.ID });
    await ka.count(1);
    assert.equal(ka.responses[0]!.TTL, 30n);
    const rv = await c.leaseRevoke({ ID: g.ID });
    assert.ok(rv.header!.revision! > 0n);
    ka.write({ ID: g.ID });
    ka.write({ ID: 424242 });
    await ka.count(3);
    assert.deepEqual(
      ka.responses.slice(1).map((r) => [r.ID, r.TTL]),
      [
        [g.ID, 0n],
        [424242n, 0n],
      ],
    );
    assert.ok(ka.responses[1]!.header!.revision! >= rv.header!.revision!);
    ka.cancel();
  });
});

describe('lease requests with bad input', () => {
  test("etcd's errors and answers for unknown, duplicate and out-of-range leases", async () => {
    const chosen = await c.leaseGrant({ ID: 0x1234, TTL: 60 });
    assert.equal(chosen.ID, 0x1234n);
    assert.deepEqual(await rpcError(c.leaseGrant({ ID: 0x1234, TTL: 5 })), {
      code: GrpcCode.FAILED_PRECONDITION,
      details: 'etcdserver: lease already exists',
    });
    assert.deepEqual(await rpcError(c.leaseGrant({ TTL: 9_000_000_001 })), {
      code: GrpcCode.OUT_OF_RANGE,
      details: 'etcdserver: too large lease TTL',
    });
    assert.deepEqual(await rpcError(c.leaseRevoke({ ID: 77 })), {
      code: GrpcCode.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    });
    assert.deepEqual(await rpcError(c.put({ key: buf('x'), value: buf('y'), lease: 77 })), {
      code: GrpcCode.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    });
    const ttl = await c.leaseTimeToLive({ ID: 77, keys: true });
    assert.deepEqual([ttl.ID, ttl.TTL, ttl.grantedTTL, ttl.keys], [77n, -1n, 0n, []]);
    const leases = await c.leaseLeases();
    assert.ok(leases.leases.some((l) => l.ID === 0x1234n));
    await c.leaseRevoke({ ID: 0x1234 });
    const ka = c.keepAlive();
    ka.write({ ID: 0x1234 });
    await ka.count(1);
    assert.deepEqual([ka.responses[0]!.ID, ka.responses[0]!.TTL], [0x1234n, 0n]);
    ka.cancel();
  });

  test('re-put moves a key to another lease; ignore_lease keeps it', async () => {
    const a = await c.leaseGrant({ TTL: 60 });
    const b = await c.leaseGrant({ TTL: 60 });
    await c.put({ key: buf('mv'), value: buf('1'), lease: a.ID });
    await c.put({ key: buf('mv'), value: buf('2'), lease: b.ID });
    await c.put({ key: buf('mv'), value: buf('3'), ignoreLease: true });
    const keys = async (id: bigint) =>
      (await c.leaseTimeToLive({ ID: id, keys: true })).keys.map((k) => Buffer.from(k).toString());
    assert.deepEqual(await keys(a.ID), []);
    assert.deepEqual(await keys(b.ID), ['mv']);
    await c.leaseRevoke({ ID: a.ID });
    assert.equal(await count('mv'), 1);
    await c.leaseRevoke({ ID: b.ID });
    assert.equal(await count('mv'), 0);
  });

  test('LeaseGrant fails with "database space exceeded" while NOSPACE is raised', async () => {
    const s = member.server;
    const alarm = (action: etcdserverpb.AlarmRequest_AlarmAction) =>
      s.alarms.handle(
        etcdserverpb.AlarmRequest.create({ action, memberID: s.memberId, alarm: etcdserverpb.AlarmType.NOSPACE }),
      );
    await alarm(etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE);
    try {
      assert.deepEqual(await rpcError(c.leaseGrant({ TTL: 60 })), {
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: 'etcdserver: mvcc: database space exceeded',
      });
    } finally {
      await alarm(etcdserverpb.AlarmRequest_AlarmAction.DEACTIVATE);
    }
    assert.ok((await c.leaseGrant({ TTL: 60 })).ID > 0n);
  });
});

describe('lease state across a restart', () => {
  test('leases and attached keys survive; countdowns restart (plus an election timeout) on the new leader', async () => {
    const long = await c.leaseGrant({ TTL: 2 });
    const short = await c.leaseGrant({ TTL: 1 });
    await c.put({ key: buf('r/long'), value: buf('v'), lease: long.ID });
    await c.put({ key: buf('r/short'), value: buf('v'), lease: short.ID });
    await until(async () => (await c.leaseTimeToLive({ ID: short.ID })).TTL === -1n, 3000);
    // `long` has less than 1 s left now; after the restart it has its full TTL again.
    const lk = c.keepAlive();
    lk.write({ ID: short.ID });
    await lk.count(1);
    assert.equal(lk.responses[0]!.TTL, 0n, 'the short lease expired before the restart');
    lk.cancel();
    assert.ok(
      readdirSync(join(dir.path, 'm.etcd/member/snap')).some((f) => f.endsWith('.snap')),
      'a Raft snapshot was taken',
    );
    await restart();
    const t = await c.leaseTimeToLive({ ID: long.ID, keys: true });
    assert.deepEqual([t.grantedTTL, t.keys.map((k) => Buffer.from(k).toString())], [2n, ['r/long']]);
    assert.ok(t.TTL >= 2n, `remaining ${t.TTL} s after the restart`);
    assert.equal(await count('r/short'), 0);
    assert.equal(await count('r/long'), 1);
    await until(async () => (await count('r/long')) === 0, 4000);
  });
});
