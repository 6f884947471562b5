// Password hashes move both ways between etcd 3.4 (Go's bcrypt) and Conclave (@node-rs/bcrypt):
// a user whose password was hashed by one is created there, the member's snapshot is restored into
// the other, and etcdctl authenticates as that user against the restored member (and a wrong
// password is refused). Both sides use their default cost, 10.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { etcdctl } from '../helpers/etcdctl.js';
import { startServer } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';
import { ROOT_PASSWORD } from './dataset.js';
import { restoreCluster, saveSnapshot, type Side } from './harness.js';

const dir = tempDir('conclave-bcrypt');
after(() => dir.cleanup());

async function ok(endpoint: string, args: string[]): Promise<string> {
  const r = await etcdctl(endpoint, args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

for (const [from, to] of [
  ['etcd34', 'conclave'],
  ['conclave', 'etcd34'],
] as Array<[Side, Side]>) {
  test(`a password hashed by ${from} verifies on ${to}`, { timeout: 240_000 }, async () => {
    const src = await startServer(from === 'etcd34' ? 'etcd' : 'conclave');
    let snap: string;
    try {
      await ok(src.endpoint, ['user', 'add', `root:${ROOT_PASSWORD}`]);
      await ok(src.endpoint, ['user', 'add', `alice:hashed-by-${from}`]);
      await ok(src.endpoint, ['role', 'add', 'reader']);
      await ok(src.endpoint, ['role', 'grant-permission', 'reader', 'read', 'k']);
      await ok(src.endpoint, ['user', 'grant-role', 'alice', 'reader']);
      await ok(src.endpoint, ['auth', 'enable']);
      await ok(src.endpoint, ['--user', `root:${ROOT_PASSWORD}`, 'put', 'k', 'v']);
      // The source itself accepts the password it hashed.
      assert.equal(
        await ok(src.endpoint, ['--user', `alice:hashed-by-${from}`, 'get', 'k', '--print-value-only']),
        'v\n',
      );
      snap = await saveSnapshot(src.endpoint, join(dir.path, `${from}.db`));
    } finally {
      await src.stop();
    }
    const cluster = await restoreCluster(to, snap, 1);
    try {
      const endpoint = cluster.endpoints[0]!;
      assert.equal(await ok(endpoint, ['--user', `alice:hashed-by-${from}`, 'get', 'k', '--print-value-only']), 'v\n');
      const wrong = await etcdctl(endpoint, ['--user', 'alice:wrong', 'get', 'k'], { timeoutMs: 60_000 });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /authentication failed, invalid user ID or password/);
    } finally {
      await cluster.stop();
    }
  });
}
