// Plain against streamed Range encoding, in process (a script, not a test):
//   node --import tsx packages/server/bench/range-stream.ts [values=256]
// For ranges of 1 … 100,000 keys of `values`-byte values: µs per response of the plain path
// (applyRange, then the generated encoder into one buffer, as GrpcCall.send) and of the streamed
// one (plan + every chunk of range-stream/). Chooses MIN_STREAMED_KVS (range-stream/index.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { applyRange } from '../src/apply/kv.js';
import { MvccStore } from '../src/mvcc/store.js';
import { streamRange } from '../src/range-stream/index.js';
import { Backend } from '../src/storage/backend/index.js';

const VALUE = Buffer.alloc(Number(process.argv[2] ?? 256), 0x61);
const SIZES = [1, 4, 16, 32, 64, 128, 256, 1000, 10_000, 100_000];
const N = SIZES[SIZES.length - 1]!;
const key = (i: number) => Buffer.from(`bench/${String(i).padStart(8, '0')}`);
const header = (rev: number) => ({ clusterId: 1n, memberId: 2n, revision: rev, raftTerm: 3 });

function perCall(minMs: number, fn: () => void): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    n++;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-range-bench-'));
  try {
    const backend = await Backend.open({ path: join(dir, 'data') });
    const store = MvccStore.open(backend);
    for (let j = 0; j < N / 1000; j++) {
      backend.batch(() => {
        for (let i = j * 1000; i < j * 1000 + 1000; i++) store.write((t) => t.put(key(i), VALUE, 0n));
      });
    }
    console.log(`keys   plain µs   streamed µs   ratio   (${VALUE.length}-byte values)`);
    for (const n of SIZES) {
      const r = etcdserverpb.RangeRequest.create({ key: key(0), rangeEnd: key(n) });
      const plain = () => {
        const res = applyRange(store, r);
        res.header = header(Number(res.header!.revision));
        return encodeMessage(etcdserverpb.RangeResponse, res).length;
      };
      const streamed = () => {
        const body = streamRange(store, r, header, 0)!;
        let len = 0;
        for (let c = body.next(); c !== null; c = body.next()) len += c.length;
        body.close();
        return len;
      };
      if (plain() !== streamed()) throw new Error(`sizes differ at ${n}`);
      const ms = n >= 10_000 ? 2000 : 500;
      const p = perCall(ms, plain);
      const s = perCall(ms, streamed);
      console.log(
        `${String(n).padStart(6)} ${p.toFixed(1).padStart(10)} ${s.toFixed(1).padStart(13)} ${(s / p).toFixed(2).padStart(7)}`,
      );
    }
    await backend.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
