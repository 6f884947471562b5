// /metrics of a 3-member cluster against etcd's: the families (name, type, label names) Conclave
// serves are those etcd 3.5.30 serves (fixtures/etcd35-metric-families.txt, derived from its output),
// except the ones listed below with the reason; and every metric selector in the queries of etcd's
// published dashboard and alerts (fixtures/etcd-mixin-queries.txt) finds series.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { etcdctl } from '../helpers/etcdctl.js';
import { http1 } from '../helpers/http.js';
import { parseExposition, select, selectorsOf, type Exposition, type Sample } from '../helpers/prometheus.js';

const fixture = (name: string): string[] =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** etcd 3.5 families Conclave does not serve, and why (docs/metrics.md says the same). */
const LEFT_OUT: Record<string, string> = {
  etcd_debugging_disk_backend_commit_rebalance_duration_seconds: 'bbolt commit phase; LMDB has none',
  etcd_debugging_disk_backend_commit_spill_duration_seconds: 'bbolt commit phase; LMDB has none',
  etcd_debugging_disk_backend_commit_write_duration_seconds: 'bbolt commit phase; LMDB has none',
  etcd_debugging_store_expires_total: 'the v2 store, which Conclave does not have',
  etcd_debugging_store_reads_total: 'the v2 store',
  etcd_debugging_store_watch_requests_total: 'the v2 store',
  etcd_debugging_store_watchers: 'the v2 store',
  etcd_debugging_store_writes_total: 'the v2 store',
  etcd_grpc_proxy_cache_hits_total: 'the gRPC proxy (etcd grpc-proxy), not part of a member',
  etcd_grpc_proxy_cache_keys_total: 'the gRPC proxy',
  etcd_grpc_proxy_cache_misses_total: 'the gRPC proxy',
  etcd_grpc_proxy_events_coalescing_total: 'the gRPC proxy',
  etcd_grpc_proxy_watchers_coalescing_total: 'the gRPC proxy',
  go_gc_gogc_percent: 'Go runtime setting without a V8 counterpart',
  go_memstats_alloc_bytes_total: 'V8 does not count bytes allocated over time',
  go_memstats_buck_hash_sys_bytes: 'Go profiler internals',
  go_memstats_frees_total: 'V8 does not count objects freed',
  go_memstats_gc_sys_bytes: 'Go GC metadata',
  go_memstats_heap_objects: 'V8 does not count live objects cheaply',
  go_memstats_heap_released_bytes: 'Go heap internals',
  go_memstats_mallocs_total: 'V8 does not count allocations',
  go_memstats_mcache_inuse_bytes: 'Go allocator internals',
  go_memstats_mcache_sys_bytes: 'Go allocator internals',
  go_memstats_mspan_inuse_bytes: 'Go allocator internals',
  go_memstats_mspan_sys_bytes: 'Go allocator internals',
  go_memstats_next_gc_bytes: 'V8 does not expose its next GC target',
  go_memstats_other_sys_bytes: 'Go allocator internals',
  go_memstats_stack_inuse_bytes: 'Go stack allocator',
  go_memstats_stack_sys_bytes: 'Go stack allocator',
};

/** Families Conclave serves beyond etcd 3.5's list, and why. */
const EXTRA: Record<string, string> = {
  etcd_debugging_mvcc_put_total: 'etcd 3.4',
  etcd_debugging_mvcc_delete_total: 'etcd 3.4',
  etcd_debugging_mvcc_txn_total: 'etcd 3.4',
  etcd_debugging_mvcc_db_total_size_in_bytes: 'etcd 3.4',
  etcd_network_peer_sent_failures_total: 'etcd has it too; its series appear with the first failure',
  etcd_network_peer_received_failures_total: 'etcd has it too; its series appear with the first failure',
  etcd_server_learner_promote_failures: 'etcd has it too; its series appear with the first refused promotion',
};

let cluster: TestCluster;
let scrapes: Exposition[];

async function scrapeAll(urls = cluster.clientUrls): Promise<Exposition[]> {
  return Promise.all(
    urls.map(async (url) => {
      const r = await http1(url, 'GET', '/metrics');
      assert.equal(r.status, 200);
      return parseExposition(r.body);
    }),
  );
}

async function ctl(...args: string[]): Promise<string> {
  const r = await etcdctl(cluster.endpoints[0]!, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  cluster = await TestCluster.start(3, { args: ['--metrics', 'extensive'] });
  // what the etcd 3.5 list was taken after: writes, a txn, deletes, a watch, a lease, compaction, defrag
  for (let i = 0; i < 20; i++) await ctl('put', `k${i}`, `v${i}`);
  await ctl('get', 'k', '--prefix');
  await ctl('del', 'k1');
  const txn = await etcdctl(cluster.endpoints[0]!, ['txn'], { input: 'value("k2") = "v2"\n\nput t1 a\n\n\n' });
  assert.equal(txn.code, 0, txn.stderr);
  const lease = /lease ([0-9a-f]+) granted/.exec(await ctl('lease', 'grant', '100'))![1]!;
  await ctl('put', '--lease', lease, 'lk', 'v');
  await ctl('lease', 'keep-alive', '--once', lease);
  await ctl('lease', 'revoke', lease);
  await etcdctl(cluster.endpoints[0]!, ['watch', 'w'], { timeoutMs: 1500 }).catch(() => undefined);
  await ctl('compaction', '10');
  await ctl('defrag');
  await ctl('endpoint', 'status');
  scrapes = await scrapeAll();
});

after(async () => {
  await cluster?.stop();
});

describe('/metrics against etcd', () => {
  test("every family of etcd 3.5's list is served with its type and labels, or left out for a stated reason", () => {
    const served = scrapes[0]!.families;
    const problems: string[] = [];
    const listed = new Set<string>();
    for (const line of fixture('etcd35-metric-families.txt')) {
      const [name, type, labels] = line.split(' ') as [string, string, string];
      listed.add(name);
      const f = served.get(name);
      if (name in LEFT_OUT) {
        if (f) problems.push(`${name} is served but listed as left out`);
        continue;
      }
      if (!f) {
        problems.push(`${name} (${type}) is not served`);
        continue;
      }
      if (f.type !== type) problems.push(`${name}: type ${f.type}, etcd ${type}`);
      // label names are compared where both have series (etcd omits labelled families without series)
      const have = scrapes.flatMap((e) => e.families.get(name)?.labels ?? []);
      if (labels !== '-' && have.length > 0 && [...new Set(have)].sort().join(',') !== labels)
        problems.push(`${name}: labels ${[...new Set(have)].sort().join(',')}, etcd ${labels}`);
    }
    for (const name of served.keys())
      if (!listed.has(name) && !(name in EXTRA)) problems.push(`${name} is served but etcd 3.5 has no such family`);
    assert.deepEqual(problems, []);
  });

  test("every selector of etcd's dashboard and alerts finds series", async () => {
    // the members-down alert reads send failures: stop a member so that the others count them
    await cluster.kill(2);
    let live: Exposition[] = [];
    for (let i = 0; i < 20; i++) {
      await etcdctl(cluster.endpoints[0]!, ['put', `after-kill-${i}`, 'x']);
      live = await scrapeAll(cluster.clientUrls.slice(0, 2));
      if (live.some((e) => e.samples.some((x) => x.name === 'etcd_network_peer_sent_failures_total'))) break;
    }
    const samples: Sample[] = [...scrapes, ...live].flatMap((e) => e.samples);
    const missing: string[] = [];
    let checked = 0;
    for (const expr of fixture('etcd-mixin-queries.txt')) {
      for (const sel of selectorsOf(expr)) {
        if (sel.name === 'up') continue; // Prometheus' own series for the scrape target
        checked++;
        if (select(samples, sel).length === 0)
          missing.push(`${sel.name}{${sel.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(',')}}`);
      }
    }
    assert.ok(checked > 30, `only ${checked} selectors found`);
    assert.deepEqual(missing, []);
  });
});
