// Client overhead: the same closed-loop workload (put, then range, 100 concurrent callers) through
// @conclave/client and through etcd's Go client (etcdbench, /work/shared/etcdbench), one after the
// other, against the same server; and the client's streams on each transport: a watch catching up
// on a backlog of events, LeaseKeepAlive renewals pipelined on one stream, keepAliveOnce calls.
//
//   node --conditions=conclave-source --import tsx packages/client/bench/bench.ts [flags]
//     --server etcd|conclave   server to start (default etcd); or --endpoints host:port,... to use a running one
//     --total N                operations per run (default 20000)
//     --clients N              concurrent callers (default 100)
//     --conns N,M              connections (Client instances) for @conclave/client runs (default 1,10)
//     --ops LIST               workloads (default put,range; also watch, keepalive, keepalive-once)
//     --transport LIST         @conclave/client transports to run (default h2; also grpc-js)
//     --no-etcdbench           skip the Go client runs
//     --etcdbench PATH         etcdbench binary (default ~/.cache/etcdbench/etcdbench, built if missing)
//
// Prints one line per run and a table at the end. Numbers are for comparison on one machine only.

import { parseArgs } from 'node:util';
import { etcdserverpb } from '@conclave/api';
import { Client } from '../src/index.js';
import { codecs } from '../src/rpc/codecs.js';
import { GrpcJsTransport } from '../src/transport/grpc-js-transport.js';
import { H2Transport } from '../src/transport/h2-transport.js';
import type { Transport, TransportKind } from '../src/transport/transport.js';
import { etcdbenchPath, type RunFigures, runEtcdbench } from '../../../test/helpers/etcdbench.js';
import { startServer, type ServerProcess } from '../../../test/helpers/process.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'etcd' },
    endpoints: { type: 'string' },
    total: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '100' },
    conns: { type: 'string', default: '1,10' },
    etcdbench: { type: 'string' },
    'no-etcdbench': { type: 'boolean', default: false },
    ops: { type: 'string', default: 'put,range' },
    transport: { type: 'string', default: 'h2' },
  },
});
const opsList = values.ops!.split(',') as Op[];
const transports = values.transport!.split(',') as TransportKind[];
type Op = 'put' | 'range' | 'watch' | 'keepalive' | 'keepalive-once';
const total = Number(values.total);
const clients = Number(values.clients);
const connsList = values.conns!.split(',').map(Number);
const keySpace = 10_000;
const value = 'v'.repeat(256);
const key = (i: number): string => `bench/${String(i).padStart(8, '0')}`;

interface Result extends RunFigures {
  who: string;
  op: string;
}

function etcdbenchRun(bin: string, endpoints: string, op: 'put' | 'range'): Result {
  const load = { endpoints: endpoints.split(','), conns: 10, clients, total };
  return { who: 'etcdbench (Go clientv3, 10 conns)', op, ...runEtcdbench(bin, load, op) };
}

async function runOurs(endpoints: string[], op: Op, conns: number, transport: TransportKind): Promise<Result> {
  if (op === 'watch') return runWatch(endpoints, transport);
  if (op === 'keepalive') return runKeepAliveStream(endpoints[0]!, transport);
  const cs = Array.from({ length: conns }, () => new Client({ endpoints, timeoutMs: 30_000, transport }));
  const lease = op === 'keepalive-once' ? (await cs[0]!.lease.grant(600)).id : 0n;
  if (op === 'range') for (let i = 0; i < 100; i++) await cs[0]!.put(key(i), value);
  // warm up every connection
  await Promise.all(cs.map((c) => c.get(key(0))));
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      const c = cs[w % conns]!;
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        try {
          if (op === 'put') await c.put(key(Math.floor(Math.random() * keySpace)), value);
          else if (op === 'keepalive-once') await c.lease.keepAliveOnce(lease);
          else {
            const kv = await c.get(key(Math.floor(Math.random() * 100)));
            if (!kv) throw new Error('missing key');
          }
          lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(cs.map((c) => c.close()));
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.floor(p * (lat.length - 1))] ?? 0;
  return {
    who: `@conclave/client ${transport} (${conns} conn${conns > 1 ? 's' : ''})`,
    op,
    ops: lat.length,
    errors,
    opsPerSec: lat.length / secs,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

/** A watch catching up on `total` events already written: events/s delivered through Client.watch. */
async function runWatch(endpoints: string[], transport: TransportKind): Promise<Result> {
  const c = new Client({ endpoints, timeoutMs: 30_000, transport });
  const prefix = `wbench/${Date.now()}/`;
  const start = (await c.put(`${prefix}start`, '')).revision + 1n;
  for (let i = 0; i < total; i += 500)
    await Promise.all(Array.from({ length: Math.min(500, total - i) }, (_, j) => c.put(`${prefix}${i + j}`, value)));
  const t0 = performance.now();
  const w = c.watch(prefix, { prefix: true, startRevision: start });
  let n = 0;
  for await (const b of w) {
    if (b.type === 'events') n += b.events.length;
    if (n >= total) break;
  }
  const secs = (performance.now() - t0) / 1000;
  await c.close();
  return {
    who: `@conclave/client ${transport} watch`,
    op: 'watch',
    ops: n,
    errors: 0,
    opsPerSec: n / secs,
    p50: 0,
    p99: 0,
  };
}

/** LeaseKeepAlive renewals on one stream of the transport, `clients` in flight: renewals/s and round trips. */
async function runKeepAliveStream(endpoint: string, transport: TransportKind): Promise<Result> {
  const t: Transport =
    transport === 'grpc-js'
      ? new GrpcJsTransport(endpoint, false, undefined, undefined)
      : new H2Transport(endpoint, false, undefined);
  const L = etcdserverpb.LeaseService;
  const g = codecs(L.LeaseGrant);
  const id = await new Promise<bigint>((resolve, reject) =>
    t.unary(L.LeaseGrant.path, g.serialize({ TTL: 600 }), {}, Date.now() + 10_000, {
      onHeaders: () => {},
      onEnd: (e, b) => (e ? reject(new Error(e.details)) : resolve(g.deserialize(b!).ID)),
    }),
  );
  const k = codecs(L.LeaseKeepAlive);
  const req = k.serialize({ ID: id });
  const sent: number[] = [];
  const lat: number[] = [];
  let written = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const stream = t.bidi(
    L.LeaseKeepAlive.path,
    { hasleader: 'true' },
    {
      onMessage: (b) => {
        const res = k.deserialize(b);
        if (res.TTL <= 0n) throw new Error('lease lost');
        lat.push(performance.now() - sent.shift()!);
        if (written < total) {
          written++;
          sent.push(performance.now());
          stream.write(req);
        }
        if (lat.length >= total) done();
      },
      onEnd: (st) => {
        if (lat.length < total) throw new Error(`keepalive stream ended: ${st.details}`);
      },
    },
  );
  const t0 = performance.now();
  for (; written < Math.min(clients, total); written++) {
    sent.push(performance.now());
    stream.write(req);
  }
  await finished;
  const secs = (performance.now() - t0) / 1000;
  stream.cancel();
  t.close();
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.floor(p * (lat.length - 1))] ?? 0;
  return {
    who: `@conclave/client ${transport} stream`,
    op: 'keepalive',
    ops: lat.length,
    errors: 0,
    opsPerSec: lat.length / secs,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

const fmt = (r: Result): string =>
  `${r.who.padEnd(34)} ${r.op.padEnd(6)} ${Math.round(r.opsPerSec).toString().padStart(7)} ops/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms  (${r.ops} ok, ${r.errors} errors)`;

let server: ServerProcess | undefined;
let endpoints: string;
if (values.endpoints) endpoints = values.endpoints;
else {
  server = await startServer(values.server === 'conclave' ? 'conclave' : 'etcd');
  endpoints = server.endpoint;
}
const bin = values['no-etcdbench'] ? undefined : etcdbenchPath(values.etcdbench, true);
const results: Result[] = [];
try {
  console.log(
    `server: ${values.endpoints ? endpoints : `${values.server} at ${endpoints}`}; ${clients} concurrent callers, ${total} ops per run`,
  );
  for (const op of opsList) {
    if (bin && (op === 'put' || op === 'range')) {
      const r1 = etcdbenchRun(bin, endpoints, op);
      console.log(fmt(r1));
      results.push(r1);
    }
    // transports alternate run by run, so a load change on a shared machine hits both alike
    for (const n of op === 'watch' || op === 'keepalive' ? [1] : connsList)
      for (const tr of transports) {
        const r2 = await runOurs(endpoints.split(','), op, n, tr);
        console.log(fmt(r2));
        results.push(r2);
      }
  }
} finally {
  await server?.stop();
}
console.log('\n| client | op | ops/s | p50 ms | p99 ms |\n|---|---|---|---|---|');
for (const r of results)
  console.log(`| ${r.who} | ${r.op} | ${Math.round(r.opsPerSec)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
