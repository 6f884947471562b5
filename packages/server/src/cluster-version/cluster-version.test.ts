import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { openFixture } from '../../testing/mvcc-fixture.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { Member } from '../etcdserver/membership.js';
import { createLogger } from '../log/index.js';
import { DowngradeStore, encodeSet } from './downgrade.js';
import { downgradeRefusal, startVersionMonitor } from './monitor.js';
import { compareSemver, formatSemver, parseSemver } from './semver.js';

test('versions read as go-semver reads them', () => {
  assert.deepEqual(parseSemver('3.5.30'), { major: 3, minor: 5, patch: 30, preRelease: '' });
  assert.deepEqual(parseSemver('3.4.0-rc.1+meta'), { major: 3, minor: 4, patch: 0, preRelease: 'rc.1' });
  assert.deepEqual(parseSemver('3.4.0+'), { major: 3, minor: 4, patch: 0, preRelease: '' });
  for (const bad of ['', '3', '3.4', 'v3.4.0', '3.4.0.1', '3.4.x', '3..4', '3.4.0+meta!', '3.4.0-a..b'])
    assert.equal(parseSemver(bad), null, bad);
  assert.equal(formatSemver(parseSemver('3.4.0-rc.1')!), '3.4.0-rc.1');
  const cmp = (a: string, b: string) => Math.sign(compareSemver(parseSemver(a)!, parseSemver(b)!));
  assert.deepEqual([cmp('3.5.0', '3.4.9'), cmp('3.4.0-rc.1', '3.4.0'), cmp('3.5.30', '3.5.30')], [1, -1, 0]);
});

test('a member refuses data of a newer cluster version than its own (major.minor)', () => {
  assert.equal(downgradeRefusal('3.5.0', '3.5.30'), null);
  assert.equal(downgradeRefusal('3.4.0', '3.5.30'), null);
  assert.equal(downgradeRefusal('', '3.5.30'), null);
  assert.equal(
    downgradeRefusal('3.6.0', '3.5.30'),
    'invalid downgrade; server version is lower than determined cluster version',
  );
});

test('the downgrade job is kept in the backend: a restarted member knows it (and warns)', async () => {
  const fx = await openFixture();
  try {
    let out = '';
    const logger = createLogger({ write: (d) => (out += d) });
    const first = new DowngradeStore(fx.backend, logger, '3.5.30');
    assert.deepEqual(first.info, { enabled: false, targetVersion: '' });
    fx.backend.batch(() => first.apply(encodeSet({ enabled: true, targetVersion: '3.4.0' })));
    assert.deepEqual(first.info, { enabled: true, targetVersion: '3.4.0' });
    await fx.reopen();
    const second = new DowngradeStore(fx.backend, logger, '3.5.30');
    assert.deepEqual(second.info, { enabled: true, targetVersion: '3.4.0' });
    logger.flush();
    assert.match(out, /cluster is downgrading, but this member cannot run the target version/);
    fx.backend.batch(() => second.apply(encodeSet({ enabled: false, targetVersion: '' })));
    await fx.reopen();
    assert.deepEqual(new DowngradeStore(fx.backend, logger, '3.5.30').info, { enabled: false, targetVersion: '' });
  } finally {
    await fx.close();
  }
});

/** A peer that answers GET /version with `server`. */
async function versionPeer(server: string): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ etcdserver: server, etcdcluster: '3.4.0' }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

test('the leader raises the cluster version once every member runs a newer release', async () => {
  const peers = [await versionPeer('3.5.30'), await versionPeer('3.4.23')];
  try {
    const run = async (peerUrls: string[], clusterVersion: string, isLeader = true): Promise<string[]> => {
      const proposed: string[] = [];
      const members: Member[] = [
        { id: 1n, name: 'me', peerUrls: ['http://127.0.0.1:1'], clientUrls: [], isLearner: false },
        ...peerUrls.map((u, i) => ({
          id: BigInt(i + 2),
          name: `p${i}`,
          peerUrls: [u],
          clientUrls: [],
          isLearner: false,
        })),
      ];
      const stop = startVersionMonitor({
        leader: { isLeader, memberId: 1n },
        clusterVersion: () => clusterVersion,
        members: () => members,
        serverVersion: '3.5.30',
        logger: createLogger({ write: () => {} }),
        intervalMs: 60_000,
        propose: async <T>(kind: number, body: Uint8Array): Promise<T> => {
          assert.equal(kind, RequestKind.ClusterVersion);
          proposed.push(Buffer.from(body).toString());
          return undefined as T;
        },
      });
      await new Promise((r) => setTimeout(r, 300));
      stop();
      return proposed;
    };
    assert.deepEqual(await run([peers[0]!.url], '3.4.0'), ['3.5.0']);
    assert.deepEqual(await run([peers[0]!.url, peers[1]!.url], '3.4.0'), [], 'a member still at 3.4');
    assert.deepEqual(await run(['http://127.0.0.1:1'], '3.4.0'), [], 'a member that cannot be asked');
    assert.deepEqual(await run([peers[0]!.url], '3.5.0'), [], 'already there');
    assert.deepEqual(await run([peers[0]!.url], '3.4.0', false), [], 'not the leader');
  } finally {
    for (const p of peers) await p.close();
  }
});
