// Runs every program in examples/ against a Conclave server started in this process (port 0), the
// way a newcomer runs them against `npm start`: one command, the endpoint in ETCD_ENDPOINTS. The
// examples run side by side (they use separate key prefixes); each test checks one's output.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, type ServerHandle } from '@conclave/server';
import { repoRoot } from '../helpers/process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

const EXAMPLES = ['lock', 'election', 'registry', 'config', 'queue'] as const;

function runExample(name: string, endpoint: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=conclave-source', '--import', 'tsx', join('examples', name, 'index.ts')],
      {
        cwd: repoRoot,
        env: { ...process.env, ETCD_ENDPOINTS: endpoint },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines: stdout.trim().split('\n') });
    });
  });
}

/** `seen` is `all` with some entries left out (a view that skips to the newest state may skip some), in order. */
function assertSubsequence(seen: string[], all: string[]): void {
  let j = 0;
  for (const s of seen) {
    while (j < all.length && all[j] !== s) j++;
    assert.ok(j < all.length, `unexpected or out-of-order state ${JSON.stringify(s)} in ${JSON.stringify(seen)}`);
    j++;
  }
}

/** Index of the first line matching `re` (after `from`); fails if none. */
function lineOf(run: Run, re: RegExp, from = -1): number {
  const i = run.lines.findIndex((l, j) => j > from && re.test(l));
  assert.ok(i >= 0, `no line matching ${re} after line ${from} in:\n${run.stdout}\n${run.stderr}`);
  return i;
}

describe('examples', () => {
  let dir: string;
  let server: ServerHandle;
  const runs = new Map<string, Promise<Run>>();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conclave-examples-'));
    server = await startServer({ dataDir: dir, logLevel: 'error' });
    for (const name of EXAMPLES) runs.set(name, runExample(name, server.endpoint));
  });
  after(async () => {
    await Promise.allSettled(runs.values());
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const result = async (name: string): Promise<Run> => {
    const r = await runs.get(name)!;
    assert.equal(r.code, 0, `examples/${name} exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  test('lock: one holder at a time, fencing tokens increase, a stale holder is refused', {
    timeout: 60_000,
  }, async () => {
    const r = await result('lock');
    const tokens = r.lines
      .filter((l) => /^worker-\d: holds the lock/.test(l))
      .map((l) => BigInt(/fencing token (\d+)/.exec(l)![1]!));
    assert.equal(tokens.length, 9);
    for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!);
    assert.ok(!r.stdout.includes('REFUSED') && !r.stdout.includes('unsafe'), r.stdout);
    lineOf(r, /^counter = 9 /);
    const told = lineOf(r, /^paused-worker: told the lock is lost \(session-lost: SessionExpiredError\)$/);
    const next = lineOf(r, /^worker-4: got the lock after the paused worker's session expired/);
    assert.ok(told < next, 'the paused holder is told before the next one gets the lock');
    lineOf(r, /^paused-worker: wakes up and writes with its old lock: refused by the fencing guard$/, next);
    lineOf(r, /^counter = 10 /);
  });

  test('election: failover after a crash, resign hands over, the observer reports every change', {
    timeout: 60_000,
  }, async () => {
    const r = await result('election');
    const observed = r.lines.filter((l) => l.startsWith('observer: ')).map((l) => l.replace(/, term \d+\)/, ')'));
    assert.deepEqual(observed, [
      'observer: no leader',
      'observer: leader is candidate-1 (value "candidate-1 starting")',
      'observer: leader is candidate-1 (value "candidate-1 serving")',
      'observer: leader is candidate-2 (value "candidate-2 standing by")',
      'observer: leader is candidate-2 (value "candidate-2 serving")',
      'observer: leader is candidate-3 (value "candidate-3 standing by")',
      'observer: no leader',
    ]);
    const crash = lineOf(r, /^candidate-1: crashes without resigning$/);
    const after = Number(
      /elected after ([\d.]+) s/.exec(r.lines[lineOf(r, /^candidate-2: elected after/, crash)]!)![1],
    );
    assert.ok(after > 0.5 && after < 5, `failover took ${after} s with a 2 s lease`);
    lineOf(r, /^candidate-3: elected/, lineOf(r, /^candidate-2: resigns$/));
    lineOf(r, /^done: 7 leader changes observed$/);
  });

  test('registry: discovery, round-robin, a crashed instance drops out within its TTL', {
    timeout: 60_000,
  }, async () => {
    const r = await result('registry');
    const watched = r.lines.filter((l) => l.startsWith('watch: '));
    const states = [
      'watch: api instances = [none]',
      'watch: api instances = [api-a@127.0.0.1:8081]',
      'watch: api instances = [api-a@127.0.0.1:8081, api-b@127.0.0.1:8082]',
      'watch: api instances = [api-a@127.0.0.1:8081]',
      'watch: api instances = [none]',
    ];
    assertSubsequence(watched, states);
    assert.equal(watched[0], states[0]);
    assert.ok(watched.includes(states[2]!));
    assert.equal(watched.at(-1), states[4]);
    lineOf(r, /^discover: \[api-a@127\.0\.0\.1:8081, api-b@127\.0\.0\.1:8082\]$/);
    const picks = r.lines.filter((l) => /^request \d -> /.test(l)).map((l) => l.split(' -> ')[1]);
    assert.deepEqual(picks, ['api-a', 'api-b', 'api-a', 'api-b', 'api-a', 'api-a', 'no instance available']);
    const gone = Number(
      /gone from the registry ([\d.]+) s/.exec(r.lines[lineOf(r, /^api-b: gone from the registry/)]!)![1],
    );
    assert.ok(gone <= 4, `a crashed instance stayed ${gone} s with a 2 s TTL`);
  });

  test('config: atomic multi-key reloads, a broken value rejected, the last good config kept', {
    timeout: 60_000,
  }, async () => {
    const r = await result('config');
    const reloads = r.lines.filter((l) => l.startsWith('app: reloaded')).map((l) => l.replace(/ \(revision \d+\)/, ''));
    // every reload is one of the operator's whole changes (never part of one), in order, ending with the last
    const valid = [
      'app: reloaded: logLevel=info maxConnections=500 features=[fast-path,new-ui]',
      'app: reloaded: logLevel=debug maxConnections=250 features=[fast-path,new-ui]',
      'app: reloaded: logLevel=debug maxConnections=250 features=[new-ui]',
    ];
    assertSubsequence(reloads, valid);
    assert.equal(reloads.at(-1), valid[2]);
    lineOf(
      r,
      /^app: rejected new configuration \(invalid configuration at revision \d+: max-connections must be a positive integer\); keeping the current one$/,
    );
    lineOf(r, /^app: still running with logLevel=info maxConnections=500 features=\[fast-path,new-ui\]$/);
    lineOf(r, /^app: final configuration logLevel=debug maxConnections=250 features=\[new-ui\]$/);
  });

  test('queue: every job processed exactly once; priority order', { timeout: 60_000 }, async () => {
    const r = await result('queue');
    const processed = r.lines.filter((l) => /^worker-\d: processed job-\d+$/.test(l)).map((l) => l.split(' ')[2]);
    assert.deepEqual([...processed].sort(), Array.from({ length: 12 }, (_, i) => `job-${i + 1}`).sort());
    assert.ok(!r.stdout.includes('ALREADY'), r.stdout);
    lineOf(r, /^12 of 12 jobs processed, each exactly once/);
    lineOf(r, /^priority queue order: restore failed payment > rebuild search index > rotate logs > send newsletter$/);
  });
});
