// Cluster and Maintenance surfaces through @conclave/client, against every target with the
// features each group needs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LearnerNotReadyError, MemberNotFoundError, NoSpaceError } from '@conclave/client';
import { freePort } from '../helpers/tmp.js';
import { describeTargets } from './targets.js';
import { eventually } from './wait.js';

describeTargets(['memberList'], (ctx) => {
  test('list members', async () => {
    const list = await ctx.client.cluster.list();
    assert.equal(list.members.length, ctx.target.members);
    assert.notEqual(list.clusterId, 0n);
    assert.ok(list.members.some((m) => m.id === list.memberId));
    assert.equal(new Set(list.members.map((m) => m.id)).size, ctx.target.members);
    assert.ok(list.members.every((m) => m.name !== '' && m.peerURLs.length > 0 && !m.isLearner));
  });
});

describeTargets(['memberChange'], (ctx) => {
  test('add a learner, update it, refuse to promote it before it syncs, remove it', async () => {
    const c = ctx.client;
    const [p1, p2] = [await freePort(), await freePort()];
    const { member, members } = await c.cluster.add([`http://127.0.0.1:${p1}`], { learner: true });
    assert.equal(member.isLearner, true);
    assert.equal(members.length, ctx.target.members + 1);
    assert.deepEqual(member.clientURLs, []);
    const updated = await c.cluster.update(member.id, [`http://127.0.0.1:${p2}`]);
    assert.deepEqual(updated.find((m) => m.id === member.id)?.peerURLs, [`http://127.0.0.1:${p2}`]);
    await assert.rejects(c.cluster.promote(member.id), LearnerNotReadyError);
    const after = await c.cluster.remove(member.id);
    assert.equal(after.length, ctx.target.members);
    await assert.rejects(c.cluster.remove(member.id), MemberNotFoundError);
  });
});

describeTargets(['maintenance'], (ctx) => {
  test('status of each endpoint', async () => {
    const c = ctx.client;
    const all = await Promise.all(c.endpoints.map((endpoint) => c.maintenance.status({ endpoint })));
    assert.deepEqual(
      all.map((s) => s.endpoint),
      c.endpoints,
    );
    assert.equal(new Set(all.map((s) => s.memberId)).size, all.length);
    assert.equal(new Set(all.map((s) => s.leader)).size, 1);
    assert.ok(all.some((s) => s.memberId === s.leader));
    for (const s of all) {
      assert.match(s.version, /^3\.\d+\.\d+/);
      assert.ok(s.dbSize > 0 && s.raftIndex > 0n && s.raftTerm > 0n && s.revision > 0n);
      assert.equal(s.isLearner, false);
    }
    await assert.rejects(() => c.maintenance.status({ endpoint: '127.0.0.1:1' }), TypeError);
  });

  test('alarms: a NOSPACE alarm makes writes fail with NoSpaceError until disarmed', async () => {
    const c = ctx.client;
    assert.deepEqual(await c.maintenance.alarms(), []);
    const { memberId } = await c.maintenance.status();
    await c.maintenance.activateAlarm({ memberId, alarm: 'nospace' });
    assert.deepEqual(await c.maintenance.alarms(), [{ memberId, alarm: 'nospace' }]);
    await assert.rejects(c.put('al/x', '1'), (e: unknown) => e instanceof NoSpaceError && e.code === 'NoSpace');
    assert.deepEqual(await c.maintenance.disarm(), [{ memberId, alarm: 'nospace' }]);
    assert.deepEqual(await c.maintenance.alarms(), []);
    await c.put('al/x', '1');
  });

  test('defragment, hash, hashKV agree across members; snapshot streams the backend', async () => {
    const c = ctx.client;
    const rev = (await c.put('mt/a', '1')).revision;
    for (const endpoint of c.endpoints) await c.maintenance.defragment({ endpoint });
    assert.equal(typeof (await c.maintenance.hash()), 'number');
    // every member has the same history up to rev, once it has applied rev
    const hashes = await Promise.all(
      c.endpoints.map((endpoint) =>
        eventually(
          () => c.maintenance.hashKV(rev, { endpoint }),
          (h) => h.revision >= rev,
        ),
      ),
    );
    assert.equal(new Set(hashes.map((h) => h.hash)).size, 1);
    assert.ok(hashes.every((h) => h.revision >= rev));
    let size = 0;
    let chunks = 0;
    for await (const chunk of c.maintenance.snapshot()) {
      size += chunk.length;
      chunks++;
    }
    assert.ok(size > 16_384 && chunks >= 1, `${size} bytes in ${chunks} chunks`);
  });
});

describeTargets(['maintenance', 'multiMember'], (ctx) => {
  test('move the leader to another member', async () => {
    const c = ctx.client;
    const st = await c.maintenance.status();
    const { members } = await c.cluster.list();
    const target = members.find((m) => m.id !== st.leader)!;
    await c.maintenance.moveLeader(target.id);
    const deadline = Date.now() + 5000;
    for (;;) {
      const now = await c.maintenance.status();
      if (now.leader === target.id) break;
      assert.ok(Date.now() < deadline, 'leadership did not move');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
