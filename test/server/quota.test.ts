// --quota-backend-bytes against etcd 3.4 and Conclave with the same etcdctl session (etcd's own
// TestCtlV3Alarm, with its 13-page quota): a small put fits, 4 KiB puts fill the quota until
// "database space exceeded" raises NOSPACE for the member, /health turns false, writes (Put, Txn
// with Puts, LeaseGrant) are refused while reads, Txns without Puts and deletes work; compact +
// defragment + `alarm disarm` lets writes resume.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdctl } from '../helpers/etcdctl.js';
import { startServer, type ServerKind } from '../helpers/process.js';
import { waitFor } from '../helpers/tmp.js';

const PAGE = 4096;
const NOSPACE = 'etcdserver: mvcc: database space exceeded';

async function run(kind: ServerKind): Promise<{ fills: number }> {
  const s = await startServer(kind, { args: ['--quota-backend-bytes', String(13 * PAGE)] });
  const ctl = (...args: string[]) => etcdctl(s.endpoint, args);
  try {
    assert.equal((await ctl('put', '1st_test', 'a'.repeat(64))).code, 0);
    // the ID as written (a JSON number beyond 2^53)
    const id = /"ID":(\d+)/.exec((await ctl('member', 'list', '-w', 'json')).stdout)?.[1];
    let fills = 0;
    for (;;) {
      const r = await ctl('put', '2nd_test', 'b'.repeat(PAGE));
      if (r.code !== 0) {
        assert.match(r.stderr, new RegExp(NOSPACE));
        break;
      }
      fills++;
      assert.ok(fills < 40, `${kind}: quota never tripped`);
    }
    // etcd raises the alarm through Raft after refusing the put (asynchronously): wait for it
    const alarms = await waitFor(
      'the NOSPACE alarm',
      async () => (await ctl('alarm', 'list')).stdout || undefined,
      10_000,
      50,
    );
    assert.equal(alarms, `memberID:${id} alarm:NOSPACE \n`);
    assert.equal(await fetch(`${s.clientUrl}/health`).then((r) => r.text()), '{"health":"false"}\n');
    const small = await ctl('put', '3rd_test', 'a'.repeat(64));
    assert.match(small.stderr, new RegExp(NOSPACE));
    const lease = await ctl('lease', 'grant', '100');
    assert.match(lease.stderr, new RegExp(NOSPACE));
    const txnPut = await etcdctl(s.endpoint, ['txn'], { input: '\nput t x\n\n\n' });
    assert.match(txnPut.stderr, new RegExp(NOSPACE));
    const txnRead = await etcdctl(s.endpoint, ['txn'], { input: '\nget 1st_test\n\n\n' });
    assert.equal(txnRead.code, 0, txnRead.stderr);
    assert.equal((await ctl('get', '1st_test', '--print-value-only')).stdout, `${'a'.repeat(64)}\n`);
    assert.equal((await ctl('del', '3rd_test')).code, 0);

    const rev = JSON.parse((await ctl('endpoint', 'status', '-w', 'json')).stdout)[0].Status.header.revision as number;
    assert.equal((await ctl('compact', String(rev), '--physical')).code, 0);
    assert.equal((await ctl('defrag')).code, 0);
    assert.equal((await ctl('alarm', 'disarm')).stdout, `memberID:${id} alarm:NOSPACE \n`);
    assert.equal((await ctl('put', '4th_test', 'a'.repeat(64))).code, 0);
    assert.equal((await ctl('alarm', 'list')).stdout, '');
    return { fills };
  } finally {
    await s.stop();
  }
}

describe('backend quota (etcd TestCtlV3Alarm)', () => {
  test('etcd 3.4 and Conclave both trip NOSPACE after a few 4 KiB puts and recover the same way', async () => {
    const etcd = await run('etcd');
    const conclave = await run('conclave');
    // the same data trips both quotas within a few pages of each other (LMDB and bbolt page differently)
    assert.ok(
      Math.abs(etcd.fills - conclave.fills) <= 3,
      `etcd after ${etcd.fills} puts, conclave after ${conclave.fills}`,
    );
  });
});
