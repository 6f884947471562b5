// The client's observability hooks against every target: the logger reports retries, failovers,
// endpoint health changes and late lease renewals (silent by default); OpenTelemetry gets a client
// span per RPC (errors included) and the histograms — lease keep-alive round trip and lateness,
// watch lag, lock wait and hold time from the recipes — through a tracer and meter passed in, or
// through @opentelemetry/api's global providers with `openTelemetry: true`.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metrics, trace } from '@opentelemetry/api';
import { Client, type Logger } from '@conclave/client';
import { Mutex, Session } from '@conclave/concurrency';
import { freePort, waitFor } from '../helpers/tmp.js';
import { describeTargets } from './targets.js';

interface Entry {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function memoryLogger(): Logger & { entries: Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface RecordedSpan {
  name: string;
  kind: number | undefined;
  attributes: Record<string, unknown>;
  status?: { code: number; message?: string };
  exceptions: Error[];
  ended: boolean;
}

/** A tracer and a meter that keep what they are given (the shapes of @opentelemetry/api's). */
function memoryOtel() {
  const spans: RecordedSpan[] = [];
  const records: Array<{ name: string; value: number; attributes: Record<string, unknown> | undefined }> = [];
  const tracer = {
    startSpan(name: string, options?: { kind?: number; attributes?: Record<string, unknown> }) {
      const s: RecordedSpan = {
        name,
        kind: options?.kind,
        attributes: { ...options?.attributes },
        exceptions: [],
        ended: false,
      };
      spans.push(s);
      return {
        setAttribute: (k: string, v: unknown) => void (s.attributes[k] = v),
        setStatus: (st: { code: number; message?: string }) => void (s.status = st),
        recordException: (e: Error) => void s.exceptions.push(e),
        end: () => void (s.ended = true),
      };
    },
  };
  const meter = {
    createHistogram: (name: string) => ({
      record: (value: number, attributes?: Record<string, unknown>) => void records.push({ name, value, attributes }),
    }),
  };
  return { spans, records, tracer, meter };
}

describeTargets(['lease', 'watch'], (ctx) => {
  test('the logger: an endpoint down, the retry and the failover; silent without a logger', async () => {
    const log = memoryLogger();
    const dead = `127.0.0.1:${await freePort()}`;
    const c = ctx.newClient({ endpoints: [dead, ...ctx.running.endpoints], logger: log });
    for (let i = 0; i < 4; i++) await c.put(`obs/${i}`, 'v');
    const down = log.entries.find((e) => e.msg === 'endpoint down');
    assert.ok(down && down.level === 'warn' && down.obj['endpoint'] === dead, JSON.stringify(log.entries));
    assert.ok(log.entries.some((e) => e.msg === 'retrying call' && e.level === 'debug'));
    const over = log.entries.find((e) => e.msg === 'call failed over');
    assert.ok(over && over.level === 'info' && over.obj['from'] === dead);
    assert.ok(log.entries.some((e) => e.msg === 'endpoint up' && e.level === 'info'));
    assert.equal(typeof down.obj['error'], 'string');
  });

  test('OpenTelemetry: a client span per RPC, errors recorded; keep-alive and watch histograms', async () => {
    const otel = memoryOtel();
    const c = ctx.newClient({ openTelemetry: { tracer: otel.tracer, meter: otel.meter } });
    await c.put('otel/a', '1');
    await assert.rejects(c.get('otel/a', { revision: 1_000_000n }));
    const put = otel.spans.find((s) => s.name === 'etcdserverpb.KV/Put');
    assert.ok(put, otel.spans.map((s) => s.name).join(', '));
    assert.equal(put.kind, 2); // SpanKind.CLIENT
    assert.equal(put.attributes['rpc.system'], 'grpc');
    assert.equal(put.attributes['rpc.service'], 'etcdserverpb.KV');
    assert.equal(put.attributes['rpc.method'], 'Put');
    assert.equal(put.attributes['conclave.rpc.attempts'], 1);
    assert.equal(typeof put.attributes['server.address'], 'string');
    assert.ok(put.ended && put.status === undefined);
    const failed = otel.spans.filter((s) => s.name === 'etcdserverpb.KV/Range').at(-1)!;
    assert.equal(failed.status?.code, 2); // SpanStatusCode.ERROR
    assert.match(failed.status!.message!, /future revision/);
    assert.equal(failed.attributes['rpc.grpc.status_code'], 11);
    assert.equal(failed.exceptions.length, 1);

    const w = c.watch('otel/w/', { prefix: true });
    await w.created;
    const lease = await c.lease.grant(3);
    const ka = c.lease.keepAlive(lease);
    await new Promise((r) => ka.once('renewed', r));
    await c.put('otel/w/1', 'x');
    for await (const b of w) if (b.type === 'events') break;
    ka.close();
    await c.lease.revoke(lease.id);
    const names = new Set(otel.records.map((r) => r.name));
    for (const n of ['conclave.lease.keepalive.rtt', 'conclave.lease.keepalive.lateness', 'conclave.watch.lag'])
      assert.ok(names.has(n), `${n} in ${[...names].join(', ')}`);
    const rtt = otel.records.find((r) => r.name === 'conclave.lease.keepalive.rtt')!;
    assert.ok(rtt.value >= 0 && rtt.value < 10_000);
    assert.equal(otel.records.find((r) => r.name === 'conclave.watch.lag')!.value, 0);

    const s = await Session.create(c, { ttl: 5 });
    const m = new Mutex(s, 'otel/lock');
    await m.withLock(() => new Promise((r) => setTimeout(r, 50)));
    const wait = otel.records.find((r) => r.name === 'conclave.lock.wait');
    const hold = otel.records.find((r) => r.name === 'conclave.lock.hold');
    assert.deepEqual(wait?.attributes, { recipe: 'mutex' });
    assert.deepEqual(hold?.attributes, { recipe: 'mutex', reason: 'unlocked' });
    assert.ok(hold!.value >= 40, `held ${hold!.value} ms`);
    await s.close();
  });

  test('openTelemetry: true takes the global tracer and meter of @opentelemetry/api', async () => {
    const otel = memoryOtel();
    trace.setGlobalTracerProvider({ getTracer: () => otel.tracer } as never);
    metrics.setGlobalMeterProvider({ getMeter: () => otel.meter } as never);
    try {
      const c = ctx.newClient({ openTelemetry: true });
      await c.get('otel/global');
      assert.ok(otel.spans.some((s) => s.name === 'etcdserverpb.KV/Range' && s.ended));
    } finally {
      trace.disable();
      metrics.disable();
    }
  });
});

describeTargets(['multiMember', 'lease'], (ctx) => {
  test('the logger: a lease renewal that succeeds late (its member paused) is a warning', async () => {
    const cl = ctx.running.cluster!;
    const log = memoryLogger();
    const i = ((await cl.leader()) + 1) % cl.endpoints.length;
    // the keepalive stream opens on the first endpoint: a follower, paused below
    const order = [cl.endpoints[i]!, ...cl.endpoints.filter((_, j) => j !== i)];
    const c = new Client({ endpoints: order, logger: log, timeoutMs: 8000 });
    try {
      const lease = await ctx.client.lease.grant(6); // through another client: c's first stream goes to order[0]
      const ka = c.lease.keepAlive(lease);
      await new Promise((r) => ka.once('renewed', r));
      // the member that carries the stream is the one to pause (order[0] unless connecting to it failed)
      const carrier = (c as unknown as { core: { keepalives: { endpoint?: string } } }).core.keepalives.endpoint;
      const paused = carrier === undefined ? i : cl.endpoints.findIndex((e) => e.endsWith(carrier));
      assert.ok(paused >= 0, `the stream's endpoint ${carrier} is one of ${cl.endpoints.join(', ')}`);
      cl.pause(paused);
      try {
        await waitFor('a late renewal', () => log.entries.find((e) => e.msg === 'lease renewal late'), 15_000).catch(
          (e: Error) => {
            throw new Error(
              `${e.message}; stream on ${carrier}, paused ${paused}; logged: ${JSON.stringify(log.entries)}`,
            );
          },
        );
      } finally {
        cl.resume(paused);
      }
      const late = log.entries.find((e) => e.msg === 'lease renewal late')!;
      assert.equal(late.level, 'warn');
      assert.equal(late.obj['lease'], lease.id.toString(16));
      assert.ok((late.obj['lateMs'] as number) > 2000);
      assert.ok(log.entries.some((e) => e.msg === 'keepalive stream lost; reopening'));
      assert.equal(ka.signal.aborted, false, 'the lease was kept');
      ka.close();
    } finally {
      await c.close();
    }
  });
});
