// Leases through @conclave/client, against every target with 'lease'.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeaseExistsError, LeaseLostError, LeaseNotFoundError, LeaseTTLTooLargeError } from '@conclave/client';
import { describeTargets } from './targets.js';
import { eventually } from './wait.js';

describeTargets(['lease'], (ctx) => {
  test('grant, attach keys, timeToLive, leases, revoke', async () => {
    const c = ctx.client;
    const l = await c.lease.grant(30);
    assert.equal(typeof l.id, 'bigint');
    assert.equal(l.ttl, 30);
    await c.put('l1/a', '1', { lease: l.id });
    await c.put('l1/b', '2', { lease: l.id });
    assert.equal((await c.get('l1/a'))?.lease, l.id);
    const t = await c.lease.timeToLive(l.id, { keys: true });
    assert.equal(t.grantedTtl, 30);
    assert.ok(t.ttl > 0 && t.ttl <= 30);
    assert.deepEqual(t.keys.map((k) => Buffer.from(k).toString()).sort(), ['l1/a', 'l1/b']);
    // LeaseLeases is answered from the serving member's state, which may lag the grant briefly
    assert.ok(
      (
        await eventually(
          () => c.lease.leases(),
          (ids) => ids.includes(l.id),
        )
      ).includes(l.id),
    );
    await c.lease.revoke(l.id);
    assert.equal((await c.range('l1/', { prefix: true })).count, 0);
    assert.equal((await c.lease.timeToLive(l.id)).ttl, -1);
    await assert.rejects(c.lease.revoke(l.id), LeaseNotFoundError);
  });

  test('chosen IDs, duplicate IDs and too large TTLs', async () => {
    const c = ctx.client;
    const id = 0x1234_5678_9abc_def0n;
    const l = await c.lease.grant(10, { id });
    assert.equal(l.id, id);
    await assert.rejects(c.lease.grant(10, { id }), LeaseExistsError);
    await assert.rejects(c.lease.grant(9_000_000_001), LeaseTTLTooLargeError);
    await c.lease.revoke(id);
  });

  test('keepAlive renews at TTL/3 until closed; keepAliveOnce renews once', async () => {
    const c = ctx.client;
    const l = await c.lease.grant(2);
    const ka = c.lease.keepAlive(l);
    let renewals = 0;
    ka.on('renewed', () => renewals++);
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(renewals >= 3, `${renewals} renewals`);
    assert.equal(ka.ttl, 2);
    assert.ok(ka.expiresAt > Date.now());
    assert.ok((await c.lease.timeToLive(l.id)).ttl > 0);
    assert.equal(ka.signal.aborted, false);
    ka.close();
    assert.equal(ka.signal.aborted, true);
    assert.equal((await c.lease.keepAliveOnce(l.id)).ttl, 2);
    await c.lease.revoke(l.id);
    await assert.rejects(c.lease.keepAliveOnce(l.id), LeaseNotFoundError);
  });

  test('keepAlive reports the loss of a lease revoked elsewhere: event, promise and signal', async () => {
    const c = ctx.client;
    const l = await c.lease.grant(5);
    const ka = c.lease.keepAlive(l.id);
    await new Promise((r) => ka.once('renewed', r));
    const events: LeaseLostError[] = [];
    ka.on('lost', (e) => events.push(e));
    await ctx.newClient().lease.revoke(l.id);
    const err = await ka.lost;
    assert.ok(err instanceof LeaseLostError);
    assert.equal(err.reason, 'expired');
    assert.equal(err.leaseId, l.id);
    assert.equal(ka.signal.aborted, true);
    assert.equal(ka.signal.reason, err);
    assert.deepEqual(events, [err]);
  });

  test('a namespace reports only its own keys of a lease, without the prefix', async () => {
    const c = ctx.client;
    const ns = c.namespace('l2/');
    const l = await ns.lease.grant(30);
    await ns.put('x', '1', { lease: l.id });
    await c.put('l2-outside', '1', { lease: l.id });
    const t = await ns.lease.timeToLive(l.id, { keys: true });
    assert.deepEqual(
      t.keys.map((k) => Buffer.from(k).toString()),
      ['x'],
    );
    await ns.lease.revoke(l.id);
    assert.equal(await ns.get('x'), undefined);
  });
});
