// Member-to-member security: peer TLS (CA-issued certificates with client-cert auth, and --peer-auto-tls),
// the allowed-CN check, and members of different clusters refusing each other.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { etcdctl } from '../helpers/etcdctl.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startServer } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

let pkiDir: { path: string; cleanup(): void };
let pki: TestPki;

before(() => {
  pkiDir = tempDir('peer-pki-');
  pki = makeTestPki(pkiDir.path);
});
after(() => pkiDir?.cleanup());

async function putGetEverywhere(c: TestCluster, key: string): Promise<void> {
  const w = await etcdctl(c.endpoints.join(','), ['put', key, 'v']);
  assert.equal(w.code, 0, w.stderr);
  for (const e of c.endpoints) {
    const r = await etcdctl(e, ['get', key, '--print-value-only']);
    assert.equal(r.stdout.trim(), 'v', e);
  }
}

describe('peer transport security', () => {
  test('peer TLS with a CA, client-cert auth and an allowed CN', () =>
    TestCluster.using(
      3,
      {
        peerScheme: 'https',
        args: [
          '--peer-cert-file',
          pki.peerCert,
          '--peer-key-file',
          pki.peerKey,
          '--peer-trusted-ca-file',
          pki.ca,
          '--peer-client-cert-auth',
          '--peer-cert-allowed-cn',
          'peer',
        ],
      },
      async (c) => {
        await putGetEverywhere(c, 'tls-ca');
      },
    ));

  test("unix:// peer URLs (sockets in the members' working directory, as etcd names them)", () =>
    TestCluster.using(3, { peerScheme: 'unix' }, async (c) => {
      await putGetEverywhere(c, 'unix-peers');
      // a killed member restarts and catches up over its socket
      await c.kill(0);
      const w = await etcdctl(c.endpoints.join(','), ['put', 'unix-peers', 'v2']);
      assert.equal(w.code, 0, w.stderr);
      await c.restart(0);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const r = await etcdctl(c.members[0]!.endpoint, ['get', 'unix-peers', '--print-value-only', '--consistency=s']);
        if (r.stdout.trim() === 'v2') break;
        assert.ok(Date.now() < deadline, 'restarted member did not catch up');
        await new Promise((res) => setTimeout(res, 100));
      }
    }));

  test('--peer-auto-tls: self-signed member certificates', () =>
    TestCluster.using(3, { peerScheme: 'https', args: ['--peer-auto-tls'] }, async (c) => {
      await putGetEverywhere(c, 'tls-auto');
    }));

  test('a member of another cluster is refused (cluster ID mismatch)', () =>
    TestCluster.using(3, { token: 'cluster-a' }, async (c) => {
      // A stranger claiming to be one of the members of a cluster with another token.
      const victim = c.members[0]!;
      const stranger = await startServer('conclave', {
        name: 'm9',
        args: [
          '--initial-cluster-token',
          'cluster-b',
          '--initial-cluster',
          `m9=http://127.0.0.1:0,m0=${victim.peerUrl}`,
        ],
        timeoutMs: 4000,
      }).then(
        (s) => s,
        (e: unknown) => e as Error,
      );
      // It never gets a quorum: either it does not start serving, or its writes fail.
      if (!(stranger instanceof Error)) {
        const r = await etcdctl(stranger.endpoint, ['put', 'x', '1', '--command-timeout', '1s']);
        assert.notEqual(r.code, 0);
        await stranger.stop();
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(
        c.members.some((m) => /rejected stream from a member of another cluster/.test(m.log)),
        'no member logged the refusal',
      );
      await putGetEverywhere(c, 'still-fine');
    }));
});
