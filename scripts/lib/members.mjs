// Members for the scripts that measure or check them (bench.mjs, bench-cluster.mjs, bench-scale.mjs,
// lincheck.mjs): free loopback ports, the command and flags that start a member (etcd 3.4 from PATH or
// Conclave's packages/server/dist/cli.js), etcdctl, and the leader from `endpoint status`.

import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(import.meta.url), '../../..');

/** A free loopback port (closed again, for a member to listen on). */
export function freePort() {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

/** The command and leading arguments that start a member: etcd 3.4, or node (with `nodeFlags`) and dist/cli.js. */
export function memberCommand(kind, nodeFlags = []) {
  return kind === 'etcd' ? ['etcd', []] : [process.execPath, [...nodeFlags, join(root, 'packages/server/dist/cli.js')]];
}

/**
 * The flags naming a member, its data directory, its loopback URLs, the initial cluster (itself alone
 * by default) and warn-level zap logs (zap is etcd 3.4's other logger and Conclave's default).
 */
export function memberFlags({ name, dataDir, clientPort, peerPort, initialCluster }) {
  return [
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `http://127.0.0.1:${clientPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    initialCluster ?? `${name}=http://127.0.0.1:${peerPort}`,
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];
}

/** etcdctl (v3 API) against `endpoints`, waited for; `bin` another etcdctl (e.g. 3.5's), `timeout` its --command-timeout. */
export function etcdctl(endpoints, args, { bin = 'etcdctl', timeout = '2s' } = {}) {
  return spawnSync(bin, ['--endpoints', endpoints, '--command-timeout', timeout, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, ETCDCTL_API: '3' },
  });
}

/** `endpoint status -w json` of every endpoint ([] when etcdctl gave no JSON). */
export function endpointStatus(endpoints, timeout = '2s') {
  try {
    return JSON.parse(etcdctl(endpoints, ['endpoint', 'status', '-w', 'json'], { timeout }).stdout);
  } catch {
    return [];
  }
}

/** The endpoint (host:port) that reports itself the leader, or undefined. */
export function leaderEndpoint(statuses) {
  return statuses.find((x) => String(x.Status.leader) === String(x.Status.header.member_id))?.Endpoint;
}
