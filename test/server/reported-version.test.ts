// The etcd release a member reports: 3.5.30 by default; CONCLAVE_ETCD_VERSION=3.4.23 (what
// npm run test:etcd-e2e sets for etcd's 3.4 suite) reports 3.4.23 everywhere a version shows
// (/version, /metrics, Status) and starts the cluster at 3.4.0; any other value stops the binary.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { RawClient } from '../helpers/grpc.js';
import { http1 } from '../helpers/http.js';
import { conclaveBin, startServer } from '../helpers/process.js';

for (const [env, server, cluster] of [
  [undefined, '3.5.30', '3.5'],
  ['3.4.23', '3.4.23', '3.4'],
] as const) {
  test(`CONCLAVE_ETCD_VERSION=${env ?? '(unset)'}: /version, /metrics and Status say ${server}`, async () => {
    const s = await startServer('conclave', env === undefined ? {} : { env: { CONCLAVE_ETCD_VERSION: env } });
    const c = new RawClient(s.endpoint);
    try {
      const version = await http1(s.clientUrl, 'GET', '/version');
      assert.equal(version.body, JSON.stringify({ etcdserver: server, etcdcluster: `${cluster}.0` }));
      const metrics = (await http1(s.clientUrl, 'GET', '/metrics')).body;
      assert.match(metrics, new RegExp(`^etcd_server_version\\{server_version="${server}"\\} 1$`, 'm'));
      assert.match(metrics, new RegExp(`^etcd_cluster_version\\{cluster_version="${cluster}"\\} 1$`, 'm'));
      assert.equal((await c.unary(etcdserverpb.MaintenanceService.Status, {})).version, server);
    } finally {
      c.close();
      await s.stop();
    }
  });
}

test('CONCLAVE_ETCD_VERSION naming another release stops the binary with the allowed values', () => {
  const r = spawnSync(process.execPath, [conclaveBin, '--version'], {
    env: { ...process.env, CONCLAVE_ETCD_VERSION: '3.6.0' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /CONCLAVE_ETCD_VERSION must be one of 3\.5\.30, 3\.4\.23 \(got "3\.6\.0"\)/);
});
