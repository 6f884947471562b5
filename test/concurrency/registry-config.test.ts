// ServiceRegistry and ConfigWatcher against a 3-member etcd 3.4 cluster and a 3-member Conclave
// cluster: registration, discovery, watch and pickers (and endpoints written the way Go's
// naming/endpoints writes them); an instance that dies without deregistering disappears within its
// TTL and comes back when restarted; re-registration after the lease is lost; a config watcher that,
// under writes, a leader kill, and compaction while its watch is disconnected, only ever shows
// states that existed at some revision, in order, and ends at the last one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError, op } from '@conclave/client';
import {
  ConfigWatcher,
  InvalidConfigError,
  ServiceRegistry,
  random,
  type ConfigSnapshot,
  type ConfigState,
  type ServiceInstance,
} from '@conclave/concurrency';
import { delay, describeClusters, until } from './clusters.js';

const ids = (set: readonly ServiceInstance[]): string => set.map((i) => i.id).join(',');

describeClusters((ctx) => {
  test('register, discover, watch, pick; endpoints written by Go services are read; deregister', {
    timeout: 60_000,
  }, async () => {
    const p = `${ctx.prefix('reg')}/`;
    const reg = new ServiceRegistry(ctx.newClient(), { prefix: p, ttl: 5 });
    const seen: string[] = [];
    const watcher = new ServiceRegistry(ctx.client, { prefix: p }).watch('api');
    const watching = (async () => {
      for await (const set of watcher) seen.push(ids(set));
    })();
    await until(() => seen.length === 1, 5000, 'the first set');
    const a = await reg.register({ service: 'api', id: 'a', address: '10.0.0.1', port: 8080, metadata: { zone: 'x' } });
    await reg.register({ service: 'api', id: 'b', address: '10.0.0.2', port: 8080 });
    await reg.register({ service: 'other', id: 'z', address: '10.0.0.9' });
    // the value is etcd naming/endpoints' JSON: Go resolvers dial Addr
    const raw = JSON.parse((await ctx.client.get(a.key))!.valueString) as { Op: number; Addr: string };
    assert.equal(a.key, `${p}api/a`);
    assert.equal(raw.Op, 0);
    assert.equal(raw.Addr, '10.0.0.1:8080');
    // an endpoint added by a Go service (endpoints.Manager.AddEndpoint) is discovered too
    await ctx.client.put(`${p}api/go-1`, JSON.stringify({ Op: 0, Addr: '10.0.0.3:9090', Metadata: { weight: 2 } }));
    const found = await reg.discover('api');
    assert.deepEqual(found, [
      { service: 'api', id: 'a', address: '10.0.0.1', port: 8080, metadata: { zone: 'x' } },
      { service: 'api', id: 'b', address: '10.0.0.2', port: 8080 },
      { service: 'api', id: 'go-1', address: '10.0.0.3', port: 9090, metadata: { weight: 2 } },
    ]);
    const rr = reg.picker('api', 'round-robin');
    await rr.ready;
    await until(() => rr.instances.length === 3, 5000, 'the picker to see 3 instances');
    assert.deepEqual(
      [0, 1, 2, 3].map(() => rr.pick()!.id),
      ['a', 'b', 'go-1', 'a'],
    );
    const rnd = random();
    for (let i = 0; i < 5; i++) assert.ok(['a', 'b', 'go-1'].includes(rnd(found)!.id));
    await a.deregister();
    await until(() => seen.at(-1) === 'b,go-1', 5000, 'the watch to drop a');
    assert.deepEqual(
      seen.filter((s, i) => s !== seen[i - 1]),
      seen,
      'the same set is not reported twice',
    );
    assert.equal(seen[0], '');
    rr.close();
    await reg.close();
    await until(() => seen.at(-1) === 'go-1', 5000, 'close to deregister b');
    watcher.return?.();
    await watching;
  });

  test('an instance killed without deregistering disappears within its TTL, and re-appears after restart', {
    timeout: 60_000,
  }, async () => {
    const p = `${ctx.prefix('ttl')}/`;
    const seen: { at: number; ids: string }[] = [];
    const watcher = new ServiceRegistry(ctx.client, { prefix: p }).watch('svc');
    const watching = (async () => {
      for await (const set of watcher) seen.push({ at: performance.now(), ids: ids(set) });
    })();
    const doomedClient = ctx.newClient();
    await new ServiceRegistry(doomedClient, { prefix: p, ttl: 2 }).register({
      service: 'svc',
      id: 'i1',
      address: '127.0.0.1',
      port: 7001,
    });
    await until(() => seen.at(-1)?.ids === 'i1', 5000, 'i1 to appear');
    // the process dies: its client goes away without deregistering or revoking anything
    const diedAt = performance.now();
    await doomedClient.close();
    await until(() => seen.at(-1)?.ids === '', 6000, 'i1 to disappear');
    const gone = seen.at(-1)!.at - diedAt;
    // the key goes at most TTL after the last renewal (≤ the crash), plus the server's expiry check and the watch
    assert.ok(gone <= 2000 + 2000, `gone ${gone} ms after the crash (TTL 2 s)`);
    // restarted: registers again under a new lease
    const restarted = new ServiceRegistry(ctx.newClient(), { prefix: p, ttl: 2 });
    await restarted.register({ service: 'svc', id: 'i1', address: '127.0.0.1', port: 7001 });
    await until(() => seen.at(-1)?.ids === 'i1', 5000, 'i1 to re-appear');
    await restarted.close();
    watcher.return?.();
    await watching;
  });

  test('re-registers under a new lease when the lease is lost', { timeout: 60_000 }, async () => {
    const p = `${ctx.prefix('rereg')}/`;
    const reg = new ServiceRegistry(ctx.newClient(), { prefix: p, ttl: 5 });
    const r = await reg.register({ service: 'svc', id: 'x', address: 'host-x', port: 1 });
    const first = r.lease!;
    const events: string[] = [];
    r.on('lost', () => events.push('lost'));
    r.on('registered', () => events.push('registered'));
    await ctx.client.lease.revoke(first); // e.g. an operator, or the cluster restored from a backup
    await until(() => events.includes('registered'), 8000, 're-registration');
    assert.deepEqual(events, ['lost', 'registered']);
    const kv = await ctx.client.get(r.key);
    assert.ok(kv && kv.lease === r.lease && kv.lease !== first);
    assert.deepEqual(
      (await reg.discover('svc')).map((i) => i.id),
      ['x'],
    );
    await reg.close();
    assert.equal(await ctx.client.get(r.key), undefined);
  });

  test('config watcher: typed and validated; invalid states skipped; start refuses an invalid config', {
    timeout: 60_000,
  }, async () => {
    const p = `${ctx.prefix('cfg')}/`;
    await ctx.client
      .txn()
      .then(op.put(`${p}mode`, 'fast'), op.put(`${p}workers`, '4'))
      .commit();
    const parse = (s: ConfigSnapshot): { mode: string; workers: number } => ({
      mode: s.entries.get('mode') ?? 'default',
      workers: Number(s.entries.get('workers') ?? '1'),
    });
    const validate = (c: { workers: number }): string | undefined =>
      Number.isInteger(c.workers) && c.workers > 0 ? undefined : `bad workers ${c.workers}`;
    const invalid: string[] = [];
    const w = await ConfigWatcher.start(ctx.client, p, { parse, validate, onInvalid: (e) => invalid.push(e.message) });
    assert.deepEqual(w.current().value, { mode: 'fast', workers: 4 });
    const states: ConfigState<{ mode: string; workers: number }>[] = [];
    const consuming = (async () => {
      for await (const s of w) states.push(s);
    })();
    await ctx.client.put(`${p}workers`, 'lots');
    // (two puts in a row may reach the watcher as one batch, whose last state alone is checked)
    await until(() => invalid.length > 0, 5000, 'the invalid state reported');
    await ctx.client.put(`${p}workers`, '8');
    await until(() => w.current().value.workers === 8, 5000, 'workers=8');
    assert.equal(invalid.length, 1);
    assert.match(invalid[0]!, /bad workers/);
    assert.deepEqual(
      states.map((s) => s.value.workers),
      [4, 8],
    );
    w.close();
    await consuming;
    await ctx.client.put(`${p}workers`, '-1');
    await assert.rejects(ConfigWatcher.start(ctx.client, p, { parse, validate }), InvalidConfigError);
  });

  test('config watcher: under writes, a leader kill and compaction, every state seen existed at some revision, in order', {
    timeout: 90_000,
  }, async () => {
    // The writer changes all KEYS keys in one transaction per version, so a consistent state has every
    // key at the same version; a torn or mixed state would show two versions.
    const p = `${ctx.prefix('cfgchaos')}/`;
    const KEYS = 6;
    const writer = ctx.newClient({ timeoutMs: 3000 });
    const writeVersion = (v: number) =>
      writer
        .txn()
        .then(...Array.from({ length: KEYS }, (_, i) => op.put(`${p}k${i}`, String(v))))
        .commit();
    await writeVersion(0);
    const parse = (s: ConfigSnapshot): number => {
      const vs = new Set([...s.entries.values()]);
      if (s.entries.size !== KEYS || vs.size !== 1)
        throw new Error(`torn state at ${s.revision}: ${[...s.entries].join(' ')}`);
      return Number([...vs][0]);
    };
    const cl = ctx.cluster;
    const leader = await cl.leader();
    const solo = (leader + 1) % 3; // the member the second watcher depends on alone
    const soloClient = ctx.newClient({ endpoints: [cl.endpoints[solo]!] });
    const watchers = [
      await ConfigWatcher.start(ctx.newClient(), p, { parse }),
      await ConfigWatcher.start(soloClient, p, { parse }),
    ];
    const torn: string[] = [];
    const seen: { revision: bigint; version: number }[][] = [[], []];
    const resynced = [false, false];
    const consumers = watchers.map(async (w, i) => {
      w.on('invalid', (e) => torn.push(e.message));
      w.on('resync', () => (resynced[i] = true));
      for await (const s of w.changes({ includeCurrent: true })) {
        seen[i]!.push({ revision: s.revision, version: s.value });
        if (s.snapshot.revision !== s.revision) torn.push('revision mismatch');
      }
    });
    let version = 0;
    let lastWrite = 0n;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        try {
          lastWrite = (await writeVersion(version + 1)).revision;
          version++;
        } catch {
          // a write lost in the failover may or may not have been applied: the next one supersedes it
          await delay(50);
        }
        await delay(5);
      }
    })();
    try {
      const writes = async (n: number, what: string): Promise<void> => {
        const target = version + n;
        await until(() => version >= target, 20_000, what);
      };
      await writes(20, 'writes before the kill');
      await cl.kill(leader);
      await writes(20, 'writes after the leader kill');
      await cl.restart(leader);
      await writes(10, 'writes after the restart');
      // the solo watcher's member goes down; history moves on and is compacted; its client is then
      // pointed at a member that has applied the compaction, so the watch cannot resume: resync
      await cl.kill(solo);
      await writes(20, 'writes while the solo member is down');
      const compactAt = lastWrite;
      for (let i = 0; ; i++) {
        // a write, so not retried by the client when its answer is lost; compacting twice is harmless
        try {
          await writer.compact(compactAt);
          break;
        } catch (e) {
          if (e instanceof CompactedError) break;
          if (!(e as { retriable?: boolean }).retriable || i > 20) throw e;
          await delay(100);
        }
      }
      const live = cl.endpoints.filter((_, i) => i !== solo);
      for (const endpoint of live)
        await until(
          async () => (await writer.maintenance.hashKV(0, { endpoint })).compactRevision >= compactAt,
          10_000,
          'the compaction to apply',
        );
      soloClient.setEndpoints(live);
      await until(
        () => watchers[1]!.current().revision >= compactAt,
        20_000,
        'the solo watcher to catch up after compaction',
      );
      await cl.restart(solo);
      stop = true;
      await writing;
    } finally {
      stop = true;
      await writing;
    }
    const final = await writeVersion(++version);
    for (const w of watchers)
      await until(() => w.current().revision >= final.revision, 10_000, 'the watchers to reach the last write');
    for (const w of watchers) w.close();
    await Promise.all(consumers);
    assert.deepEqual(torn, [], 'a watcher saw a state that never existed');
    for (const s of seen) {
      // (a write whose answer was lost in the failover may have been applied, then written again: the
      // same version at two revisions is two real states)
      for (let i = 1; i < s.length; i++) {
        const [a, b] = [s[i - 1]!, s[i]!];
        assert.ok(
          b.revision > a.revision && b.version >= a.version,
          `out of order: v${a.version}@${a.revision} then v${b.version}@${b.revision}`,
        );
      }
      assert.equal(s.at(-1)!.version, version);
      assert.equal(s.at(-1)!.revision, final.revision);
    }
    assert.ok(resynced[1], 'the solo watcher resumed past the compaction by reading the prefix again');
  });
});
