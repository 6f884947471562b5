import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsyncQueue } from './async-queue.js';

test("'all' delivers every value in order, then the end", async () => {
  const ch = new AsyncQueue<number>();
  ch.push(1);
  ch.push(2);
  const pending = ch.next();
  assert.deepEqual(await pending, { value: 1, done: false });
  ch.push(3);
  ch.end();
  ch.push(4); // after the end: dropped
  const got: number[] = [];
  for await (const v of ch) got.push(v);
  assert.deepEqual(got, [2, 3]);
});

test("'latest' replaces a value not yet consumed, never reorders", async () => {
  const ch = new AsyncQueue<number>(undefined, 'latest');
  ch.push(1);
  ch.push(2);
  ch.push(3);
  assert.deepEqual(await ch.next(), { value: 3, done: false });
  const waiting = ch.next();
  ch.push(4);
  assert.deepEqual(await waiting, { value: 4, done: false });
});

test('fail is thrown after the values already pushed; leaving the loop calls onReturn once', async () => {
  const ch = new AsyncQueue<string>();
  ch.push('a');
  ch.fail(new Error('boom'));
  assert.deepEqual(await ch.next(), { value: 'a', done: false });
  await assert.rejects(ch.next(), /boom/);
  let returned = 0;
  const other = new AsyncQueue<number>(() => returned++);
  other.push(1);
  for await (const v of other) {
    assert.equal(v, 1);
    break;
  }
  await other.return();
  assert.equal(returned, 1);
  assert.deepEqual(await other.next(), { value: undefined, done: true });
});
