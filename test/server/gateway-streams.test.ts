// --max-concurrent-streams and the JSON gateway, against etcd 3.4: etcd's gateway is a gRPC client
// of its own server, so with the limit at N, N open /v3/watch requests make the next gateway
// request wait (it is not refused) until one of them ends; then it is answered.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { http1 } from '../helpers/http.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { freePort, retryOnPortClash } from '../helpers/tmp.js';

const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const WATCH = JSON.stringify({ create_request: { key: Buffer.from('foo').toString('base64'), start_revision: 1 } });
const RANGE = JSON.stringify({ key: Buffer.from('foo').toString('base64') });

/** Opens a gateway watch; resolves once its created event arrived; close() ends it. */
function openWatch(url: string): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v3/watch`, { method: 'POST', agent: false }, (res) => {
      res.once('data', () => resolve({ close: () => req.destroy() }));
    });
    req.on('error', (e) => (e as NodeJS.ErrnoException).code !== 'ECONNRESET' && reject(e));
    req.write(WATCH);
  });
}

/** Sends a range; resolves with its status, or 'waiting' if none came within `ms`. */
async function rangeWithin(url: string, ms: number): Promise<number | 'waiting'> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    const r = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: RANGE, signal: ac.signal });
    await r.text();
    return r.status;
  } catch (e) {
    if ((e as Error).name === 'AbortError') return 'waiting';
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

describe('gateway calls beyond --max-concurrent-streams wait', () => {
  for (const kind of ['etcd', 'conclave'] as ServerKind[]) {
    test(`${kind}: 2 watches hold both streams; a range waits, then is served when one ends`, async () => {
      const s = await retryOnPortClash(async () => {
        // etcd 3.4's gateway dials its own listen address: a real port, not 0
        const url = `http://127.0.0.1:${await freePort()}`;
        return startServer(kind, {
          args: ['--max-concurrent-streams', '2', '--listen-client-urls', url, '--advertise-client-urls', url],
        });
      });
      servers.push(s);
      assert.equal(await rangeWithin(s.clientUrl, 5000), 200);
      const watches = [await openWatch(s.clientUrl), await openWatch(s.clientUrl)];
      assert.equal(await rangeWithin(s.clientUrl, 1500), 'waiting', 'a third call waits for a stream');
      // the abandoned range left the queue: it takes no stream when one frees
      const pending = rangeWithin(s.clientUrl, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      watches[0]!.close();
      assert.equal(await pending, 200);
      watches[1]!.close();
      const v = await http1(s.clientUrl, 'GET', '/version');
      assert.equal(v.status, 200, 'other HTTP paths never wait');
    });
  }
});
