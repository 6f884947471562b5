// Embedding: startServer() from @conclave/server runs a member inside this process. The handle gives
// the bound client URL; close() (or `await using`) releases the port, the WAL and the backend, so the
// same process can start another member on the same data dir and find the data there.

import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { startServer, type ServerHandle } from '@conclave/server';
import { RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-embed');
const logs: string[] = [];
after(() => dir.cleanup());

function start(dataDir: string): Promise<ServerHandle> {
  return startServer({ dataDir, logWrite: (l) => logs.push(l) });
}

/** Resolves true when something accepts connections on host:port. */
function accepts(endpoint: string): Promise<boolean> {
  const [host, port] = endpoint.split(':') as [string, string];
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function withClient<T>(endpoint: string, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = new RawClient(endpoint);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

describe('startServer()', () => {
  test('serves gRPC and HTTP on the client URL it reports; close() releases everything', async () => {
    const dataDir = join(dir.path, 'a.etcd');
    const srv = await start(dataDir);
    assert.match(srv.clientUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(srv.clientUrl, 'http://127.0.0.1:0');
    assert.equal(srv.endpoint, srv.clientUrl.slice('http://'.length));
    assert.deepEqual(srv.clientUrls, [srv.clientUrl]);
    assert.match(srv.memberId, /^[0-9a-f]+$/);

    await withClient(srv.endpoint, async (c) => {
      const put = await c.put('embedded', 'yes');
      assert.equal(put.header!.revision, 2n);
      assert.equal(put.header!.memberId.toString(16), srv.memberId);
      const kv = await c.get('embedded');
      assert.equal(kv && Buffer.from(kv.value).toString(), 'yes');
    });
    const h = await http1(srv.clientUrl, 'GET', '/health');
    assert.deepEqual([h.status, h.body], [200, '{"health":"true"}']);

    await srv.close();
    assert.equal(await accepts(srv.endpoint), false, 'the port is released');

    // The same process opens the same data dir again (WAL and backend were released) and sees the data.
    const again = await start(dataDir);
    try {
      await withClient(again.endpoint, async (c) => {
        const kv = await c.get('embedded');
        assert.equal(kv && Buffer.from(kv.value).toString(), 'yes');
        assert.equal((await c.put('embedded', 'again')).header!.revision, 3n);
      });
    } finally {
      await again.close();
    }
  });

  test('await using closes the server at the end of the block', async () => {
    const dataDir = join(dir.path, 'b.etcd');
    let endpoint = '';
    {
      await using srv = await start(dataDir);
      endpoint = srv.endpoint;
      await withClient(endpoint, (c) => c.put('scoped', '1'));
      assert.equal(await accepts(endpoint), true);
    }
    assert.equal(await accepts(endpoint), false, 'disposed at the end of the block');
    {
      await using srv = await start(dataDir);
      const kv = await withClient(srv.endpoint, (c) => c.get('scoped'));
      assert.equal(kv && Buffer.from(kv.value).toString(), '1');
    }
  });

  test('two embedded servers side by side on their own ports and data dirs', async () => {
    const a = await start(join(dir.path, 'c1.etcd'));
    const b = await start(join(dir.path, 'c2.etcd'));
    try {
      assert.notEqual(a.endpoint, b.endpoint);
      await withClient(a.endpoint, (c) => c.put('only-a', 'x'));
      const onB = await withClient(b.endpoint, (c) =>
        c.unary(etcdserverpb.KVService.Range, { key: Buffer.from('only-a') }),
      );
      assert.equal(onB.kvs.length, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('flags pass through (etcd names without dashes)', async () => {
    const srv = await startServer({
      dataDir: join(dir.path, 'd.etcd'),
      flags: { 'max-txn-ops': 1 },
      logWrite: (l) => logs.push(l),
    });
    try {
      await withClient(srv.endpoint, async (c) => {
        const ops = ['x', 'y'].map((k) => ({ requestPut: { key: Buffer.from(k) } }));
        await assert.rejects(
          c.unary(etcdserverpb.KVService.Txn, { success: ops }),
          /too many operations in txn request/,
        );
      });
    } finally {
      await srv.close();
    }
    // Closing twice is harmless.
    await srv.close();
  });

  test('a logger option receives the entries with their fields; the member installs no signal handler', async () => {
    const signals = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    const entries: Array<[string, string, Readonly<Record<string, unknown>>]> = [];
    const logger = {
      debug: (msg: string, f: Readonly<Record<string, unknown>>) => entries.push(['debug', msg, f]),
      info: (msg: string, f: Readonly<Record<string, unknown>>) => entries.push(['info', msg, f]),
      warn: (msg: string, f: Readonly<Record<string, unknown>>) => entries.push(['warn', msg, f]),
      error: (msg: string, f: Readonly<Record<string, unknown>>) => entries.push(['error', msg, f]),
    };
    const srv = await startServer({ dataDir: join(dir.path, 'e.etcd'), logger, logLevel: 'info' });
    try {
      // (members started earlier in this file count too: signals belong to the embedding application)
      assert.equal(signals(), 0, 'no SIGINT/SIGTERM listener added by an embedded member');
      const started = entries.find(([, msg]) => msg === 'starting local member');
      assert.ok(started, 'the member logged its start');
      assert.equal(started[0], 'info');
      assert.equal(started[2]['local-member-id'], srv.memberId);
      assert.ok(!entries.some(([level]) => level === 'debug'), 'nothing below the level');
    } finally {
      await srv.close();
    }
  });

  test("bad settings fail with etcd's flag errors", async () => {
    const dataDir = join(dir.path, 'f.etcd');
    await assert.rejects(startServer({ dataDir, flags: { 'no-such-flag': 1 } }), {
      name: 'ConfigError',
      message: /flag provided but not defined: -no-such-flag/,
    });
    await assert.rejects(startServer({ dataDir, flags: { 'max-txn-ops': 'many' } }), {
      message: /invalid value "many" for flag -max-txn-ops: parse error/,
    });
    await assert.rejects(startServer({ dataDir, listenClientUrls: ['http://example.com:1'] }), {
      message: /expected IP in URL for binding \(http:\/\/example.com:1\)/,
    });
  });
});
