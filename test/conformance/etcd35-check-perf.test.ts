// `etcdctl check perf` (etcdctl 3.5, the small workload: 60 s of rate-limited puts under a prefix,
// then the keys are deleted, with --auto-compact and --auto-defrag) against etcd 3.5.30 and
// Conclave, one after the other so that neither run slows the other. Throughput and latencies are
// the machine's (a shared machine can fail a criterion on either server), so figures and the
// PASS/FAIL verdicts are masked; what must agree is the report's shape, the error lines, and what
// the check leaves behind: its prefix empty, history compacted to the last revision. (How many puts
// fit in the 60 s is the machine's too, so the revisions reached differ.)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EtcdctlResult } from '../helpers/etcdctl.js';
import { errorLines, etcdctl35 } from '../helpers/etcd35.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const PREFIX = '/etcdctl-check-perf/';

/** The report's lines: each verdict line, passed or failed (a slow request fails without "FAIL:"). */
const RESULT_LINE = /^(PASS|FAIL|Error|Slowest request took too long)/;

/**
 * The report with figures and verdicts masked: "RESULT: Throughput is N writes/s", ... A failed
 * criterion reads as the passed one ("FAIL: Throughput too low: N writes/s", "Slowest request took
 * too long: Ns", "FAIL: Stddev too high: Ns"), since the verdict is the machine's.
 */
function shape(r: EtcdctlResult): string {
  return `${r.stdout}\n${errorLines(r)}`
    .split('\n')
    .filter((l) => RESULT_LINE.test(l))
    .map((l) =>
      l
        .replace(/^FAIL: Throughput too low:/, 'PASS: Throughput is')
        .replace(/^Slowest request took too long:/, 'PASS: Slowest request took')
        .replace(/^FAIL: Stddev too high:/, 'PASS: Stddev is')
        .replace(/^(PASS|FAIL)/, 'RESULT')
        .replace(/\d+(\.\d+)?/g, 'N'),
    )
    .join('\n');
}

describe('etcdctl check perf against etcd 3.5.30 and Conclave', () => {
  let servers: [ServerProcess, ServerProcess];

  before(async () => {
    servers = await Promise.all([startServer('etcd35'), startServer('conclave')]);
  });
  after(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
  });

  test('the small workload: the same report, the prefix emptied, history compacted', { timeout: 300_000 }, async () => {
    const runs: EtcdctlResult[] = [];
    for (const s of servers)
      runs.push(
        await etcdctl35(s.endpoint, ['check', 'perf', '--load', 's', '--auto-compact', '--auto-defrag'], {
          timeoutMs: 150_000,
        }),
      );
    const [e, c] = runs as [EtcdctlResult, EtcdctlResult];
    const report = (r: EtcdctlResult) => r.stdout.split('\n').filter((l) => RESULT_LINE.test(l));
    // the figures, for whoever reads the log
    console.log(`etcd: ${report(e).join(' | ')}\nconclave: ${report(c).join(' | ')}`);
    assert.equal(shape(c), shape(e));
    assert.match(
      shape(c),
      /^RESULT: Throughput is N writes\/s\nRESULT: Slowest request took N\.?N?s\nRESULT: Stddev is N\.?N?s\nRESULT$/,
    );
    // what the check leaves behind
    const after = await Promise.all(
      servers.map(async (s) => {
        // etcdctl 3.5.30 allows --count-only with the fields format only
        const count = await etcdctl35(s.endpoint, ['get', PREFIX, '--prefix', '--count-only', '-w', 'fields']);
        const field = (name: string) => Number(new RegExp(`^"${name}" : (\\d+)$`, 'm').exec(count.stdout)?.[1]);
        const old = await etcdctl35(s.endpoint, ['get', 'x', '--rev', '1']);
        return { count: field('Count'), old: errorLines(old), wrote: field('Revision') > 1000 };
      }),
    );
    assert.deepEqual(after[1], after[0]);
    assert.equal(after[1]!.count, 0);
    assert.equal(after[1]!.old, 'Error: etcdserver: mvcc: required revision has been compacted');
  });
});
