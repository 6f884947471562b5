// WAL benchmark: sync saves of one 256-byte entry (plus hard state) from 1, 10 and 100
// concurrent writers, each saving again as soon as its previous save resolves.
// Prints saves/s, fsyncs/s, saves per fsync, and p50/p99 save latency.
//   node --import tsx packages/server/bench/wal.ts [seconds per run, default 3]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType } from '../src/raft/types.js';
import { Wal } from '../src/storage/wal/index.js';

const seconds = Number(process.argv[2] ?? 3);
const data = new Uint8Array(256).fill(0x61);

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function run(writers: number, preallocate: boolean): Promise<string> {
  const base = mkdtempSync(join(tmpdir(), 'conclave-wal-bench-'));
  try {
    const wal = await Wal.create(join(base, 'wal'), { metadata: new Uint8Array(16), preallocate });
    let next = 1;
    const lat: number[] = [];
    // Warm-up (JIT, first file blocks).
    for (let i = 0; i < 200; i++)
      await wal.save(null, [{ term: 1, index: next++, type: EntryType.Normal, data }], true);
    const s0 = wal.stats;
    const start = performance.now();
    const stopAt = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < stopAt) {
          const index = next++;
          const t0 = performance.now();
          await wal.save(
            { term: 1, vote: 1n, commit: index - 1 },
            [{ term: 1, index, type: EntryType.Normal, data }],
            true,
          );
          lat.push(performance.now() - t0);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const s1 = wal.stats;
    await wal.close();
    const sorted = Float64Array.from(lat).sort();
    const saves = s1.saves - s0.saves;
    const fsyncs = s1.fsyncs - s0.fsyncs;
    return [
      String(writers).padStart(7),
      (preallocate ? 'yes' : 'no').padStart(8),
      Math.round(saves / elapsed)
        .toString()
        .padStart(9),
      Math.round(fsyncs / elapsed)
        .toString()
        .padStart(9),
      (saves / fsyncs).toFixed(1).padStart(11),
      percentile(sorted, 0.5).toFixed(2).padStart(8),
      percentile(sorted, 0.99).toFixed(2).padStart(8),
      ((s1.bytesWritten - s0.bytesWritten) / elapsed / 1e6).toFixed(1).padStart(7),
    ].join(' ');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

console.log(`WAL sync saves, 256-byte entries + hard state, ${seconds}s per run, tmpdir ${tmpdir()}`);
console.log('writers prealloc   saves/s  fsyncs/s saves/fsync  p50 ms  p99 ms    MB/s');
for (const preallocate of [false, true]) {
  for (const writers of [1, 10, 100]) console.log(await run(writers, preallocate));
}
