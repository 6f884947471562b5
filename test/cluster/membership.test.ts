// Membership changes on a running Conclave cluster through etcdctl: add a learner, promote it,
// remove the old leader, move leadership; the KV commands on every member; errors as etcd's.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { etcdctl, etcdctlJson } from '../helpers/etcdctl.js';
import { http1 } from '../helpers/http.js';
import { parseExposition } from '../helpers/prometheus.js';

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start(3);
});
after(async () => {
  await cluster?.stop();
});

interface MemberJson {
  ID: number | string;
  name: string;
  peerURLs: string[];
  isLearner?: boolean;
}

async function members(): Promise<MemberJson[]> {
  // Status and serializable reads are all a learner serves; ask a voter (the first members are voters).
  const r = (await etcdctlJson(
    cluster.members
      .filter((m) => m.child)
      .slice(0, 2)
      .map((m) => m.endpoint)
      .join(','),
    ['member', 'list'],
  )) as {
    members: MemberJson[];
  };
  return r.members;
}

const hex = (id: number | string) => BigInt(id).toString(16);

describe('cluster membership through etcdctl', () => {
  test('KV commands work on every member and see the same data', async () => {
    await etcdctl(cluster.members[0]!.endpoint, ['put', 'shared', 'v1']);
    for (const m of cluster.members) {
      const r = await etcdctl(m.endpoint, ['get', 'shared', '--print-value-only']);
      assert.equal(r.stdout.trim(), 'v1', m.name);
      const w = await etcdctl(m.endpoint, ['put', `from-${m.name}`, m.name]);
      assert.equal(w.code, 0, w.stderr);
    }
    const all = await etcdctl(cluster.members[2]!.endpoint, ['get', 'from-', '--prefix', '--keys-only']);
    assert.deepEqual(all.stdout.split('\n').filter(Boolean), ['from-m0', 'from-m1', 'from-m2']);
    const st = (await etcdctlJson(cluster.endpoints.join(','), ['endpoint', 'status'])) as Array<{
      Status: { leader: number };
    }>;
    assert.equal(st.length, 3);
    assert.equal(new Set(st.map((s) => String(s.Status.leader))).size, 1);
  });

  test('add a learner, it serves only serializable reads, promote it, remove the old leader', async () => {
    const idx = await cluster.addMember({ learner: true });
    const learner = cluster.members[idx]!;
    let list = await members();
    assert.equal(list.length, 4);
    assert.equal(list.find((m) => m.name === learner.name)?.isLearner, true);

    // A second learner is refused (etcd 3.4 allows one).
    const second = await etcdctl(cluster.endpoints.filter((e) => e !== learner.endpoint).join(','), [
      'member',
      'add',
      'extra',
      '--learner',
      '--peer-urls=http://127.0.0.1:9',
    ]);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /etcdserver: too many learner members in cluster/);

    // Learners answer serializable reads and Status only.
    for (let i = 0; i < 50; i++) {
      const r = await etcdctl(learner.endpoint, ['get', 'shared', '--consistency', 's', '--print-value-only']);
      if (r.stdout.trim() === 'v1') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const lin = await etcdctl(learner.endpoint, ['get', 'shared']);
    assert.notEqual(lin.code, 0);
    assert.match(lin.stderr, /etcdserver: rpc not supported for learner/);

    // Promote (when caught up), then it is a voter. Learners refuse every other RPC, so the
    // request goes to the voters (as with etcd).
    const voters = cluster.endpoints.filter((e) => e !== learner.endpoint).join(',');
    const promote = await etcdctl(voters, ['member', 'promote', learner.id]);
    assert.equal(promote.code, 0, promote.stderr);
    list = await members();
    assert.equal(list.find((m) => m.name === learner.name)?.isLearner ?? false, false);

    // Promoting a voter is refused with etcd's error.
    const again = await etcdctl(cluster.endpoints.join(','), ['member', 'promote', learner.id]);
    assert.match(again.stderr, /etcdserver: can only promote a learner member/);
    // the leader counted both (etcd_server_learner_promote_successes / _failures{Reason})
    const samples = (await Promise.all(cluster.endpoints.map((e) => http1(`http://${e}`, 'GET', '/metrics')))).flatMap(
      (r) => parseExposition(r.body).samples,
    );
    const total = (name: string, reason?: string) =>
      samples
        .filter((x) => x.name === name && (reason === undefined || x.labels['Reason'] === reason))
        .reduce((n, x) => n + x.value, 0);
    assert.equal(total('etcd_server_learner_promote_successes'), 1);
    assert.equal(total('etcd_server_learner_promote_failures', 'etcdserver: can only promote a learner member'), 1);

    // Remove the old leader: the others elect a new one and keep serving.
    const leader = await cluster.waitLeader();
    await cluster.removeMember(leader);
    list = await members();
    assert.equal(list.length, 3);
    assert.ok(!list.some((m) => hex(m.ID) === cluster.members[leader]!.id));
    await cluster.waitLeader();
    const put = await etcdctl(cluster.endpoints.join(','), ['put', 'after-removal', 'ok']);
    assert.equal(put.code, 0, put.stderr);
    const got = await etcdctl(learner.endpoint, ['get', 'after-removal', '--print-value-only']);
    assert.equal(got.stdout.trim(), 'ok');
  });

  test('move-leader hands leadership to another voter; errors for unknown members', async () => {
    const leader = await cluster.waitLeader();
    const target = cluster.members.find((m, i) => i !== leader && m.child)!;
    const r = await etcdctl(cluster.endpoints.join(','), ['move-leader', target.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Leadership transferred from \S+ to \S+/);
    assert.equal(await cluster.waitLeader(), target.index);

    const bad = await etcdctl(cluster.endpoints.join(','), ['member', 'remove', 'abcdef']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /etcdserver: member not found/);
    const badUrl = await etcdctl(cluster.endpoints.join(','), ['member', 'add', 'x', '--peer-urls=not a url']);
    assert.notEqual(badUrl.code, 0);
  });
});
