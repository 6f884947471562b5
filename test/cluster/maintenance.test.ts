// Maintenance in a 3-member cluster: alarms raised or disarmed through one member are seen at once
// through every other member (etcd 3.4 puts even an Alarm GET through Raft).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/grpc.js';

const M = etcdserverpb.MaintenanceService;
const { ACTIVATE, DEACTIVATE, GET } = etcdserverpb.AlarmRequest_AlarmAction;
const { NOSPACE, NONE } = etcdserverpb.AlarmType;

let cluster: TestCluster;
let clients: RawClient[] = [];

before(async () => {
  cluster = await TestCluster.start(3);
  clients = cluster.members.map((m) => new RawClient(m.endpoint));
});
after(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
});

describe('alarms across members', () => {
  test('an alarm activated or disarmed through one member is what a GET through another returns next', async () => {
    const { header } = await clients[0]!.unary(M.Status, {});
    const memberID = header!.memberId;
    for (let i = 0; i < 15; i++) {
      const [a, b, c] = [clients[i % 3]!, clients[(i + 1) % 3]!, clients[(i + 2) % 3]!];
      await a.unary(M.Alarm, { action: ACTIVATE, memberID, alarm: NOSPACE });
      const raised = await b.unary(M.Alarm, { action: GET, memberID: 0n, alarm: NONE });
      assert.deepEqual(
        raised.alarms.map((x) => [x.memberID, x.alarm]),
        [[memberID, NOSPACE]],
        `round ${i}: raised`,
      );
      await b.unary(M.Alarm, { action: DEACTIVATE, memberID, alarm: NOSPACE });
      const cleared = await c.unary(M.Alarm, { action: GET, memberID: 0n, alarm: NONE });
      assert.deepEqual(cleared.alarms, [], `round ${i}: disarmed`);
    }
  });

  test('a member that has not applied an alarm never answers a GET without it', async () => {
    const leader = await cluster.waitLeader();
    const lagging = (leader + 1) % 3;
    const other = (leader + 2) % 3;
    const { header } = await clients[other]!.unary(M.Status, {});
    const memberID = header!.memberId;
    // the leader's messages no longer reach `lagging`: it misses the alarm (the other two commit it)
    await cluster.blockOneWay(leader, lagging);
    try {
      await clients[other]!.unary(M.Alarm, { action: ACTIVATE, memberID, alarm: NOSPACE });
      const stale = await clients[lagging]!.unary(
        M.Alarm,
        { action: GET, memberID: 0n, alarm: NONE },
        { timeoutMs: 1500 },
      ).then(
        (r) => r.alarms.map((x) => [x.memberID, x.alarm]),
        () => 'no answer',
      );
      // etcd would not answer either: its GET goes through Raft
      assert.notDeepEqual(stale, [], 'answered without the alarm committed before it');
    } finally {
      await cluster.heal();
    }
    const now = await clients[lagging]!.unary(M.Alarm, { action: GET, memberID: 0n, alarm: NONE }, { timeoutMs: 5000 });
    assert.deepEqual(
      now.alarms.map((x) => [x.memberID, x.alarm]),
      [[memberID, NOSPACE]],
    );
    await clients[lagging]!.unary(M.Alarm, { action: DEACTIVATE, memberID, alarm: NOSPACE });
  });
});
