// The Transport contract for unary calls, run against both implementations (the own HTTP/2
// transport and grpc-js) and the servers (Conclave, etcd 3.4 and 3.5): plain calls, flow control both
// ways (a 1 MiB request, a 9 MiB response), deadline, cancel, close, keepalive of a silent server,
// a server killed and restarted on the same port, and a refused connection.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcCode, etcdserverpb, type MethodDescriptor, type PartialMessage } from '@conclave/api';
import { Client } from '@conclave/client';
import type { CallStatus, Transport } from '../../packages/client/src/transport/transport.js';
import { codecs } from '../../packages/client/src/rpc/codecs.js';
import { isNeverSent } from '../../packages/client/src/rpc/policy.js';
import { pause } from '../helpers/process.js';
import { freePort, waitFor } from '../helpers/tmp.js';
import { onlyFastTier } from '../helpers/tier.js';
import { contractSuites, keepaliveTransport, startOnPort, TRANSPORTS, TRANSPORT_KINDS } from './transports.js';

const KV = etcdserverpb.KVService;
const enc = (s: string): Uint8Array => Buffer.from(s);

interface Outcome<Res> {
  err: CallStatus | null;
  res: Res | null;
  headers: boolean;
}

/** One unary call through `ch`; `cancelAfterMs` cancels it that long after it started. */
function call<Req, Res>(
  ch: Transport,
  m: MethodDescriptor<Req, Res>,
  req: PartialMessage<Req>,
  timeoutMs = 10_000,
  cancelAfterMs?: number,
): Promise<Outcome<Res>> {
  const c = codecs(m);
  return new Promise((resolve) => {
    let headers = false;
    const cancel = ch.unary(m.path, c.serialize(req), {}, Date.now() + timeoutMs, {
      onHeaders: () => {
        headers = true;
      },
      onEnd: (err, bytes) => resolve({ err, res: err ? null : c.deserialize(bytes!), headers }),
    });
    if (cancelAfterMs !== undefined) setTimeout(cancel, cancelAfterMs);
  });
}

async function ok<Res>(p: Promise<Outcome<Res>>): Promise<Res> {
  const o = await p;
  assert.equal(o.err, null, `call failed: ${JSON.stringify(o.err)}`);
  return o.res!;
}

contractSuites('unary transport', (fx, impl, kind) => {
  test('unary calls: put, range, txn; response headers are reported', async () => {
    const put = await call(fx.ch, KV.Put, { key: enc('a'), value: enc('1') });
    assert.equal(put.err, null);
    assert.ok(put.headers);
    const r = await ok(call(fx.ch, KV.Range, { key: enc('a') }));
    assert.equal(Buffer.from(r.kvs[0]!.value).toString(), '1');
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ok(call(fx.ch, KV.Put, { key: enc(`k${i}`), value: enc(String(i)) }))),
    );
    assert.equal(many.length, 200);
    const all = await ok(call(fx.ch, KV.Range, { key: enc('k'), rangeEnd: enc('l'), countOnly: true }));
    assert.equal(Number(all.count), 200);
  });

  test('a 1 MiB value is written and read back (flow control both ways)', async () => {
    const value = Buffer.alloc(1 << 20, 7);
    value.write('head', 0);
    value.write('tail', value.length - 4);
    await ok(call(fx.ch, KV.Put, { key: enc('big'), value }));
    const r = await ok(call(fx.ch, KV.Range, { key: enc('big') }));
    assert.ok(Buffer.from(r.kvs[0]!.value).equals(value));
  });

  test('a range returning more than 8 MiB', async () => {
    const value = Buffer.alloc(1 << 20, 1);
    await Promise.all(Array.from({ length: 9 }, (_, i) => ok(call(fx.ch, KV.Put, { key: enc(`large/${i}`), value }))));
    const [a, b] = await Promise.all([
      ok(call(fx.ch, KV.Range, { key: enc('large/'), rangeEnd: enc('large0') })),
      ok(call(fx.ch, KV.Range, { key: enc('large/'), rangeEnd: enc('large0') })),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.kvs.length, 9);
      assert.equal(
        r.kvs.reduce((n, kv) => n + kv.value.length, 0),
        9 << 20,
      );
    }
  });

  test('deadline exceeded and cancel reset the stream; the connection stays usable', async () => {
    await pause(fx.server.child);
    try {
      const [late, cancelled] = await Promise.all([
        call(fx.ch, KV.Range, { key: enc('a') }, 200),
        call(fx.ch, KV.Range, { key: enc('a') }, 10_000, 50),
      ]);
      assert.equal(late.err?.code, GrpcCode.DEADLINE_EXCEEDED);
      // grpc-js adds timings ("Deadline exceeded after 0.203s,…")
      assert.match(late.err!.details, /^Deadline exceeded\b/);
      assert.equal(cancelled.err?.code, GrpcCode.CANCELLED);
      assert.equal(cancelled.err?.details, 'Cancelled on client');
    } finally {
      fx.server.child.kill('SIGCONT');
    }
    const r = await ok(call(fx.ch, KV.Range, { key: enc('a') }));
    assert.equal(r.kvs.length, 1);
    // an expired deadline fails before anything is sent
    const expired = await call(fx.ch, KV.Range, { key: enc('a') }, -1);
    assert.equal(expired.err?.code, GrpcCode.DEADLINE_EXCEEDED);
  });

  test('the client through the transport: errors keep their etcd messages', async () => {
    const c = new Client({ endpoints: [`127.0.0.1:${fx.port}`], transport: impl });
    try {
      await c.put('x', 'y');
      assert.equal((await c.get('x'))?.valueString, 'y');
      await assert.rejects(c.get('x', { revision: 1_000_000n }), /required revision is a future revision/);
    } finally {
      await c.close();
    }
    const o = await call(fx.ch, KV.Range, { key: enc('x'), revision: 1_000_000n });
    assert.equal(o.err?.code, GrpcCode.OUT_OF_RANGE);
    assert.equal(o.err?.details, 'etcdserver: mvcc: required revision is a future revision');
  });

  test('closing the channel lets calls in flight finish; later calls fail as never sent', async () => {
    const ch2 = TRANSPORTS[impl](`127.0.0.1:${fx.port}`);
    await ok(call(ch2, KV.Range, { key: enc('a') }));
    await pause(fx.server.child);
    let inFlight: Promise<Outcome<etcdserverpb.RangeResponse>>;
    try {
      inFlight = call(ch2, KV.Range, { key: enc('a') }, 10_000);
      await new Promise((r) => setTimeout(r, 50));
      ch2.close();
    } finally {
      fx.server.child.kill('SIGCONT');
    }
    const r = await ok(inFlight);
    assert.equal(r.kvs.length, 1);
    const later = await call(ch2, KV.Range, { key: enc('a') });
    assert.ok(isNeverSent(later.err!.code, later.err!.details, later.headers));
  });

  if (kind === 'conclave') {
    test('keepalive: a call on a connection whose server went silent fails as UNAVAILABLE', async (t) => {
      const ka = keepaliveTransport(fx, impl);
      t.after(() => ka.done());
      await ok(call(ka.ch, KV.Range, { key: enc('a') }));
      await pause(fx.server.child);
      try {
        const t0 = Date.now();
        const o = await call(ka.ch, KV.Range, { key: enc('a') }, 60_000);
        assert.equal(o.err?.code, GrpcCode.UNAVAILABLE);
        assert.match(o.err!.details, impl === 'h2' ? /Keepalive timeout/ : /Keepalive timeout|Connection dropped/);
        // own transport: a probe PING after 1 s of silence, 5 s to answer; grpc-js here pings after
        // 2 s and waits 1 s (keepaliveTransport)
        assert.ok(Date.now() - t0 < (impl === 'h2' ? 25_000 : 10_000), `took ${Date.now() - t0} ms`);
      } finally {
        fx.server.child.kill('SIGCONT');
      }
      await waitFor('a call after the server resumed', async () =>
        (await call(fx.ch, KV.Range, { key: enc('a') })).err ? undefined : true,
      );
    });
  }

  test('server killed and restarted: UNAVAILABLE, then calls succeed after reconnecting', async () => {
    await fx.server.kill('SIGKILL');
    const down = await call(fx.ch, KV.Range, { key: enc('a') });
    assert.equal(down.err?.code, GrpcCode.UNAVAILABLE);
    fx.server = await startOnPort(kind, fx.port, fx.server.dataDir);
    const r = await waitFor(
      'a call after the restart',
      async () => {
        const o = await call(fx.ch, KV.Range, { key: enc('a') });
        return o.err ? undefined : o.res!;
      },
      30_000,
    );
    assert.equal(Buffer.from(r.kvs[0]!.value).toString(), '1');
  });
});

// not a matrix test: the fast tier's (test/helpers/tier.ts)
onlyFastTier(() => {
  for (const impl of TRANSPORT_KINDS)
    test(`${impl}: a refused connection fails with a never-sent UNAVAILABLE, then backs off`, async () => {
      const port = await freePort();
      const ch = TRANSPORTS[impl](`127.0.0.1:${port}`);
      try {
        const o = await call(ch, KV.Put, { key: enc('a'), value: enc('1') });
        assert.equal(o.err?.code, GrpcCode.UNAVAILABLE);
        assert.match(o.err!.details, /^No connection established\b.*ECONNREFUSED/);
        assert.ok(isNeverSent(o.err!.code, o.err!.details, o.headers));
        const again = await call(ch, KV.Put, { key: enc('a'), value: enc('1') });
        assert.ok(isNeverSent(again.err!.code, again.err!.details, again.headers));
      } finally {
        ch.close();
      }
      const closed = await call(ch, KV.Range, { key: enc('a') });
      assert.ok(isNeverSent(closed.err!.code, closed.err!.details, closed.headers));
    });
});
