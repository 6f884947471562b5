// The SDK's own keepalive against the servers' default ping policy (--grpc-keepalive-min-time 5s,
// no pings without streams): a watch left silent for 27 s makes the client PING the server at least
// four times, and neither etcd 3.5.30 nor Conclave sends it away (no GOAWAY, one connection, the
// watch still gets its event). A proxy between client and server counts the frames and connections.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from '@conclave/client';
import { FrameType, PREFACE } from '@conclave/h2';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';

/** Counts HTTP/2 frames by type in one direction of a connection. */
class FrameCount {
  readonly byType = new Map<number, number>();
  private buf = Buffer.alloc(0);
  constructor(private skip: number) {}

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.skip > 0) {
      const n = Math.min(this.skip, this.buf.length);
      this.buf = this.buf.subarray(n);
      this.skip -= n;
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const type = this.buf[3]!;
      const ack = (this.buf[4]! & 1) !== 0;
      if (!(type === FrameType.PING && ack)) this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
      this.buf = this.buf.subarray(9 + len);
    }
  }

  count(type: FrameType): number {
    return this.byType.get(type) ?? 0;
  }
}

interface Tap {
  port: number;
  connections: number;
  /** Client → server and server → client, over all connections. */
  up: FrameCount[];
  down: FrameCount[];
  close(): Promise<void>;
}

async function tap(target: string): Promise<Tap> {
  const i = target.lastIndexOf(':');
  const sockets = new Set<net.Socket>();
  const t: Tap = { port: 0, connections: 0, up: [], down: [], close: async () => {} };
  const server = net.createServer((client) => {
    t.connections++;
    const up = new FrameCount(PREFACE.length);
    const down = new FrameCount(0);
    t.up.push(up);
    t.down.push(down);
    const upstream = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => {
      up.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      down.push(d);
      client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as net.AddressInfo).port;
  t.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return t;
}

const KINDS: readonly ServerKind[] = ['etcd35', 'conclave'];

describe('the SDK keepalive is never sent away by the default ping policy', () => {
  const servers: ServerProcess[] = [];
  const taps: Tap[] = [];
  const clients: Client[] = [];
  before(async () => {
    servers.push(...(await Promise.all(KINDS.map((k) => startServer(k)))));
    taps.push(...(await Promise.all(servers.map((s) => tap(s.endpoint)))));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await Promise.all(taps.map((t) => t.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('a silent watch for 27 s: four PINGs or more, no GOAWAY, one connection, the event arrives', async () => {
    await Promise.all(
      servers.map(async (srv, i) => {
        const t = taps[i]!;
        const c = new Client({ endpoints: [`127.0.0.1:${t.port}`] });
        clients.push(c);
        const w = c.watch('ka/key');
        await w.created;
        await new Promise((r) => setTimeout(r, 27_000));
        const events = w.events()[Symbol.asyncIterator]();
        const next = events.next();
        await c.put('ka/key', 'v');
        const e = await next;
        assert.equal(e.done, false, `${srv.kind}: the watch ended`);
        assert.equal(e.value?.kv.valueString, 'v');
        w.close();
        const pings = t.up.reduce((n, f) => n + f.count(FrameType.PING), 0);
        const goAways = t.down.reduce((n, f) => n + f.count(FrameType.GOAWAY), 0);
        assert.ok(pings >= 4, `${srv.kind}: the client sent ${pings} PINGs`);
        assert.equal(goAways, 0, `${srv.kind}: GOAWAY`);
        assert.equal(t.connections, 1, `${srv.kind}: connections`);
      }),
    );
  });
});
