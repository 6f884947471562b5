import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError } from '@conclave/client';
import { acquireLocal, leaseHex, tryAcquireLocal, uniqueSuffix } from './keys.js';

test("lease IDs are named as Go's %x prints them", () => {
  assert.equal(leaseHex(0x694d7e5bd0a1b2c3n), '694d7e5bd0a1b2c3');
  assert.equal(leaseHex(255n), 'ff');
  const a = uniqueSuffix(255n);
  assert.ok(a.startsWith('ff_'));
  assert.notEqual(a, uniqueSuffix(255n));
});

test('the in-process key lock serves waiters in order; an aborted waiter passes it on', async () => {
  const owner = {};
  const order: string[] = [];
  const r1 = await acquireLocal(owner, 'k');
  assert.equal(tryAcquireLocal(owner, 'k'), undefined);
  assert.ok(tryAcquireLocal(owner, 'other'), 'other keys are independent');
  const ac = new AbortController();
  const second = acquireLocal(owner, 'k', ac.signal);
  const third = acquireLocal(owner, 'k').then((release) => {
    order.push('third');
    return release;
  });
  ac.abort();
  await assert.rejects(second, AbortedError);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, [], 'the third waits for the first even though the second left');
  r1();
  const r3 = await third;
  assert.deepEqual(order, ['third']);
  r3();
  r3(); // idempotent
  const again = tryAcquireLocal(owner, 'k');
  assert.ok(again, 'free again once everyone released');
  again();
});
