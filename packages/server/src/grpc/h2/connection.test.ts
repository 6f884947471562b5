// H2Connection against node:http2's client (nghttp2): streams, flow control both ways, trailers,
// cancellation, PING, and protocol errors.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FrameType, HpackEncoder, OutBuffer, PREFACE } from '@conclave/h2';
import { H2Connection } from './connection.js';
import type { H2Stream } from './stream.js';

let server: net.Server;
let port = 0;
const closedStreams: number[] = [];
const connections = new Set<H2Connection>();

/** Echo: the response repeats the request body `x-repeat` times, then trailers with its SHA-256. */
function onStream(s: H2Stream): void {
  const parts: Buffer[] = [];
  s.onData = (c) => parts.push(Buffer.from(c));
  s.onClose = () => closedStreams.push(s.id);
  s.onEnd = () => {
    const body = Buffer.concat(parts);
    const repeat = Number(s.header('x-repeat') ?? '1');
    s.respond([':status', '200', 'content-type', 'application/octet-stream'], false);
    let i = 0;
    const pump = (): void => {
      while (i < repeat) {
        i++;
        if (!s.write(body)) {
          s.onceDrain(pump);
          return;
        }
      }
      s.end(['x-sha256', createHash('sha256').update(body).digest('hex'), 'x-path', s.header(':path') ?? '']);
    };
    pump();
  };
}

before(async () => {
  server = net.createServer((sock) => {
    const c: H2Connection = new H2Connection(sock, null, { onStream, onClose: () => connections.delete(c) });
    connections.add(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
after(async () => {
  for (const c of connections) c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

function request(
  client: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  repeat: number,
): Promise<{ data: Buffer; trailers: http2.IncomingHttpHeaders; status: number }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': path, 'x-repeat': String(repeat) });
    const chunks: Buffer[] = [];
    let status = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ data: Buffer.concat(chunks), trailers, status }));
    req.on('error', reject);
    req.end(body);
  });
}

describe('H2Connection', () => {
  test('many concurrent streams with bodies beyond the client window: every byte arrives, in order', async () => {
    // A 16 KiB stream window makes the server queue and resume on WINDOW_UPDATE all the time.
    const client = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 16_384 } });
    try {
      const bodies = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 2500));
      const res = await Promise.all(bodies.map((b, i) => request(client, `/echo/${i}`, b, 3)));
      res.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.data.length, bodies[i]!.length * 3);
        assert.ok(r.data.equals(Buffer.concat([bodies[i]!, bodies[i]!, bodies[i]!])));
        assert.equal(r.trailers['x-sha256'], createHash('sha256').update(bodies[i]!).digest('hex'));
        assert.equal(r.trailers['x-path'], `/echo/${i}`);
      });
    } finally {
      client.close();
    }
  });

  test('a request body larger than the stream and connection windows (the server must open them)', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const body = randomBytes(20 << 20);
      const r = await request(client, '/big', body, 1);
      assert.equal(r.data.length, body.length);
      assert.equal(r.trailers['x-sha256'], createHash('sha256').update(body).digest('hex'));
    } finally {
      client.close();
    }
  });

  test('a client reset closes the stream on the server; PING is answered', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise<void>((r) => client.once('connect', () => r()));
      await new Promise<void>((resolve, reject) => client.ping((err) => (err ? reject(err) : resolve())));
      const req = client.request({ ':method': 'POST', ':path': '/never-ends' });
      req.write('partial');
      await new Promise((r) => setTimeout(r, 50));
      const before = closedStreams.length;
      req.close(http2.constants.NGHTTP2_CANCEL);
      for (let i = 0; i < 100 && closedStreams.length === before; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(closedStreams.length, before + 1);
    } finally {
      client.close();
    }
  });

  test('a client raising its initial window mid-transfer gets the SETTINGS ack before data sized to the new window', async () => {
    // nghttp2 applies a new initial window only once it sees our ack; DATA sent ahead of the ack
    // and sized to the new window made it reset the stream with FLOW_CONTROL_ERROR (1 run in 3).
    const body = randomBytes(256 * 1024);
    for (let round = 0; round < 6; round++) {
      const client = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 16_384 } });
      try {
        const reqs = [0, 1, 2].map(
          (k) =>
            new Promise<number>((resolve, reject) => {
              const req = client.request({ ':method': 'POST', ':path': `/grow/${k}`, 'x-repeat': '12' });
              let got = 0;
              req.on('data', (d: Buffer) => {
                got += d.length;
                if (k === 0) {
                  req.pause();
                  setTimeout(() => req.resume(), 1);
                }
              });
              req.on('end', () => resolve(got));
              req.on('error', reject);
              req.end(body);
            }),
        );
        setTimeout(() => client.settings({ initialWindowSize: 1 << 20 }), 30 + round * 10);
        for (const got of await Promise.all(reqs)) assert.equal(got, body.length * 12);
      } finally {
        client.close();
      }
    }
  });

  test('PINGs that each follow data from us (grpc-go BDP probes) are not a flood, however many', async () => {
    // grpc-go measures the connection with a PING after the DATA it receives: hundreds a second on a
    // busy connection, for as long as it is busy. The flood limit (a burst of 1,000, then 100/s)
    // counts only PINGs after which we sent no stream frame, as grpc-go's server counts ping strikes:
    // here 1,500 PINGs, each after an answer, in less time than the limit would allow.
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let goaway = '';
    client.on('goaway', (code) => (goaway = `GOAWAY ${code}`));
    client.on('error', () => {});
    const t0 = performance.now();
    let pings = 0;
    try {
      for (let i = 0; i < 1500 && !goaway; i++) {
        const r = await request(client, '/bdp', Buffer.from('x'), 1);
        assert.equal(r.status, 200);
        if (client.ping(() => {})) pings++;
      }
      const res = await request(client, '/after', Buffer.from('y'), 1);
      assert.equal(res.status, 200);
      assert.equal(goaway, '');
      const allowed = 1000 + (100 * (performance.now() - t0)) / 1000;
      assert.ok(pings > allowed, `${pings} pings, the limit allows ${Math.round(allowed)}`);
    } finally {
      client.close();
    }
  });

  test('a bad connection preface gets GOAWAY(PROTOCOL_ERROR) and the connection closes', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((r) => sock.on('close', () => r()));
    const all = Buffer.concat(got);
    // SETTINGS (the server preface), WINDOW_UPDATE, then GOAWAY with PROTOCOL_ERROR (1).
    let off = 0;
    let goaway: Buffer | null = null;
    while (off + 9 <= all.length) {
      const len = all.readUIntBE(off, 3);
      if (all[off + 3] === 7) goaway = all.subarray(off + 9, off + 9 + len);
      off += 9 + len;
    }
    assert.ok(goaway, 'GOAWAY sent');
    assert.equal(goaway.readUInt32BE(4), 1);
  });

  test("a PING that comes with a request is acknowledged in the answer's socket write", async () => {
    // grpc-go sends a PING with most requests on a quiet connection. The member answers a request in
    // a later immediate (its Ready loop), so an ack written at once left in a write of its own, ahead
    // of the request's work. Frames the server writes are grouped by socket write (cork..uncork = one).
    const writes: number[][] = [];
    let corked = false;
    const srv = net.createServer((sock) => {
      const write = sock.write.bind(sock) as (b: Buffer) => boolean;
      const cork = sock.cork.bind(sock);
      const uncork = sock.uncork.bind(sock);
      sock.cork = () => {
        corked = true;
        writes.push([]);
        cork();
      };
      sock.uncork = () => {
        corked = false;
        uncork();
      };
      sock.write = ((b: Buffer) => {
        if (!corked) writes.push([]);
        const group = writes[writes.length - 1]!;
        for (let off = 0; off + 9 <= b.length; off += 9 + b.readUIntBE(off, 3))
          group.push((b[off + 3]! << 8) | b[off + 4]!);
        return write(b);
      }) as typeof sock.write;
      const c: H2Connection = new H2Connection(sock, null, {
        onStream: (st) => {
          st.onEnd = () =>
            setImmediate(() => {
              st.respond([':status', '200', 'content-type', 'application/grpc'], false);
              st.end(['grpc-status', '0']);
            });
        },
        onClose: () => connections.delete(c),
      });
      connections.add(c);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const frame = (type: FrameType, flags: number, sid: number, payload: Buffer): Buffer => {
      const out = new OutBuffer();
      out.frame(type, flags, sid, payload);
      return Buffer.concat(out.take());
    };
    const block = new HpackEncoder().encode([':method', 'POST', ':scheme', 'http', ':path', '/p', ':authority', 'a']);
    const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]));
    await new Promise((r) => setTimeout(r, 50));
    writes.length = 0;
    // PING, then a request (HEADERS with END_STREAM | END_HEADERS), in one write
    sock.write(
      Buffer.concat([frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7)), frame(FrameType.HEADERS, 0x5, 1, block)]),
    );
    const end = Date.now() + 2000;
    while (!writes.flat().includes(0x0105) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    sock.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
    const PING_ACK = 0x0601;
    const TRAILERS = 0x0105; // HEADERS, END_STREAM | END_HEADERS
    const withAck = writes.findIndex((g) => g.includes(PING_ACK));
    assert.ok(withAck >= 0, 'PING acknowledged');
    assert.ok(writes[withAck]!.includes(TRAILERS), `ack and answer in one write: ${JSON.stringify(writes)}`);
  });
});
