// etcdctl 3.5's operator commands where three members matter, against a 3-member etcd 3.5.30 cluster
// and a 3-member Conclave cluster (same member names m0..m2, same election timing): move-leader,
// endpoint status/health/hashkv of every member (--cluster), member list, alarms, defrag. Member IDs
// differ between the clusters (they derive from the peer URLs), so they are masked by member name;
// the leader is first put on m0 on both sides so that who leads is the same. Raft terms and indexes
// depend on how the elections at start went (a loaded machine can cause an extra one), so outputs
// are compared without them, and each step must move them by the same amount on both sides.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { EtcdctlResult } from '../helpers/etcdctl.js';
import { errorLines, etcdctl35, maskOutput } from '../helpers/etcd35.js';
import { etcd35AndConclaveClusters } from '../helpers/side-by-side-clusters.js';

interface Side {
  endpoints: string[];
  /** Member ID (hex and decimal) → member name. */
  ids: Map<string, string>;
  /** Member name → ID in hex. */
  hex: Map<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sideOf(endpoints: string[]): Promise<Side> {
  const r = await etcdctl35(endpoints.join(','), ['-w', 'json', 'member', 'list', '--hex']);
  assert.equal(r.code, 0, r.stderr);
  const side: Side = { endpoints, ids: new Map(), hex: new Map() };
  const list = JSON.parse(r.stdout) as { header: { cluster_id: string }; members: Array<{ ID: string; name: string }> };
  side.ids.set(list.header.cluster_id, 'CLUSTER');
  side.ids.set(BigInt(`0x${list.header.cluster_id}`).toString(), 'CLUSTER');
  for (const m of list.members) {
    side.ids.set(m.ID, m.name);
    side.ids.set(BigInt(`0x${m.ID}`).toString(), m.name);
    side.hex.set(m.name, m.ID);
  }
  return side;
}

describe('etcdctl 3.5 on three members: etcd 3.5.30 and Conclave', () => {
  const clusters = etcd35AndConclaveClusters(3);
  let sides: [Side, Side];

  before(async () => {
    const { etcd, conclave } = clusters;
    const eps: [string[], string[]] = [etcd.endpoints, conclave.members.map((m) => m.endpoint)];
    sides = (await Promise.all(eps.map(sideOf))) as [Side, Side];
  });

  /** A member's ID (hex) on one side, by name. */
  const idOf = (side: Side, name: string): string => side.hex.get(name)!;

  /**
   * Runs a command on both clusters (`args` may depend on the side); asserts the same exit code and,
   * after masking (and sorting lines when `sorted`), the same output and errors.
   */
  async function same(
    args: string[] | ((s: Side) => string[]),
    opts: { endpoints?: (s: Side) => string[]; sorted?: boolean; mask?: (t: string) => string } = {},
  ): Promise<[EtcdctlResult, EtcdctlResult]> {
    const res = (await Promise.all(
      sides.map((s) =>
        etcdctl35((opts.endpoints?.(s) ?? s.endpoints).join(','), typeof args === 'function' ? args(s) : args),
      ),
    )) as [EtcdctlResult, EtcdctlResult];
    const view = (t: string, i: number) => {
      let out = maskOutput(t, sides[i]!.ids)
        .replace(/, \d+, \d+, \d+, (.*)$/gm, ', TERM, INDEX, INDEX, $1')
        .replace(/"(raftTerm|raftIndex|raftAppliedIndex|raft_term)":\d+/g, '"$1":N');
      if (opts.mask) out = opts.mask(out);
      return opts.sorted ? out.split('\n').sort().join('\n') : out;
    };
    const what = `etcdctl ${(typeof args === 'function' ? args(sides[1]) : args).join(' ')}`;
    const [a, b] = res;
    assert.equal(b.code, a.code, `${what}: exit code (etcd: ${a.stdout}${a.stderr}; conclave: ${b.stdout}${b.stderr})`);
    assert.equal(view(b.stdout, 1), view(a.stdout, 0), `${what}: stdout`);
    assert.equal(view(errorLines(b), 1), view(errorLines(a), 0), `${what}: errors`);
    return res;
  }

  /** The highest raft term and index any member of a side reports. */
  async function raft(side: Side): Promise<[number, number]> {
    const r = await etcdctl35(side.endpoints.join(','), ['-w', 'json', 'endpoint', 'status']);
    const st = (JSON.parse(r.stdout) as Array<{ Status: { raftTerm: number; raftIndex: number } }>).map(
      (x) => x.Status,
    );
    return [Math.max(...st.map((x) => x.raftTerm)), Math.max(...st.map((x) => x.raftIndex))];
  }

  /** Runs `step`; raft terms and indexes must move by as much on both sides. */
  async function sameProgress(label: string, step: () => Promise<unknown>): Promise<void> {
    const before = await Promise.all(sides.map(raft));
    await step();
    await sleep(500); // followers learn the commit index with the next heartbeat
    const after = await Promise.all(sides.map(raft));
    const delta = (i: number) => [after[i]![0] - before[i]![0], after[i]![1] - before[i]![1]];
    assert.deepEqual(delta(1), delta(0), `${label}: raft term and index moved by [term, index]`);
  }

  /** Makes m0 the leader on one side (not compared: who led first is up to the election). */
  async function leadFromM0(side: Side): Promise<void> {
    const r = await etcdctl35(side.endpoints.join(','), ['move-leader', idOf(side, 'm0')]);
    assert.ok(r.code === 0 || /bad leader transferee/.test(r.stderr), r.stderr);
  }

  test('move-leader, then endpoint status, health and hashkv of every member, member list, alarms, defrag', async () => {
    await Promise.all(sides.map(leadFromM0));
    await sameProgress('put', () => same(['put', 'k', 'v']));
    await sameProgress('move-leader', () => same((s) => ['move-leader', idOf(s, 'm1')]));
    await sameProgress('alarm list', () => same(['alarm', 'list']));
    await same(['endpoint', 'status']);
    await same(['-w', 'json', 'endpoint', 'status']);
    await same(['endpoint', 'status', '--cluster'], { sorted: true });
    await same(['endpoint', 'health', '--cluster'], { sorted: true });
    await same(['endpoint', 'hashkv', '--cluster'], { sorted: true });
    await same(['member', 'list'], { sorted: true });
    // IDs of different lengths pad the table's cells differently: compare cells, not padding
    await same(['-w', 'table', 'member', 'list'], {
      sorted: true,
      mask: (t) => t.replace(/ +/g, ' ').replace(/─+/g, '─'),
    });
    await same(['alarm', 'list']);
    await same(['defrag', '--cluster'], { sorted: true });
    // move-leader through a follower's endpoint only, to itself, to an unknown member
    await same((s) => ['move-leader', idOf(s, 'm2')], { endpoints: (s) => [s.endpoints[0]!] });
    await same((s) => ['move-leader', idOf(s, 'm1')]);
    await same(['move-leader', 'ffff']);
    await sameProgress('move-leader', () => same((s) => ['move-leader', idOf(s, 'm2')]));
    await same(['endpoint', 'status']);
    await sameProgress('put', () => same(['put', 'k', 'w']));
    await same(['-w', 'json', 'endpoint', 'status']);
  });
});
