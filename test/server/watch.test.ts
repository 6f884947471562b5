// Watch on one member, end to end: progress notifications at the interval set by
// --experimental-watch-progress-notify-interval, the JSON gateway's streaming /v3/watch, a
// fragmenting watcher (responses above --max-request-bytes + 512 KiB are split), and watch streams
// ended (UNAVAILABLE) when the member shuts down.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { GrpcCode } from '@conclave/api';
import type { MemberHandle } from '../../packages/server/src/embed/start.js';
import { streamClient, type StreamClient } from '../helpers/etcd-streams.js';
import { startInProcess } from '../helpers/in-process.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-watch');
let member: MemberHandle;
let c: StreamClient;
let endpoint: string;

before(async () => {
  ({ member, endpoint } = await startInProcess(`${dir.path}/m.etcd`, [
    '--experimental-watch-progress-notify-interval=200ms',
    '--log-level=error',
  ]));
  c = streamClient(endpoint);
});

after(async () => {
  c?.close();
  await member?.close();
  dir.cleanup();
});

const buf = (s: string) => Buffer.from(s);

test('progress notifications come at the configured interval, only to progress_notify watchers', async () => {
  const w = c.watch();
  w.write({ createRequest: { key: buf('pn'), progressNotify: true, watchId: 1 } });
  w.write({ createRequest: { key: buf('pn'), watchId: 2 } });
  await w.count(2);
  const t0 = Date.now();
  await w.until((rs) => rs.filter((r) => r.watchId === 1n && !r.created).length >= 3, 3000);
  const elapsed = Date.now() - t0;
  assert.ok(
    elapsed >= 400 && elapsed < 1500,
    `3 notifications after ${elapsed} ms (interval 200 ms + up to 10% jitter)`,
  );
  const rev = BigInt(member.server.store.currentRevision);
  const notes = w.responses.filter((r) => !r.created);
  assert.ok(notes.every((r) => r.watchId === 1n && r.events.length === 0 && r.header!.revision === rev));
  w.cancel();
});

test('the JSON gateway streams watch responses', async () => {
  const lines: string[] = [];
  const req = http.request({
    host: '127.0.0.1',
    port: Number(endpoint.split(':')[1]),
    path: '/v3/watch',
    method: 'POST',
  });
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let acc = '';
      res.on('data', (d: string) => {
        acc += d;
        for (let i = acc.indexOf('\n'); i >= 0; i = acc.indexOf('\n')) {
          lines.push(acc.slice(0, i));
          acc = acc.slice(i + 1);
          if (lines.length === 2) resolve();
        }
      });
    });
  });
  req.write(JSON.stringify({ create_request: { key: buf('gw').toString('base64') } }));
  await new Promise((r) => setTimeout(r, 200));
  await c.put({ key: buf('gw'), value: buf('json') });
  await done;
  req.destroy();
  const [created, event] = lines.map((l) => JSON.parse(l) as { result: Record<string, unknown> });
  assert.equal(created!.result['created'], true);
  const evs = event!.result['events'] as Array<{ kv: { key: string; value: string } }>;
  assert.deepEqual(
    [Buffer.from(evs[0]!.kv.key, 'base64').toString(), Buffer.from(evs[0]!.kv.value, 'base64').toString()],
    ['gw', 'json'],
  );
});

test('a fragmenting watcher gets a large catch-up response in parts; the others in one response', async () => {
  // 24 puts of 100 KiB: replayed together they exceed 1.5 MiB + 512 KiB, the fragment threshold.
  const first = Number((await c.put({ key: buf('fr/0'), value: Buffer.alloc(100 * 1024, 0x61) })).header!.revision);
  for (let i = 1; i < 24; i++) await c.put({ key: buf(`fr/${i}`), value: Buffer.alloc(100 * 1024, 0x61 + (i % 26)) });
  const w = c.watch();
  w.write({
    createRequest: { key: buf('fr/'), rangeEnd: buf('fr0'), fragment: true, startRevision: first, watchId: 1 },
  });
  w.write({ createRequest: { key: buf('fr/'), rangeEnd: buf('fr0'), startRevision: first, watchId: 2 } });
  const evs = (id: bigint) => w.responses.filter((r) => r.watchId === id).reduce((n, r) => n + r.events.length, 0);
  await w.until(() => evs(1n) === 24 && evs(2n) === 24);
  const parts = w.responses.filter((r) => r.watchId === 1n && r.events.length > 0);
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  assert.deepEqual(
    parts.map((r) => r.fragment),
    parts.map((_, i) => i < parts.length - 1),
  );
  assert.equal(w.responses.filter((r) => r.watchId === 2n && r.events.length > 0).length, 1);
  w.cancel();
});

test('watch streams end UNAVAILABLE when the member shuts down', async () => {
  const w = c.watch();
  w.write({ createRequest: { key: buf('bye') } });
  await w.count(1);
  await member.close();
  const err = await w.closed();
  assert.ok(err, 'the stream ended with an error');
  // "server stopped", or the connection closing right behind it: UNAVAILABLE either way, which
  // clients retry on another member (etcd's own shutdown gives "transport is closing").
  assert.equal(err.code, GrpcCode.UNAVAILABLE);
});
