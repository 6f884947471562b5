// The server-side v3lockpb.Lock and v3electionpb.Election services (used by jetcd and gateway
// clients), driven the same way against reference etcd 3.4 and Conclave.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMessage, encodeMessage, etcdserverpb, v3electionpb, v3lockpb, type PartialMessage } from '@conclave/api';
import { CallError, RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const L = v3lockpb.LockService;
const E = v3electionpb.ElectionService;
const Lease = etcdserverpb.LeaseService;
const b = (s: string) => Buffer.from(s);
const str = (u: Uint8Array | undefined) => Buffer.from(u ?? []).toString();

const servers: Record<string, ServerProcess> = {};
before(async () => {
  [servers['etcd'], servers['conclave']] = await Promise.all([startServer('etcd'), startServer('conclave')]);
});
after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof CallError ? `${e.code}:${e.details}` : String(e);
  }
}

for (const kind of ['etcd', 'conclave']) {
  describe(`Lock and Election services on ${kind}`, () => {
    test('lock: mutual exclusion in queue order, key layout name/<lease hex>, unlock hands over', async () => {
      const c = new RawClient(servers[kind]!.endpoint);
      try {
        const l1 = await c.unary(Lease.LeaseGrant, { TTL: 30 });
        const l2 = await c.unary(Lease.LeaseGrant, { TTL: 30 });
        const a = await c.unary(L.Lock, { name: b('lk'), lease: l1.ID });
        assert.equal(str(a.key), `lk/${l1.ID.toString(16)}`);
        let second = false;
        const p = c.unary(L.Lock, { name: b('lk'), lease: l2.ID }).then((r) => {
          second = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(second, false, 'the second locker must wait');
        await c.unary(L.Unlock, { key: a.key });
        const bRes = await p;
        assert.equal(str(bRes.key), `lk/${l2.ID.toString(16)}`);
        assert.ok(bRes.header!.revision > a.header!.revision);
        // Revoking the holder's lease releases the lock too.
        const l3 = await c.unary(Lease.LeaseGrant, { TTL: 30 });
        const p3 = c.unary(L.Lock, { name: b('lk'), lease: l3.ID });
        await c.unary(Lease.LeaseRevoke, { ID: l2.ID });
        assert.equal(str((await p3).key), `lk/${l3.ID.toString(16)}`);
        // A lock with an unknown lease fails as a put with that lease would.
        assert.equal(
          await errorOf(c.unary(L.Lock, { name: b('lk2'), lease: 12345 })),
          '2:etcdserver: requested lease not found',
        );
      } finally {
        c.close();
      }
    });

    test('election: campaign, leader, proclaim, observe, resign, and etcd errors', async () => {
      const c = new RawClient(servers[kind]!.endpoint);
      try {
        assert.equal(await errorOf(c.unary(E.Leader, { name: b('el') })), '2:election: no leader');
        assert.equal(await errorOf(c.unary(E.Proclaim, { value: b('x') })), '2:"leader" field must be provided');
        assert.equal(await errorOf(c.unary(E.Resign, {})), '2:"leader" field must be provided');
        const l1 = await c.unary(Lease.LeaseGrant, { TTL: 30 });
        const l2 = await c.unary(Lease.LeaseGrant, { TTL: 30 });
        const one = await c.unary(E.Campaign, { name: b('el'), lease: l1.ID, value: b('one') });
        assert.equal(str(one.leader!.key), `el/${l1.ID.toString(16)}`);
        assert.equal(str(one.leader!.name), 'el');
        assert.equal(one.leader!.lease, l1.ID);
        assert.equal(str((await c.unary(E.Leader, { name: b('el') })).kv!.value), 'one');

        const seen: string[] = [];
        const stream = c.client.makeServerStreamRequest(
          E.Observe.path,
          (v: PartialMessage<v3electionpb.LeaderRequest>) => encodeMessage(v3electionpb.LeaderRequest, v),
          (buf: Buffer) => decodeMessage(v3electionpb.LeaderResponse, buf),
          { name: b('el') },
        );
        stream.on('data', (r: v3electionpb.LeaderResponse) => seen.push(str(r.kv?.value)));
        stream.on('error', () => {});
        // Observe reports the current leader first; wait for it so the proclaim below is a change.
        for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));

        let twoLeads = false;
        const two = c.unary(E.Campaign, { name: b('el'), lease: l2.ID, value: b('two') }).then((r) => {
          twoLeads = true;
          return r;
        });
        await c.unary(E.Proclaim, { leader: one.leader, value: b('uno') });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(twoLeads, false);
        await c.unary(E.Resign, { leader: one.leader });
        const r2 = await two;
        assert.equal(str(r2.leader!.key), `el/${l2.ID.toString(16)}`);
        // The old leader can no longer proclaim.
        assert.equal(
          await errorOf(c.unary(E.Proclaim, { leader: one.leader, value: b('x') })),
          '2:election: not leader',
        );
        await new Promise((r) => setTimeout(r, 300));
        stream.cancel();
        assert.deepEqual(seen, ['one', 'uno', 'two']);
      } finally {
        c.close();
      }
    });
  });
}
