// Memory of idle watchers (a script, not a test):
//   npm run build && node --conditions=conclave-source --import tsx test/bench/watch-memory.ts [watchers=10000] [streams=100]
// Starts the built `conclave` binary (or `etcd` with KIND=etcd) on a fresh data dir, opens
// `streams` watch streams over 10 connections and creates `watchers` watchers spread over them
// (keys, prefixes and from-key ranges), then reports the server's resident memory (VmRSS) before,
// after creating them, after 100 writes fanned out to them (and how long delivering every event
// took), and after canceling them all.

import { readFileSync } from 'node:fs';
import type { etcdserverpb } from '@conclave/api';
import { streamClient, type RawStream, type StreamClient } from '../helpers/etcd-streams.js';
import { startServer } from '../helpers/process.js';

const WATCHERS = Number(process.argv[2] ?? 10_000);
const STREAMS = Number(process.argv[3] ?? 100);
const kind = (process.env['KIND'] ?? 'conclave') as 'conclave' | 'etcd';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const server = await startServer(kind);
  const pid = server.child.pid!;
  const clients: StreamClient[] = Array.from({ length: 10 }, () => streamClient(server.endpoint));
  try {
    await clients[0]!.put({ key: Buffer.from('warmup'), value: Buffer.from('x') });
    await sleep(500);
    const base = rssMiB(pid);
    const streams: Array<RawStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>> = Array.from(
      { length: STREAMS },
      (_, i) => clients[i % clients.length]!.watch(),
    );
    const t0 = performance.now();
    for (let i = 0; i < WATCHERS; i++) {
      const k = `idle/${i % 1000}`;
      const r = i % 3;
      const req =
        r === 0
          ? { key: Buffer.from(k) }
          : r === 1
            ? { key: Buffer.from(`${k}/`), rangeEnd: Buffer.from(`${k}0`) }
            : { key: Buffer.from(k), rangeEnd: Buffer.from([0]) };
      streams[i % STREAMS]!.write({ createRequest: req });
    }
    await Promise.all(
      streams.map((s, i) => s.count(Math.floor(WATCHERS / STREAMS) + (i < WATCHERS % STREAMS ? 1 : 0), 120_000)),
    );
    const created = performance.now() - t0;
    await sleep(1000);
    const idle = rssMiB(pid);
    // 100 writes; every watcher whose key or range includes a written key gets its event.
    const written = Array.from({ length: 100 }, (_, j) => `idle/${j * 10}`);
    let expected = 0;
    for (let i = 0; i < WATCHERS; i++) {
      const k = `idle/${i % 1000}`;
      const r = i % 3;
      expected += written.filter((x) => (r === 0 ? x === k : r === 1 ? x.startsWith(`${k}/`) : x >= k)).length;
    }
    const t1 = performance.now();
    for (const k of written) await clients[0]!.put({ key: Buffer.from(k), value: Buffer.alloc(100, 0x61) });
    const count = () => streams.reduce((n, s) => n + s.responses.reduce((m, r) => m + r.events.length, 0), 0);
    while (count() < expected && performance.now() - t1 < 120_000) await sleep(50);
    const delivered = performance.now() - t1;
    const events = count();
    const afterWrites = rssMiB(pid);
    for (const s of streams) s.cancel();
    await sleep(2000);
    const after = rssMiB(pid);
    console.log(
      JSON.stringify({
        server: kind,
        watchers: WATCHERS,
        streams: STREAMS,
        createMs: Math.round(created),
        rssMiB: {
          base: +base.toFixed(1),
          idle: +idle.toFixed(1),
          afterWrites: +afterWrites.toFixed(1),
          afterCancel: +after.toFixed(1),
        },
        perWatcherKiB: +(((idle - base) * 1024) / WATCHERS).toFixed(2),
        events,
        expectedEvents: expected,
        deliveredMs: Math.round(delivered),
      }),
    );
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
}

void main();
