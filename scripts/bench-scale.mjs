#!/usr/bin/env node
// `npm run bench:scale`: memory and scale of one member, Conclave beside the reference etcd 3.4, under
// the same load: etcdbench puts of 256-byte values over a key space (100 clients), then what the
// member holds and how it restarts. Prints, per side: idle RSS, load rate, RSS right after the load
// (with its anonymous / file-mapped split), bytes on disk, a count-only range over every key, peak
// RSS while one client reads every key with its value (one unlimited Range), RSS after a physical
// compaction, restart time after SIGKILL until a linearizable read is served, and RSS after restart.
//
//   npm run bench:scale                                  # 1,000,000 puts over 1,000,000 keys
//   npm run bench:scale -- --total 200000 --key-space 200000
//   npm run bench:scale -- --total 20000 --only conclave --no-full-range
//
// Flags: --total N (puts), --key-space N, --val-size N (256), --only etcd|conclave, --runs N (1),
// --no-full-range (skip the unlimited range, which needs about 3x its size in client memory),
// --keep (print the data directories and leave them), --node-flags "..." (extra node flags),
// --quota-backend-bytes N (both sides; 8 GiB by default: raise it for tens of millions of keys).
// "file-mapped: data file" is the part of the file-mapped RSS that maps files of the data directory
// (LMDB's or bbolt's data file); the rest is the binary and its libraries.
//
// 10,000,000 distinct keys (issue 19): random keys over a space ten times larger, so that few repeat:
//   npm run bench:scale -- --only conclave --total 10600000 --key-space 100000000 --no-full-range
// etcdbench comes from ../shared/etcdbench/build.sh (path taken from $ETCDBENCH or ~/.cache/etcdbench).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { commandLine, goTool, lastJsonLine, sleep } from './lib/bench-kit.mjs';
import { etcdctl as etcdctlWith, freePort, memberCommand, memberFlags, root } from './lib/members.mjs';

const bench = goTool('etcdbench', 'ETCDBENCH');

const cli = commandLine(
  {
    total: 1_000_000,
    'key-space': 1_000_000,
    'val-size': 256,
    runs: 1,
    only: null,
    'no-full-range': false,
    keep: false,
    'node-flags': '',
    'quota-backend-bytes': 8 * 1024 ** 3,
  },
  { names: false },
);
const opt = {
  total: cli.total,
  keySpace: cli['key-space'],
  valSize: cli['val-size'],
  runs: cli.runs,
  only: cli.only,
  fullRange: !cli['no-full-range'],
  keep: cli.keep,
  quota: cli['quota-backend-bytes'],
};
const nodeFlags = cli['node-flags'].split(/\s+/).filter(Boolean);
const sides = opt.only ? [opt.only] : ['etcd', 'conclave'];
const MB = 1024 * 1024;

/**
 * RSS and its split (MB) of a live process, from /proc/PID/status; with `dir`, also `data`: the part
 * of the file-mapped pages that belong to files under `dir` (the data file's map), from smaps.
 */
function memOf(pid, dir) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? 0) / 1024;
    const m = { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
    return dir ? { ...m, data: mappedUnder(pid, dir) } : m;
  } catch {
    return { rss: 0, anon: 0, file: 0, hwm: 0, data: 0 };
  }
}

/** Resident MB of the mappings of files under `dir` (/proc/PID/smaps). */
function mappedUnder(pid, dir) {
  let inside = false;
  let kb = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) inside = head[1].startsWith(dir);
    else if (inside && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)[1]);
  }
  return kb / 1024;
}

function diskMB(dir) {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]) / MB;
}

// etcdctl 3.4 has no --count-only: the count-only range is asked with etcd 3.5's etcdctl.
const fetch35 = spawnSync('bash', [resolve(root, '../../shared/etcd35/fetch.sh')], { encoding: 'utf8' });
const etcdctl35 = fetch35.status === 0 ? join(fetch35.stdout.trim(), 'etcdctl') : null;
if (!etcdctl35) console.error('etcd 3.5 etcdctl not found (shared/etcd35/fetch.sh): count-only range skipped');

/** etcdctl with a 600 s command timeout unless `opts.timeout` says otherwise. */
const etcdctl = (endpoint, args, opts = {}) => etcdctlWith(endpoint, args, { timeout: '600s', ...opts });

class Member {
  constructor(kind, dir, cp, pp) {
    Object.assign(this, { kind, dir, cp, pp, child: null, err: '' });
    this.endpoint = `127.0.0.1:${cp}`;
  }

  static async create(kind) {
    const dir = mkdtempSync(join(tmpdir(), `bench-scale-${kind}-`));
    return new Member(kind, dir, await freePort(), await freePort());
  }

  start() {
    const flags = [
      ...memberFlags({ name: 'b', dataDir: join(this.dir, 'data'), clientPort: this.cp, peerPort: this.pp }),
      '--quota-backend-bytes',
      String(opt.quota),
    ];
    const [cmd, pre] = memberCommand(this.kind, nodeFlags);
    this.child = spawn(cmd, [...pre, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.err = '';
    this.child.stderr.on('data', (d) => {
      this.err = (this.err + d).slice(-4000);
    });
    this.started = performance.now();
  }

  /** Waits until a linearizable read is served; returns the ms since start(). */
  async serving() {
    for (;;) {
      const r = etcdctl(this.endpoint, ['get', 'bench-ready'], { timeout: '2s' });
      if (r.status === 0) return performance.now() - this.started;
      if (this.child.exitCode !== null) throw new Error(`${this.kind} exited: ${this.err}`);
      await sleep(50);
    }
  }

  get pid() {
    return this.child.pid;
  }

  async kill() {
    const c = this.child;
    if (c.exitCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r)));
    }
  }

  async remove() {
    await this.kill();
    if (opt.keep) console.log(`  data left in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Samples the RSS of `pid` every 20 ms while `fn` runs; returns fn's result and the peak (MB). */
async function peakDuring(pid, fn) {
  let peak = memOf(pid).rss;
  const t = setInterval(() => (peak = Math.max(peak, memOf(pid).rss)), 20);
  try {
    const r = await fn();
    return { r, peak: Math.max(peak, memOf(pid).rss) };
  } finally {
    clearInterval(t);
  }
}

/** etcdctl in a child process that does not block this one (so sampling goes on). */
function etcdctlAsync(endpoint, args) {
  return new Promise((res, rej) => {
    const t = performance.now();
    const c = spawn('etcdctl', ['--endpoints', endpoint, '--command-timeout', '600s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? res(performance.now() - t) : rej(new Error(`etcdctl ${args}: ${err}`))));
  });
}

function revision(endpoint) {
  const r = etcdctl(endpoint, ['get', 'bench-ready', '-w', 'json']);
  return JSON.parse(r.stdout).header.revision;
}

async function runSide(kind) {
  const m = await Member.create(kind);
  const out = { kind };
  try {
    m.start();
    await m.serving();
    await sleep(2000);
    out.idle = memOf(m.pid);
    const t = performance.now();
    const b = spawnSync(
      bench,
      [
        '-endpoints',
        m.endpoint,
        '-total',
        String(opt.total),
        '-key-space',
        String(opt.keySpace),
        '-val-size',
        String(opt.valSize),
        '-timeout',
        '7200s',
        'put',
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const wall = (performance.now() - t) / 1000;
    const res = lastJsonLine(b.stdout);
    if (res.errors > 0) throw new Error(`load errors: ${res.errors} (${res.first_error})`);
    out.rate = res.ops_per_sec;
    out.loadSeconds = wall;
    await sleep(3000);
    out.afterLoad = memOf(m.pid, m.dir);
    out.disk = diskMB(m.dir);
    const counts = [];
    let keys = 0;
    for (let i = 0; etcdctl35 && i < 3; i++) {
      const s = performance.now();
      const r = etcdctl(m.endpoint, ['get', 'bench/', '--prefix', '--count-only', '-w', 'fields'], {
        bin: etcdctl35,
      });
      counts.push(performance.now() - s);
      keys = Number(/"Count" : (\d+)/.exec(r.stdout)?.[1]);
    }
    out.keys = keys;
    out.countMs = counts.length ? Math.min(...counts) : undefined;
    if (opt.fullRange) {
      const base = memOf(m.pid).rss;
      const { r: ms, peak } = await peakDuring(m.pid, () => etcdctlAsync(m.endpoint, ['get', 'bench/', '--prefix']));
      out.fullRange = { ms, peak, base };
      await sleep(3000);
      out.afterRange = memOf(m.pid).rss;
    }
    const rev = revision(m.endpoint);
    const c = etcdctl(m.endpoint, ['compact', String(rev), '--physical']);
    if (c.status !== 0) throw new Error(`compact: ${c.stderr}`);
    await sleep(5000);
    out.afterCompact = memOf(m.pid, m.dir);
    await m.kill();
    m.start();
    out.restartMs = await m.serving();
    await sleep(3000);
    out.afterRestart = memOf(m.pid, m.dir);
    out.diskAfterRestart = diskMB(m.dir);
    return out;
  } catch (err) {
    console.error(`${kind}: ${err.message}\n${m.err}`);
    throw err;
  } finally {
    await m.remove();
  }
}

// Each row: a name and what it reads from one run (a number, or [anon, file] for the RSS split).
const rows = [
  ['idle RSS (MB)', (o) => o.idle.rss],
  ['  anon / file-mapped (MB)', (o) => [o.idle.anon, o.idle.file]],
  ['load rate (puts/s)', (o) => o.rate],
  ['RSS right after the load (MB)', (o) => o.afterLoad.rss],
  ['  anon / file-mapped (MB)', (o) => [o.afterLoad.anon, o.afterLoad.file]],
  ['  file-mapped: data file (MB)', (o) => o.afterLoad.data],
  ['bytes on disk (MB)', (o) => o.disk],
  ['distinct keys', (o) => o.keys],
  ['count-only range (ms)', (o) => o.countMs],
  ['full range: time (ms)', (o) => o.fullRange?.ms],
  ['full range: peak RSS (MB)', (o) => o.fullRange?.peak],
  ['RSS after compaction (MB)', (o) => o.afterCompact.rss],
  ['  file-mapped: data file (MB)', (o) => o.afterCompact.data],
  ['restart after SIGKILL until serving (ms)', (o) => o.restartMs],
  ['RSS after restart (MB)', (o) => o.afterRestart.rss],
  ['  anon / file-mapped (MB)', (o) => [o.afterRestart.anon, o.afterRestart.file]],
  ['  file-mapped: data file (MB)', (o) => o.afterRestart.data],
];

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  return v.length === 0 ? undefined : v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const f0 = (x) => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));

console.log(
  `bench:scale: ${opt.total} puts of ${opt.valSize}-byte values over ${opt.keySpace} keys, 100 clients, one member each`,
);
const results = { etcd: [], conclave: [] };
for (let i = 0; i < opt.runs; i++) {
  // Alternate which side goes first, so a machine shared with other work loads both alike.
  for (const kind of i % 2 === 0 ? sides : [...sides].reverse()) {
    const o = await runSide(kind);
    results[kind].push(o);
    console.log(`${kind} run ${i + 1}: ${JSON.stringify(o)}`);
  }
}
const both = sides.length === 2;
console.log(
  `\n${`(median of ${opt.runs} run${opt.runs > 1 ? 's' : ''})`.padEnd(42)}${sides.map((s) => s.padStart(14)).join('')}${both ? 'conclave/etcd'.padStart(15) : ''}`,
);
for (const [name, fn] of rows) {
  const cell = {};
  const num = {};
  for (const s of sides) {
    const vals = results[s].map(fn);
    if (Array.isArray(vals[0])) {
      cell[s] = `${f0(median(vals.map((v) => v[0])))} / ${f0(median(vals.map((v) => v[1])))}`;
    } else {
      num[s] = median(vals);
      cell[s] = f0(num[s]);
    }
  }
  const ratio = both && num.etcd && num.conclave !== undefined ? `${(num.conclave / num.etcd).toFixed(2)}x` : '';
  console.log(`${name.padEnd(42)}${sides.map((s) => cell[s].padStart(14)).join('')}${ratio.padStart(15)}`);
}
