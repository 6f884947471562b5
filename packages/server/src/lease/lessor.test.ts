import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { encodeMessage, etcdserverpb, GrpcStatusError } from '@conclave/api';
import { RequestKind } from '../etcdserver/raft-request.js';
import { applyRequest, type ApplyTargets } from '../apply/dispatch.js';
import type { Entry } from '../raft/types.js';
import { encodeCheckpoints } from './apply.js';
import { b, openFixture, put, type Fixture } from '../../testing/mvcc-fixture.js';
import {
  Lessor,
  LeaseNotFoundError,
  NotPrimaryError,
  MAX_LEASE_TTL,
  type Checkpoint,
  type LessorOptions,
} from './lessor.js';
import { now } from './lease.js';
import { decodeLeaseRecord, encodeLeaseRecord, leaseKey } from './persist.js';

let fx: Fixture;
let lessor: Lessor;
const opened: Lessor[] = [];

function newLessor(extra: Partial<LessorOptions> = {}): Lessor {
  const l = new Lessor({ backend: fx.backend, store: fx.store, minTtl: 2, expiredRetryMs: 3000, ...extra });
  opened.push(l);
  return l;
}

/** Applies `fn` inside one backend batch, as the applier does. */
const apply = <T>(fn: () => T): T => fx.backend.batch(fn);
/** Grants the leases [id, TTL in seconds] in one batch. */
const grant = (...leases: Array<[bigint, number]>): void =>
  apply(() => {
    for (const [id, ttl] of leases) lessor.grant(id, ttl);
  });

const keysOf = (l: Lessor, id: bigint): string[] => (l.lookup(id)?.sortedKeys() ?? []).map((k) => k.toString());

const errMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GrpcStatusError);
    return e.message;
  }
  assert.fail('expected an error');
};

beforeEach(async () => {
  fx = await openFixture();
  lessor = newLessor();
});

afterEach(async () => {
  for (const l of opened.splice(0)) l.close();
  await fx.close();
});

after(() => undefined);

describe('lessor: grant, revoke, attach', () => {
  test('grant raises the TTL to the minimum and refuses duplicates and huge TTLs', () => {
    const l = apply(() => lessor.grant(1n, 1));
    assert.equal(l.ttl, 2);
    assert.equal(apply(() => lessor.grant(2n, -5)).ttl, 2);
    assert.equal(apply(() => lessor.grant(3n, 60)).ttl, 60);
    assert.equal(
      errMessage(() => apply(() => lessor.grant(1n, 10))),
      'etcdserver: lease already exists',
    );
    assert.equal(
      errMessage(() => apply(() => lessor.grant(4n, MAX_LEASE_TTL + 1))),
      'etcdserver: too large lease TTL',
    );
    assert.equal(apply(() => lessor.grant(5n, MAX_LEASE_TTL)).ttl, MAX_LEASE_TTL);
    assert.deepEqual(
      lessor
        .list()
        .map((x) => x.id)
        .sort(),
      [1n, 2n, 3n, 5n],
    );
    const rec = decodeLeaseRecord(fx.backend.dbs.lease.get(leaseKey(3n))!);
    assert.deepEqual(rec, { id: 3n, ttl: 60, remainingTtl: 0 });
  });

  test('keys attach on put, move on re-put, detach on delete and re-put without lease', () => {
    grant([10n, 60], [11n, 60]);
    put(fx.store, 'a', '1', 10n);
    put(fx.store, 'b', '1', 10n);
    put(fx.store, 'c', '1', 11n);
    assert.deepEqual(keysOf(lessor, 10n), ['a', 'b']);
    put(fx.store, 'a', '2', 11n);
    assert.deepEqual(keysOf(lessor, 10n), ['b']);
    assert.deepEqual(keysOf(lessor, 11n), ['a', 'c']);
    put(fx.store, 'c', '2');
    fx.store.write((t) => t.deleteRange(b('b'), null));
    assert.deepEqual(keysOf(lessor, 10n), []);
    assert.deepEqual(keysOf(lessor, 11n), ['a']);
  });

  test('revoke deletes every attached key in one revision, then the lease', () => {
    apply(() => lessor.grant(7n, 60));
    for (const k of ['k3', 'k1', 'k2']) put(fx.store, k, 'v', 7n);
    put(fx.store, 'other', 'v');
    const before = fx.store.currentRevision;
    apply(() => lessor.revoke(7n));
    assert.equal(fx.store.currentRevision, before + 1);
    const evs = fx.store.history(before + 1, before + 1);
    assert.deepEqual(
      evs.map((e) => [e.type, e.kv.key.toString(), e.kv.modRevision]),
      [
        ['delete', 'k1', before + 1],
        ['delete', 'k2', before + 1],
        ['delete', 'k3', before + 1],
      ],
    );
    assert.equal(lessor.lookup(7n), undefined);
    assert.equal(fx.backend.dbs.lease.get(leaseKey(7n)), undefined);
    assert.equal(fx.store.range(b('other'), null).kvs.length, 1);
    assert.equal(
      errMessage(() => apply(() => lessor.revoke(7n))),
      'etcdserver: requested lease not found',
    );
  });

  test('revoke of a lease without keys consumes no revision', () => {
    apply(() => lessor.grant(8n, 60));
    const rev = fx.store.currentRevision;
    apply(() => lessor.revoke(8n));
    assert.equal(fx.store.currentRevision, rev);
  });

  test('revoke sees keys attached and moved earlier in the same apply batch', () => {
    grant([20n, 60], [21n, 60]);
    put(fx.store, 'moved', 'v', 20n);
    apply(() => {
      fx.store.write((t) => t.put(b('fresh'), b('v'), 20n));
      fx.store.write((t) => t.put(b('moved'), b('v2'), 21n));
      lessor.revoke(20n);
    });
    assert.equal(fx.store.range(b('fresh'), null).kvs.length, 0);
    assert.equal(fx.store.range(b('moved'), null).kvs[0]?.lease, 21n);
    assert.deepEqual(keysOf(lessor, 21n), ['moved']);
  });

  test('an aborted batch undoes grants, revokes and checkpoints', () => {
    apply(() => lessor.grant(30n, 60));
    put(fx.store, 'x', 'v', 30n);
    assert.throws(() =>
      apply(() => {
        lessor.grant(31n, 60);
        lessor.revoke(30n);
        throw new Error('boom');
      }),
    );
    assert.equal(lessor.has(31n), false);
    assert.equal(lessor.has(30n), true);
    assert.deepEqual(keysOf(lessor, 30n), ['x']);
    assert.equal(fx.store.range(b('x'), null).kvs.length, 1);
    assert.ok(fx.backend.dbs.lease.get(leaseKey(30n)));
    assert.throws(() =>
      apply(() => {
        lessor.checkpoint(30n, 9);
        throw new Error('boom');
      }),
    );
    assert.equal(lessor.lookup(30n)!.remainingTtl, 0);
  });

  test('leases and their keys are recovered from the backend after a restart', async () => {
    grant([40n, 60], [-41n, 30]);
    put(fx.store, 'p', 'v', 40n);
    put(fx.store, 'q', 'v', -41n);
    lessor.close();
    await fx.reopen();
    const again = newLessor();
    assert.equal(again.lookup(40n)?.ttl, 60);
    assert.equal(again.lookup(-41n)?.ttl, 30);
    assert.deepEqual(keysOf(again, 40n), ['p']);
    assert.deepEqual(keysOf(again, -41n), ['q']);
    assert.equal(again.isPrimary, false);
  });
});

describe('lessor: the primary', () => {
  test('only a promoted lessor renews; promotion extends every lease', () => {
    apply(() => lessor.grant(1n, 10));
    assert.throws(() => lessor.renew(1n), NotPrimaryError);
    assert.equal(lessor.lookup(1n)!.remainingMs(), Number.POSITIVE_INFINITY);
    lessor.promote(1000);
    const left = lessor.lookup(1n)!.remainingMs();
    assert.ok(left > 10_500 && left <= 11_000, `remaining ${left}`);
    assert.equal(lessor.renew(1n), 10);
    const renewed = lessor.lookup(1n)!.remainingMs();
    assert.ok(renewed > 9_500 && renewed <= 10_000, `remaining ${renewed}`);
    assert.throws(() => lessor.renew(99n), LeaseNotFoundError);
    lessor.demote();
    assert.throws(() => lessor.renew(1n), NotPrimaryError);
    assert.equal(lessor.lookup(1n)!.remainingMs(), Number.POSITIVE_INFINITY);
  });

  test('a grant on the primary starts counting down at once', () => {
    lessor.promote(0);
    const l = apply(() => lessor.grant(2n, 5));
    assert.ok(l.remainingMs() > 4_500 && l.remainingMs() <= 5_000);
  });

  test('expired leases are found once, then again only after the retry interval', () => {
    lessor.promote(0);
    grant([1n, 5], [2n, 5], [3n, 5]);
    assert.deepEqual(lessor.findExpired(10), []);
    lessor.lookup(1n)!.expiry = now() - 1;
    lessor.lookup(3n)!.expiry = now() - 1;
    // The queue is keyed by the time recorded at grant/renew: bring those entries forward as a renew would.
    (lessor as unknown as { expiries: { set(id: bigint, t: number): void } }).expiries.set(1n, now() - 1);
    (lessor as unknown as { expiries: { set(id: bigint, t: number): void } }).expiries.set(3n, now() - 1);
    assert.deepEqual(
      lessor
        .findExpired(10)
        .map((l) => l.id)
        .sort(),
      [1n, 3n],
    );
    assert.deepEqual(lessor.findExpired(10), []);
  });

  test('findExpired honours the limit (the revoke rate)', () => {
    lessor.promote(0);
    apply(() => {
      for (let i = 1n; i <= 5n; i++) lessor.grant(i, 5);
    });
    const q = (lessor as unknown as { expiries: { set(id: bigint, t: number): void } }).expiries;
    for (let i = 1n; i <= 5n; i++) {
      lessor.lookup(i)!.expiry = now() - 1;
      q.set(i, now() - 1);
    }
    assert.equal(lessor.findExpired(2).length, 2);
    assert.equal(lessor.findExpired(2).length, 2);
    assert.equal(lessor.findExpired(2).length, 1);
  });

  test('renewing an expired lease waits for its revocation (TTL 0) or the demotion', async () => {
    lessor.promote(0);
    grant([1n, 5], [2n, 5]);
    lessor.lookup(1n)!.expiry = now() - 1;
    lessor.lookup(2n)!.expiry = now() - 1;
    const r1 = lessor.renew(1n);
    const r2 = lessor.renew(2n);
    assert.ok(r1 instanceof Promise && r2 instanceof Promise);
    apply(() => lessor.revoke(1n));
    await assert.rejects(r1, LeaseNotFoundError);
    lessor.demote();
    await assert.rejects(r2, NotPrimaryError);
  });

  test('leases are listed soonest expiry first', () => {
    lessor.promote(0);
    grant([1n, 50], [2n, 10], [3n, 30]);
    assert.deepEqual(
      lessor.list().map((l) => l.id),
      [2n, 3n, 1n],
    );
  });

  test('promotion spreads a pile-up of expiries under the revoke rate', () => {
    apply(() => {
      for (let i = 1; i <= 3000; i++) lessor.grant(BigInt(i), 10);
    });
    lessor.promote(0);
    const rem = lessor.list().map((l) => l.remainingMs());
    // 750 per second: the last of 3,000 leases due together expires about 3 s later than the first.
    assert.ok(rem[rem.length - 1]! - rem[0]! > 2_500, `spread ${rem[rem.length - 1]! - rem[0]!} ms`);
    let maxInSecond = 0;
    for (let i = 0, j = 0; i < rem.length; i++) {
      while (rem[i]! - rem[j]! >= 1000) j++;
      maxInSecond = Math.max(maxInSecond, i - j + 1);
    }
    assert.ok(maxInSecond <= 1000, `max ${maxInSecond} leases expire within one second`);
  });
});

describe('lessor: checkpoints', () => {
  test('the primary checkpoints remaining TTLs; a new primary restarts from them', async () => {
    const proposed: Checkpoint[][] = [];
    const cp = newLessor({
      checkpoint: { intervalMs: 50, persist: true, propose: async (cps) => void proposed.push(cps) },
    });
    lessor.close();
    cp.promote(0);
    apply(() => cp.grant(1n, 60));
    cp.lookup(1n)!.expiry -= 1500; // as if 1.5 s had passed since the grant
    await new Promise((r) => setTimeout(r, 60));
    const due = cp.dueCheckpoints(1000);
    assert.equal(due.length, 1);
    assert.equal(due[0]!.id, 1n);
    assert.equal(due[0]!.remainingTtl, 59);
    assert.deepEqual(cp.dueCheckpoints(1000), [], 'rescheduled only when applied');
    apply(() => cp.checkpoint(1n, 59));
    assert.equal(decodeLeaseRecord(fx.backend.dbs.lease.get(leaseKey(1n))!).remainingTtl, 59, 'persisted');
    cp.demote();
    cp.promote(0);
    const left = cp.lookup(1n)!.remainingMs();
    assert.ok(left > 58_500 && left <= 59_000, `remaining ${left}`);
    // A renewal clears the checkpoint through Raft first, then restarts from the full TTL.
    const r = cp.renew(1n);
    assert.ok(r instanceof Promise);
    assert.deepEqual(proposed.at(-1), [{ id: 1n, remainingTtl: 0 }]);
    apply(() => cp.checkpoint(1n, 0));
    assert.equal(await r, 60);
    assert.ok(cp.lookup(1n)!.remainingMs() > 59_500);
  });
});

describe('lease records', () => {
  test('encode like leasepb.Lease and survive large and negative IDs', () => {
    assert.equal(encodeLeaseRecord({ id: 1n, ttl: 10, remainingTtl: 0 }).toString('hex'), '0801100a');
    const ids = [0x7fff_ffff_ffff_ffffn, -1n, 0x694d_0000_0001_0203n, 5n];
    const encoded = ids.map((id) => encodeLeaseRecord({ id, ttl: 9_000_000_000, remainingTtl: 3 }));
    ids.forEach((id, i) =>
      assert.deepEqual(decodeLeaseRecord(encoded[i]!), { id, ttl: 9_000_000_000, remainingTtl: 3 }),
    );
    assert.equal(leaseKey(-1n).toString('hex'), 'ffffffffffffffff');
  });
});

describe('lease appliers', () => {
  test('decode LeaseGrant / LeaseRevoke / LeaseCheckpoint entries; NOSPACE refuses grants', () => {
    let capped = false;
    const targets = {
      lessor,
      store: fx.store,
      capped: () => capped,
      corrupt: () => false,
      quotaAvailable: () => true,
    } as unknown as ApplyTargets;
    const run = (kind: RequestKind, body: Uint8Array) =>
      apply(() => applyRequest(targets, { kind, id: 1n, username: '', authRevision: 0, body }, {} as Entry));
    const granted = run(RequestKind.LeaseGrant, encodeMessage(etcdserverpb.LeaseGrantRequest, { ID: 0x77, TTL: 1 }));
    assert.deepEqual(granted, { header: { revision: 1 }, ID: 0x77n, TTL: 2 });
    put(fx.store, 'held', 'v', 0x77n);
    run(RequestKind.LeaseCheckpoint, encodeCheckpoints([{ id: 0x77n, remainingTtl: 1 }]));
    assert.equal(lessor.lookup(0x77n)!.remainingTtl, 1);
    assert.deepEqual(run(RequestKind.LeaseRevoke, encodeMessage(etcdserverpb.LeaseRevokeRequest, { ID: 0x77 })), {
      header: { revision: 3 },
    });
    assert.equal(fx.store.range(b('held'), null).kvs.length, 0);
    capped = true;
    assert.equal(
      errMessage(() =>
        run(RequestKind.LeaseGrant, encodeMessage(etcdserverpb.LeaseGrantRequest, { ID: 0x78, TTL: 5 })),
      ),
      'etcdserver: mvcc: database space exceeded',
    );
  });
});
