#!/usr/bin/env node
// `npm run test:etcd-e2e`: etcd's own end-to-end suite (etcd 3.4.23's tests/e2e, from Debian's
// golang-etcd-server-dev) against the built `conclave`. The suite starts `etcd` from a bin dir: here
// that is a wrapper that runs packages/server/dist/cli.js (etcdctl is Debian's). Each test named in
// test/etcd-e2e/targets.txt runs in its own process with a time limit, so one test that hangs or
// panics cannot take the others with it; members it leaves behind are killed (only processes the
// wrappers started). The suite uses fixed ports (20000 and up): runs take /tmp/e2e.lock.
//
//   npm run test:etcd-e2e [-- [REGEX] [--server PATH] [--timeout SECONDS] [--retries N]]
//     REGEX    runs only the target names it matches (e.g. '^TestCtlV3Watch')
//     --server the binary to test instead of conclave (e.g. /usr/bin/etcd, the reference)
//
// A test that fails is run once more after the others (--retries N, default 1): several of the suite's
// tests are bound by wall-clock time (100 curl processes must open their watches within a 3 s sleep;
// 50 to 400 etcdctl commands within 15 or 60 s), and a member's pause on a busy two-core machine fails
// them for etcd too. Every first failure is printed all the same ("FLAKY" when the retry passed).
// Prints one line per failing test (the first failing assertion and the first line a member printed
// that is not a log line), then "etcd-e2e: P/N passed"; exits 0 only when all passed. Logs:
// ~/.cache/conclave-etcd-e2e/logs/<test>.log (the test) and <test>.members (the members' command
// lines and stderr); E2E_CACHE moves that folder. Do not rebuild while it runs: members start from
// packages/server/dist throughout the run.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ensureEtcd, ensureInstalled, root } from './ensure.mjs';

const LOCK = '/tmp/e2e.lock';
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const serverArg = opt('--server');
const perTestS = Number(opt('--timeout') ?? process.env.E2E_TEST_S ?? 180);
const retries = Number(opt('--retries') ?? 1);
const pattern = new RegExp(argv[0] ?? '.');

// One run at a time on this machine: the suite's ports are fixed.
if (process.env.CONCLAVE_E2E_LOCKED !== '1') {
  const r = spawnSync('flock', [LOCK, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, CONCLAVE_E2E_LOCKED: '1' },
  });
  if (r.error) {
    console.error(`etcd-e2e: cannot take ${LOCK} with flock: ${r.error.message}`);
    process.exit(2);
  }
  process.exit(r.status ?? 1);
}

ensureInstalled();
ensureEtcd({ curl: true });
if (!serverArg) ensureBuilt();
const server = serverArg ?? join(root, 'packages/server/dist/cli.js');
if (!existsSync(server)) {
  console.error(`etcd-e2e: no server binary at ${server}`);
  process.exit(2);
}

// Outside node_modules: npm ci would delete the compiled suite (minutes of Go compiling) mid-run.
const cache =
  process.env.E2E_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'conclave-etcd-e2e');
const logs = join(cache, 'logs');
const bin = join(cache, 'bin');
const runDir = join(cache, 'run', 'here');
for (const d of [logs, bin, runDir]) mkdirSync(d, { recursive: true });

// The suite's sources, from Debian's package, and its compiled test binary (per package version).
const gocode = '/usr/share/gocode';
const src = join(gocode, 'src/go.etcd.io/etcd');
// dpkg-query's own ${Version} placeholder, not a JavaScript one
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format string
const pkgVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'golang-etcd-server-dev'], { encoding: 'utf8' });
const testBin = join(cache, `e2e-${pkgVersion.replace(/[^\w.+-]/g, '_')}.test`);
if (!existsSync(testBin)) {
  console.log(`> compiling etcd's e2e suite (golang-etcd-server-dev ${pkgVersion})`);
  const r = spawnSync('go', ['test', '-c', '-o', testBin, '.'], {
    cwd: join(src, 'tests/e2e'),
    stdio: 'inherit',
    env: { ...process.env, GO111MODULE: 'off', GOPATH: gocode, GOCACHE: join(cache, 'gocache'), GOFLAGS: '' },
  });
  if (r.status !== 0) {
    console.error("etcd-e2e: could not compile etcd's e2e suite");
    process.exit(2);
  }
}

// Wrappers: record the pid of every process the suite starts (so leftovers can be killed, and only
// those), and keep each member's command line and stderr for the failure report.
const pids = join(cache, 'pids');
const members = join(logs, 'current.members');
const wrapper = (target, keepStderr) =>
  [
    '#!/bin/bash',
    `echo $$ >>'${pids}'`,
    keepStderr ? `echo "etcd $*" >>'${members}'` : '',
    keepStderr ? `exec '${target}' "$@" 2> >(tee -a '${members}' >&2)` : `exec '${target}' "$@"`,
    '',
  ].join('\n');
const etcdctl = execFileSync('sh', ['-c', 'command -v etcdctl'], { encoding: 'utf8' }).trim();
writeFileSync(join(bin, 'etcd'), wrapper(server, true));
writeFileSync(join(bin, 'etcdctl'), wrapper(etcdctl, false));
chmodSync(join(bin, 'etcd'), 0o755);
chmodSync(join(bin, 'etcdctl'), 0o755);
// The suite reads its JWT keys at ../../integration/fixtures, relative to where it runs.
mkdirSync(join(cache, 'integration'), { recursive: true });
const fixtures = join(cache, 'integration/fixtures');
let linked = null;
try {
  linked = readlinkSync(fixtures);
} catch {}
if (linked !== join(src, 'integration/fixtures')) {
  rmSync(fixtures, { force: true, recursive: true });
  symlinkSync(join(src, 'integration/fixtures'), fixtures);
}

/** Kills every process a wrapper started that is still alive (checked against its command line). */
function killLeftovers() {
  if (!existsSync(pids)) return;
  for (const line of readFileSync(pids, 'utf8').split('\n')) {
    const pid = Number(line);
    if (!pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone
    }
    if (!cmd.includes(server) && !cmd.includes(etcdctl) && !cmd.includes(bin)) continue; // pid reused
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(pids, { force: true });
}

let current = null;
// Interrupted: stop the running test and everything the wrappers started, then exit.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    current?.kill('SIGKILL');
    killLeftovers();
    process.exit(130);
  });
}

function runOne(name) {
  return new Promise((resolve) => {
    writeFileSync(members, '');
    const log = join(logs, `${name}.log`);
    const out = [];
    const child = spawn(
      testBin,
      [
        '-bin-dir',
        bin,
        '-cert-dir',
        join(src, 'integration/fixtures'),
        '-test.run',
        `^${name}$`,
        '-test.v',
        '-test.timeout',
        `${perTestS + 60}s`,
      ],
      // The 3.4 suite compares version strings (/metrics) with its own 3.4.23: Conclave, which
      // reports 3.5.30 by default, reports 3.4.23 here (docs/etcd-3.5.md; etcd ignores the variable).
      { cwd: runDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONCLAVE_ETCD_VERSION: '3.4.23' } },
    );
    current = child;
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    const timer = setTimeout(() => {
      out.push(Buffer.from(`\netcd-e2e: killed after ${perTestS}s\n`));
      killLeftovers();
      child.kill('SIGKILL');
    }, perTestS * 1000);
    child.on('close', () => {
      current = null;
      clearTimeout(timer);
      killLeftovers();
      const text = Buffer.concat(out).toString('utf8');
      writeFileSync(log, text);
      renameSync(members, join(logs, `${name}.members`));
      resolve(text);
    });
  });
}

const names = readFileSync(join(root, 'test/etcd-e2e/targets.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#') && pattern.test(l));
killLeftovers();
const started = Date.now();
/** Runs the tests; returns the names that failed, each printed with why. */
async function runAll(list, label) {
  const failed = [];
  for (const name of list) {
    const text = await runOne(name);
    if (new RegExp(`^--- PASS: ${name} `, 'm').test(text)) continue;
    failed.push(name);
    const why = /^\s*(\S+\.go:\d+: .*)$/m.exec(text)?.[1] ?? /etcd-e2e: killed after \d+s/.exec(text)?.[0] ?? '';
    const memberLines = readFileSync(join(logs, `${name}.members`), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('etcd ') && !l.startsWith('{'));
    console.log(
      `${label} ${name}: ${why.slice(0, 200)}${memberLines.length ? ` | member: ${memberLines[0].slice(0, 160)}` : ''}`,
    );
  }
  return failed;
}
const firstFailed = await runAll(names, 'FAIL');
let failed = firstFailed;
for (let round = 1; round <= retries && failed.length > 0; round++) {
  console.log(`etcd-e2e: retry ${round}: ${failed.join(' ')}`);
  failed = await runAll(failed, `FAIL (retry ${round})`);
}
const flaky = firstFailed.filter((n) => !failed.includes(n));
if (flaky.length > 0) console.log(`FLAKY (failed, then passed on retry): ${flaky.join(' ')}`);
const passed = names.length - failed.length;
console.log(
  `etcd-e2e: ${passed}/${names.length} passed (${names.length - firstFailed.length} on the first run; ` +
    `${Math.round((Date.now() - started) / 1000)}s)`,
);
process.exit(passed === names.length && names.length > 0 ? 0 : 1);
