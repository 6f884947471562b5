// MVCC store benchmark (a script, not a test):
//   node --import tsx packages/server/bench/mvcc.ts [keys=100000]
// Prints puts/s (one logical txn per put; 1 and 100 puts per backend batch), range of 1 key and
// of 100 keys on the loaded store, and the index rebuild time on reopen.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '../src/storage/backend/index.js';
import { MvccStore } from '../src/mvcc/store.js';

const N = Number(process.argv[2] ?? 100_000);
const VALUE = Buffer.alloc(256, 0x61);
const key = (i: number) => Buffer.from(`/registry/pods/default/pod-${String(i).padStart(8, '0')}`);

function rate(ops: number, ms: number): string {
  return `${Math.round((ops / ms) * 1000).toLocaleString('en-US')}/s (${((ms * 1000) / ops).toFixed(2)} µs/op)`;
}

function timeit(ops: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) fn(i);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-mvcc-bench-'));
  try {
    let backend = await Backend.open({ path: join(dir, 'data') });
    let store = MvccStore.open(backend);
    const keys = Array.from({ length: N }, (_, i) => key(i));

    // Load: one logical txn per put, 100 puts per backend batch.
    let ms = timeit(N / 100, (j) =>
      backend.batch(() => {
        for (let i = j * 100; i < j * 100 + 100; i++) store.write((t) => t.put(keys[i]!, VALUE));
      }),
    );
    console.log(`put, 100 per batch (load ${N} new keys):   ${rate(N, ms)}`);
    ms = timeit(N / 100, (j) =>
      backend.batch(() => {
        for (let i = j * 100; i < j * 100 + 100; i++) store.write((t) => t.put(keys[(i * 7919) % N]!, VALUE));
      }),
    );
    console.log(`put, 100 per batch (update, ${N} keys):     ${rate(N, ms)}`);
    const single = Math.min(N, 20_000);
    ms = timeit(single, (i) => store.write((t) => t.put(keys[(i * 31) % N]!, VALUE)));
    console.log(`put, 1 per batch (update):                  ${rate(single, ms)}`);
    ms = timeit(N / 100, (j) =>
      backend.batch(() => {
        for (let i = j * 100; i < j * 100 + 100; i++)
          store.write((t) => t.put(keys[(i * 13) % N]!, VALUE, 0n, { prevKv: true }));
      }),
    );
    console.log(`put with prevKv, 100 per batch:             ${rate(N, ms)}`);
    const sync0 = performance.now();
    await backend.sync();
    console.log(`sync after load:                            ${(performance.now() - sync0).toFixed(1)} ms`);

    const R = 100_000;
    ms = timeit(R, (i) => store.range(keys[(i * 7919) % N]!, null));
    console.log(`range 1 key (${N} keys):                   ${rate(R, ms)}`);
    ms = timeit(R, (i) => store.rangeRaw(keys[(i * 7919) % N]!, null));
    console.log(`rangeRaw 1 key:                             ${rate(R, ms)}`);
    const R100 = 10_000;
    ms = timeit(R100, (i) => {
      const s = (i * 7919) % (N - 100);
      const r = store.range(keys[s]!, keys[s + 100]!);
      if (r.kvs.length !== 100) throw new Error('expected 100 keys');
    });
    console.log(`range 100 keys:                             ${rate(R100, ms)}`);
    ms = timeit(R100, (i) => {
      const s = (i * 7919) % (N - 100);
      store.rangeRaw(keys[s]!, keys[s + 100]!);
    });
    console.log(`rangeRaw 100 keys:                          ${rate(R100, ms)}`);
    ms = timeit(100, () => store.range(Buffer.from([0]), Buffer.from([0]), { limit: 10 }));
    console.log(`range all keys, limit 10 (count ${N}):     ${rate(100, ms)}`);
    const oldRev = store.currentRevision - N;
    ms = timeit(R, (i) => store.range(keys[(i * 7919) % N]!, null, { rev: oldRev }));
    console.log(`range 1 key at an old revision:             ${rate(R, ms)}`);

    const h0 = performance.now();
    store.hashKV();
    console.log(
      `hashKV (${store.currentRevision - 1} revisions):                ${(performance.now() - h0).toFixed(0)} ms`,
    );

    await backend.close();
    backend = await Backend.open({ path: join(dir, 'data') });
    const r0 = performance.now();
    store = MvccStore.open(backend);
    console.log(
      `index rebuild on open (${N} keys, ${store.currentRevision - 1} revisions): ${(performance.now() - r0).toFixed(0)} ms`,
    );

    const c0 = performance.now();
    await store.compact(store.currentRevision).done;
    console.log(
      `compaction of ${store.currentRevision - 1 - N} old revisions:       ${(performance.now() - c0).toFixed(0)} ms (background)`,
    );
    const r1 = performance.now();
    await backend.close();
    backend = await Backend.open({ path: join(dir, 'data') });
    store = MvccStore.open(backend);
    console.log(
      `index rebuild on open (${N} keys, compacted):    ${(performance.now() - r1).toFixed(0)} ms (incl. close/open)`,
    );
    console.log(`db size ${backend.size() >> 20} MiB, in use ${backend.sizeInUse() >> 20} MiB`);
    await backend.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
