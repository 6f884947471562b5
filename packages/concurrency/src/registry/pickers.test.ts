import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceInstance } from './codec.js';
import { pickerFor, random, roundRobin } from './pickers.js';

const set = (...ids: string[]): ServiceInstance[] => ids.map((id) => ({ service: 's', id, address: id }));

test('round-robin cycles through the set and keeps going when the set changes', () => {
  const pick = roundRobin();
  assert.deepEqual(
    [1, 2, 3, 4].map(() => pick(set('a', 'b', 'c'))?.id),
    ['a', 'b', 'c', 'a'],
  );
  assert.equal(pick(set('a', 'b'))?.id, 'b');
  assert.equal(pick([]), undefined);
});

test('random picks members of the set; strategies by name', () => {
  const pick = random();
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(pick(set('a', 'b', 'c'))!.id);
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  assert.equal(pick([]), undefined);
  assert.equal(pickerFor('round-robin')(set('x'))?.id, 'x');
  assert.throws(() => pickerFor('nope' as 'random'), TypeError);
});
