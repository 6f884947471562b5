// onAbort: one listener on a signal for any number of waiters, each called once, each removable.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { onAbort } from './abort.js';

test('many waiters on one signal: one listener, each called once on abort', () => {
  const ac = new AbortController();
  const calls: number[] = [];
  const stops = Array.from({ length: 50 }, (_, i) => onAbort(ac.signal, () => calls.push(i)));
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  stops[7]!();
  stops[7]!();
  ac.abort();
  ac.abort();
  assert.deepEqual(
    calls,
    Array.from({ length: 50 }, (_, i) => i).filter((i) => i !== 7),
  );
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('the listener goes with the last waiter, and comes back with the next', () => {
  const ac = new AbortController();
  const a = onAbort(ac.signal, () => assert.fail('stopped'));
  const b = onAbort(ac.signal, () => assert.fail('stopped'));
  a();
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  b();
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  let called = 0;
  onAbort(ac.signal, () => called++);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort();
  assert.equal(called, 1);
});
