// HTTP/1.1 on the client port (the JSON gateway, /health, /version, /metrics): a request head that
// never completes is answered 408 and closed once the 10 s head limit (docs/hardening.md) has
// passed, not when Node's connection check happens to run (every 30 s by default: a half-sent head
// stayed open 27 s), and the member goes on serving.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startServer, type ServerProcess } from '../../helpers/process.js';

describe('client port, HTTP/1.1', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServer('conclave');
  });
  after(async () => {
    await srv?.stop();
  });

  test('a request head cut off halfway is answered 408 and closed within 12 s; /health still answers', async () => {
    const [host, port] = srv.endpoint.split(':') as [string, string];
    const sock = net.connect({ host, port: Number(port) });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    let reply = '';
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    const t0 = Date.now();
    sock.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow');
    const ms = await Promise.race([
      new Promise<number>((r) => sock.once('close', () => r(Date.now() - t0))),
      new Promise<number>((r) => setTimeout(() => r(Infinity), 20_000)),
    ]);
    sock.destroy();
    assert.ok(ms >= 9_000 && ms <= 12_000, `closed after ${ms} ms`);
    assert.match(reply, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const res = await fetch(`http://${srv.endpoint}/health`);
    assert.equal(res.status, 200);
  });
});
