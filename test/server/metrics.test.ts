// /metrics per member: two members embedded in one process keep their own counters; the counts etcd's
// own e2e test (TestV3MetricsInsecure) reads come out as etcd's after the same requests; histograms
// use etcd's buckets; go-grpc-prometheus's series exist for every method and code from the start.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type ServerHandle } from '@conclave/server';
import { etcdctl } from '../helpers/etcdctl.js';
import { http1 } from '../helpers/http.js';
import { parseExposition, type Sample } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-metrics');
let a: ServerHandle;
let b: ServerHandle;

before(async () => {
  [a, b] = await Promise.all([
    startServer({ dataDir: join(dir.path, 'a'), name: 'a', flags: { 'initial-cluster-token': 'metrics-a' } }),
    startServer({ dataDir: join(dir.path, 'b'), name: 'b', flags: { 'initial-cluster-token': 'metrics-b' } }),
  ]);
});

after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  dir.cleanup();
});

let lastText = '';

async function scrape(s: ServerHandle): Promise<Sample[]> {
  const r = await http1(s.clientUrl, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  lastText = r.body;
  return parseExposition(r.body).samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** `etcdctl watch key --rev 1`, ended (as etcd's e2e test ends it) once the first event printed. */
function watchOnce(s: ServerHandle, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', ['--endpoints', s.endpoint, 'watch', key, '--rev', '1'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no event: ${out}`));
    }, 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length > 3) child.kill('SIGTERM');
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

async function ctl(s: ServerHandle, ...args: string[]): Promise<string> {
  const r = await etcdctl(s.endpoint, args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('/metrics of embedded members', () => {
  test("etcd's e2e metrics sequence: put, put+delete, a watch cancelled by its client", async () => {
    // TestV3MetricsInsecure: put k, then per round a put and a delete of a new key and a watch of k
    // from revision 1 that etcdctl ends once it got the event (the stream ends Canceled).
    await ctl(a, 'put', 'k', 'v');
    await ctl(a, 'put', '1', 'v');
    await ctl(a, 'del', '1');
    assert.match(await watchOnce(a, 'k'), /^PUT\nk\nv$/m);
    // the server sees the stream end when etcdctl is killed: wait for the count
    let m: Sample[] = [];
    const canceled = { grpc_code: 'Canceled', grpc_method: 'Watch', grpc_service: 'etcdserverpb.Watch' };
    for (let i = 0; i < 50 && value((m = await scrape(a)), 'grpc_server_handled_total', canceled) !== 1; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(value(m, 'grpc_server_handled_total', { ...canceled, grpc_type: 'bidi_stream' }), 1);
    // etcd's e2e test matches the lines as text: label names sorted, as Prometheus' Go client writes them
    const lines = lastText.split('\n');
    for (const line of [
      'grpc_server_handled_total{grpc_code="Canceled",grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 1',
      'etcd_mvcc_put_total 2',
      'etcd_server_apply_duration_seconds_count{op="Put",success="true",version="v3"} 2',
      'etcd_server_client_requests_total{client_api_version="3.4",type="unary"} 3',
    ])
      assert.ok(lines.includes(line), line);
    assert.equal(value(m, 'etcd_mvcc_put_total'), 2);
    assert.equal(value(m, 'etcd_mvcc_delete_total'), 1);
    assert.equal(value(m, 'etcd_debugging_mvcc_keys_total'), 1);
    assert.equal(value(m, 'etcd_server_version', { server_version: '3.5.30' }), 1);
    assert.equal(value(m, 'etcd_cluster_version', { cluster_version: '3.5' }), 1);
    assert.equal(value(m, 'etcd_debugging_mvcc_events_total'), 1);
    const applied = (op: string, version = 'v3') =>
      value(m, 'etcd_server_apply_duration_seconds_count', { op, version, success: 'true' });
    assert.equal(applied('Put'), 2);
    assert.equal(applied('DeleteRange'), 1);
    assert.ok((applied('PUT', 'v2') ?? 0) >= 1, "the member's publish, a v2 PUT in etcd");
    assert.equal(value(m, 'etcd_server_apply_duration_seconds_bucket', { op: 'Put', success: 'true', le: '+Inf' }), 2);
    const put = { grpc_method: 'Put', grpc_service: 'etcdserverpb.KV', grpc_type: 'unary' };
    assert.equal(value(m, 'grpc_server_started_total', put), 2);
    assert.equal(value(m, 'grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 2);
    assert.equal(value(m, 'grpc_server_msg_received_total', put), 2);
    assert.equal(value(m, 'grpc_server_msg_sent_total', put), 2);
    assert.equal(value(m, 'etcd_server_client_requests_total', { type: 'unary', client_api_version: '3.4' }), 3);
    assert.ok((value(m, 'etcd_network_client_grpc_received_bytes_total') ?? 0) > 0);
    assert.ok((value(m, 'etcd_disk_wal_fsync_duration_seconds_count') ?? 0) > 0);
    assert.ok((value(m, 'etcd_disk_backend_commit_duration_seconds_count') ?? 0) > 0);
  });

  test('two members in one process share no series', async () => {
    const before = await scrape(b);
    await ctl(b, 'put', 'only-b', 'x');
    await ctl(b, 'put', 'only-b', 'y');
    const [ma, mb] = await Promise.all([scrape(a), scrape(b)]);
    assert.equal(value(mb, 'etcd_mvcc_put_total'), (value(before, 'etcd_mvcc_put_total') ?? 0) + 2);
    assert.equal(value(ma, 'etcd_mvcc_put_total'), 2, "b's puts are not a's");
    assert.notEqual(
      ma.find((s) => s.name === 'etcd_server_id')?.labels['server_id'],
      mb.find((s) => s.name === 'etcd_server_id')?.labels['server_id'],
    );
    assert.equal(value(mb, 'etcd_server_id', { server_id: b.memberId }), 1);
    assert.equal(value(ma, 'etcd_server_id', { server_id: a.memberId }), 1);
    const put = { grpc_method: 'Put', grpc_code: 'OK' };
    assert.equal(value(ma, 'grpc_server_handled_total', put), 2);
    assert.equal(
      value(mb, 'grpc_server_handled_total', put),
      (value(before, 'grpc_server_handled_total', put) ?? 0) + 2,
    );
  });

  test('server state, leases, failed requests', async () => {
    const lease = /lease ([0-9a-f]+) granted/.exec(await ctl(b, 'lease', 'grant', '60'))![1]!;
    await ctl(b, 'lease', 'keep-alive', '--once', lease);
    await ctl(b, 'lease', 'revoke', lease);
    const bad = await etcdctl(b.endpoint, ['get', 'x', '--rev', '1000']);
    assert.notEqual(bad.code, 0);
    const m = await scrape(b);
    assert.equal(value(m, 'etcd_server_has_leader'), 1);
    assert.equal(value(m, 'etcd_server_is_leader'), 1);
    assert.equal(value(m, 'etcd_server_is_learner'), 0);
    assert.equal(value(m, 'etcd_server_leader_changes_seen_total'), 1);
    assert.equal(value(m, 'etcd_server_quota_backend_bytes'), 2 * 1024 ** 3);
    assert.equal(value(m, 'etcd_server_proposals_pending'), 0);
    assert.equal(value(m, 'etcd_server_proposals_applied_total'), value(m, 'etcd_server_proposals_committed_total'));
    assert.equal(value(m, 'etcd_debugging_lease_granted_total'), 1);
    assert.equal(value(m, 'etcd_debugging_lease_renewed_total'), 1);
    assert.equal(value(m, 'etcd_debugging_lease_revoked_total'), 1);
    assert.equal(value(m, 'etcd_debugging_lease_ttl_total_bucket', { le: '64' }), 1);
    assert.equal(value(m, 'etcd_debugging_lease_ttl_total_bucket', { le: '32' }), 0);
    const range = { grpc_method: 'Range', grpc_service: 'etcdserverpb.KV' };
    assert.equal(value(m, 'grpc_server_handled_total', { ...range, grpc_code: 'OutOfRange' }), 1);
    assert.ok((value(m, 'process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024);
    // etcdctl check datascale reads the first line starting with the name and parses the rest as a float
    const rss = lastText.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
    assert.match(rss?.slice('process_resident_memory_bytes'.length).trim() ?? '', /^\d+(\.\d+)?(e\+\d+)?$/);
    assert.ok((value(m, 'process_open_fds') ?? 0) > 0);
  });

  test("every method's series exist from the start, for every code; histograms have etcd's buckets", async () => {
    const m = await scrape(b);
    const handled = m.filter((s) => s.name === 'grpc_server_handled_total');
    const methods = new Set(handled.map((s) => `${s.labels['grpc_service']}/${s.labels['grpc_method']}`));
    assert.ok(methods.has('etcdserverpb.Maintenance/Defragment'));
    assert.ok(methods.has('grpc.health.v1.Health/Check'));
    assert.equal(handled.length, methods.size * 17);
    assert.equal(value(m, 'grpc_server_handled_total', { grpc_method: 'Defragment', grpc_code: 'Unavailable' }), 0);
    const les = (name: string) => m.filter((s) => s.name === `${name}_bucket`).map((s) => s.labels['le']);
    const fsync = ['0.001', '0.002', '0.004', '0.008', '0.016', '0.032', '0.064', '0.128', '0.256', '0.512'];
    assert.deepEqual(les('etcd_disk_wal_fsync_duration_seconds'), [
      ...fsync,
      '1.024',
      '2.048',
      '4.096',
      '8.192',
      '+Inf',
    ]);
    assert.deepEqual(les('etcd_disk_backend_commit_duration_seconds'), les('etcd_disk_wal_fsync_duration_seconds'));
    assert.equal(les('etcd_disk_backend_defrag_duration_seconds').at(-2), '409.6');
  });
});
