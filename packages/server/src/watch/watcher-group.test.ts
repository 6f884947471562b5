import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatcherGroup } from './watcher-group.js';
import { Watcher, type WatcherSink } from './watcher.js';
import { mulberry32 } from '../../testing/random.js';

const stream = {} as WatcherSink;
let nextId = 0n;

function watcher(key: string, end: string | null, single = false): Watcher {
  return new Watcher(stream, nextId++, key, end, single, 1, false, false, false, false, false);
}

test('single keys, prefixes, open ranges and the whole keyspace', () => {
  const g = new WatcherGroup();
  const foo = watcher('foo', null, true);
  const prefix = watcher('fo', 'fp');
  const fromKey = watcher('g', null);
  const all = watcher('\0', null);
  const ac = watcher('a', 'c');
  for (const w of [foo, prefix, fromKey, all, ac]) g.add(w);
  const who = (k: string) => {
    const out: bigint[] = [];
    g.forEachWatching(k, (w) => out.push(w.id));
    return out.sort((x, y) => Number(x - y));
  };
  assert.deepEqual(who('foo'), [foo.id, prefix.id, all.id]);
  assert.deepEqual(who('fox'), [prefix.id, all.id]);
  assert.deepEqual(who('fp'), [all.id]);
  assert.deepEqual(who('zzz'), [fromKey.id, all.id]);
  assert.deepEqual(who('b\xff'), [all.id, ac.id]);
  assert.deepEqual(who('c'), [all.id]);
  g.delete(all);
  g.delete(prefix);
  assert.deepEqual(who('foo'), [foo.id]);
  assert.equal(g.contains('fox'), false);
  assert.equal(g.contains('gz'), true);
  assert.equal(g.size, 3);
});

test('matches a brute-force scan under random adds and deletes', () => {
  const rand = mulberry32(42);
  const alphabet = 'abcd';
  const key = (n: number) =>
    Array.from({ length: 1 + Math.floor(rand() * n) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
  const g = new WatcherGroup();
  const live: Watcher[] = [];
  for (let step = 0; step < 3000; step++) {
    const r = rand();
    if (r < 0.5 || live.length === 0) {
      const kind = rand();
      let w: Watcher;
      if (kind < 0.3) w = watcher(key(3), null, true);
      else if (kind < 0.45) w = watcher(key(2), null);
      else {
        const a = key(3);
        const z = key(3);
        w = a < z ? watcher(a, z) : watcher(z, `${a}a`);
      }
      g.add(w);
      live.push(w);
    } else {
      const i = Math.floor(rand() * live.length);
      g.delete(live[i]!);
      live.splice(i, 1);
    }
    if (step % 10 === 0) {
      const k = key(4);
      const got: Watcher[] = [];
      g.forEachWatching(k, (w) => got.push(w));
      const want = live.filter((w) => w.covers(k));
      assert.equal(got.length, new Set(got).size, 'no watcher twice');
      assert.deepEqual(new Set(got), new Set(want), `watchers of ${k}`);
    }
  }
});
