// Auto compaction (--auto-compaction-mode revision|periodic, --auto-compaction-retention). etcd's
// revision compactor checks every 5 minutes, so the compactor module is exercised in-process with a
// short check interval: against a real member (startMember, compaction through Raft, reads of old
// revisions then fail with etcd's compacted error) and against a stand-in member (leader-only, retry
// after a failed compaction). The flags themselves are checked to reach the compactor's config.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GrpcCode } from '@conclave/api';
import { type AutoCompactionConfig, parseConfig } from '../../packages/server/src/config/index.js';
import type { MemberHandle } from '../../packages/server/src/embed/start.js';
import {
  startAutoCompaction,
  type AutoCompactor,
  type CompactionTarget,
} from '../../packages/server/src/etcdserver/auto-compact.js';
import { createLogger, type Logger } from '../../packages/server/src/log/index.js';
import { callError, RawClient } from '../helpers/grpc.js';
import { loopbackFlags, startInProcess } from '../helpers/in-process.js';
import { tempDir, waitFor } from '../helpers/tmp.js';

const dir = tempDir('conclave-autocompact');
let lines: string[] = [];
const logger: Logger = createLogger({ level: 'info', write: (d) => lines.push(...d.split('\n').filter(Boolean)) });
const logged = (msg: string): Array<Record<string, unknown>> => {
  logger.flush();
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === msg);
};

let member: MemberHandle;
let client: RawClient;
const compactors: AutoCompactor[] = [];

const dataDir = join(dir.path, 'm.etcd');
const flags = (extra: string[] = []): string[] => loopbackFlags(dataDir, extra);

before(async () => {
  let endpoint: string;
  ({ member, endpoint } = await startInProcess(dataDir, ['--log-level=warn'], {
    logger: createLogger({ level: 'warn', write: () => {} }),
  }));
  client = new RawClient(endpoint);
});

after(async () => {
  for (const c of compactors) c.stop();
  client?.close();
  await member?.close();
  dir.cleanup();
});

/** Starts a compactor over `target` checking every `checkMs`; after() stops it if its test did not. */
function compactor(target: CompactionTarget, cfg: AutoCompactionConfig, checkMs: number): AutoCompactor {
  const c = startAutoCompaction(target, cfg, logger, { checkMs });
  assert.ok(c, 'a compactor');
  compactors.push(c);
  return c;
}

async function putN(n: number): Promise<number> {
  let rev = 0;
  for (let i = 0; i < n; i++) rev = Number((await client.put(`k${i % 5}`, `v${i}`)).header!.revision);
  return rev;
}

async function expectCompacted(rev: number): Promise<void> {
  const e = await callError(() => client.get('k0', rev));
  assert.deepEqual(
    [e.code, e.details],
    [GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
  );
}

describe('flags', () => {
  test('--auto-compaction-mode / --auto-compaction-retention reach the compactor config', () => {
    const rev = parseConfig(
      flags(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '10']),
      {},
    ).autoCompaction;
    assert.deepEqual([rev.mode, rev.retentionRevisions], ['revision', 10]);
    const per = parseConfig(
      flags(['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '90s']),
      {},
    ).autoCompaction;
    assert.deepEqual([per.mode, per.retentionMs], ['periodic', 90_000]);
    const hours = parseConfig(flags(['--auto-compaction-retention', '2']), {}).autoCompaction;
    assert.deepEqual([hours.mode, hours.retentionMs], ['periodic', 2 * 3_600_000]);
    const off = parseConfig(flags(), {}).autoCompaction;
    assert.equal(startAutoCompaction(member.server, off, logger), null);
  });
});

describe('against a member', () => {
  test('revision mode keeps the last 10 revisions', async () => {
    const cfg = parseConfig(
      flags(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '10']),
      {},
    ).autoCompaction;
    const rev = await putN(30);
    const c = compactor(member.server, cfg, 40);
    await waitFor(
      'compaction to rev - 10',
      () => (member.server.store.compactRevision === rev - 10 ? true : undefined),
      5000,
    );
    await expectCompacted(rev - 11);
    assert.ok(await client.get('k0', rev - 10), 'the retained history is readable');
    const started = logged('starting auto revision compaction');
    assert.deepEqual(
      started.map((e) => [e.revision, e['revision-compaction-retention']]),
      [[rev - 10, 10]],
    );
    await waitFor(
      'completion log',
      () => (logged('completed auto revision compaction').length === 1 ? true : undefined),
      2000,
    );

    // No writes: nothing more to do. More writes: it follows.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(logged('starting auto revision compaction').length, 1);
    const rev2 = await putN(7);
    await waitFor(
      'compaction to rev2 - 10',
      () => (member.server.store.compactRevision === rev2 - 10 ? true : undefined),
      5000,
    );
    await expectCompacted(rev2 - 11);
    c.stop();
    // Stopped: writes no longer lead to compactions.
    const rev3 = await putN(5);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(member.server.store.compactRevision, rev2 - 10);
    assert.ok(await client.get('k0', rev3 - 10));
  });

  test('periodic mode keeps the history of the retention window', async () => {
    const retentionMs = 1200;
    const cfg = { mode: 'periodic' as const, retention: '1.2s', retentionMs, retentionRevisions: 0 };
    lines = [];
    const c = compactor(member.server, cfg, 40);
    const a = await putN(5);
    const aAt = Date.now();
    await new Promise((r) => setTimeout(r, 150));
    const b = await putN(5);
    const bAt = Date.now();
    // Revisions written within the window are still there.
    assert.ok(
      member.server.store.compactRevision < a,
      `compacted to ${member.server.store.compactRevision} within the window`,
    );
    assert.ok(await client.get('k0', a - 1));

    await waitFor('compaction to a', () => (member.server.store.compactRevision >= a ? true : undefined), 5000, 10);
    assert.ok(Date.now() - aAt >= retentionMs, `compacted to ${a} only ${Date.now() - aAt} ms after it was current`);
    await waitFor('compaction to b', () => (member.server.store.compactRevision === b ? true : undefined), 5000, 10);
    assert.ok(Date.now() - bAt >= retentionMs);
    await expectCompacted(b - 1);
    const started = logged('starting auto periodic compaction');
    assert.ok(started.length >= 2);
    assert.equal(started[0]!['compact-period'], '1.2s');
    c.stop();
  });
});

/** A stand-in member whose compaction proposals fail while `failing` is set. */
class FakeMember implements CompactionTarget {
  isLeader = true;
  failing = 0;
  proposals: number[] = [];
  store = { currentRevision: 1, compactRevision: -1 };
  propose<T>(_kind: number, body: Uint8Array): Promise<T> {
    const rev = body[1]!; // CompactionRequest { revision = 1 } with a one-byte varint
    this.proposals.push(rev);
    if (this.failing > 0) {
      this.failing--;
      return Promise.reject(new Error('etcdserver: request timed out'));
    }
    this.store.compactRevision = rev;
    return Promise.resolve({} as T);
  }
}

/** Revision mode keeping the last 10 revisions. */
const keep10: AutoCompactionConfig = { mode: 'revision', retention: '10', retentionMs: 0, retentionRevisions: 10 };

describe('compactor rules', () => {
  test('only the leader compacts', async () => {
    const m = new FakeMember();
    m.isLeader = false;
    m.store.currentRevision = 50;
    const c = compactor(m, keep10, 10);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(m.proposals, []);
    m.isLeader = true;
    await waitFor('a compaction once leader', () => (m.proposals.length > 0 ? true : undefined), 2000, 5);
    assert.deepEqual(m.proposals, [40]);
    // its log comes once the proposal settles: wait for it, or it lands in the next test's lines
    await waitFor(
      'its log',
      () => (logged('completed auto revision compaction').some((e) => e.revision === 40) ? true : undefined),
      2000,
      5,
    );
    c.stop();
  });

  test('a failed compaction is tried again at the next check, as etcd does', async () => {
    const m = new FakeMember();
    m.store.currentRevision = 30;
    m.failing = 2;
    lines = [];
    const c = compactor(m, keep10, 10);
    await waitFor('compaction after two failures', () => (m.store.compactRevision === 20 ? true : undefined), 2000, 5);
    assert.deepEqual(m.proposals, [20, 20, 20]);
    await waitFor(
      'logs',
      () => (logged('completed auto revision compaction').length === 1 ? true : undefined),
      5000,
      5,
    );
    assert.equal(logged('failed auto revision compaction').length, 2);
    assert.equal(logged('failed auto revision compaction')[0]!.error, 'etcdserver: request timed out');
    // Done: no more proposals while the revision stays.
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(m.proposals.length, 3);
    c.stop();
  });

  test('periodic: a failed compaction is tried again', async () => {
    const m = new FakeMember();
    m.store.currentRevision = 9;
    m.failing = 1;
    const c = compactor(m, { mode: 'periodic', retention: '50ms', retentionMs: 50, retentionRevisions: 0 }, 10);
    await waitFor('compaction', () => (m.store.compactRevision === 9 ? true : undefined), 2000, 5);
    assert.deepEqual(m.proposals, [9, 9]);
    c.stop();
  });
});
