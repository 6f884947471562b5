// Shared by `npm start` and `npm test`: install npm dependencies from the lock file when missing or
// stale (`npm ci`, so the lock is never rewritten), rebuild the JS bundles when any source is newer
// than them, and (for the tests that need them) make sure the reference etcd and etcdctl exist and
// build the Go helpers that run etcd's own Go client against our servers. Each step prints a line.

import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(import.meta.url), '../..');
/** Every workspace package: a change in any of them (h2 is bundled into server and client) rebuilds. */
const PACKAGES = ['api', 'h2', 'server', 'client', 'concurrency'];
/** One output of each published package; the oldest decides whether the bundles are stale. */
const OUTPUTS = ['api/dist/index.js', 'server/dist/cli.js', 'client/dist/index.js', 'concurrency/dist/index.js'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

export function ensureInstalled() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (!existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs) {
    const t0 = performance.now();
    console.log('> installing npm dependencies from package-lock.json (npm ci)');
    run('npm', ['ci', '--no-audit', '--no-fund']);
    console.log(`> installed in ${seconds(t0)}`);
  }
}

/** The JS bundles (all the server and the tests run); `npm run build` adds the type check and declarations. */
export function ensureBuilt() {
  const outputs = OUTPUTS.map((o) => join(root, 'packages', o));
  const built = outputs.every((o) => existsSync(o)) ? Math.min(...outputs.map((o) => statSync(o).mtimeMs)) : 0;
  const sources = Math.max(
    ...PACKAGES.flatMap((p) => [
      newestMtime(join(root, 'packages', p, 'src')),
      statSync(join(root, 'packages', p, 'package.json')).mtimeMs,
    ]),
    statSync(join(root, 'scripts/build.mjs')).mtimeMs,
  );
  if (sources > built) run(process.execPath, [join(root, 'scripts/build.mjs'), '--js']);
}

function has(cmd) {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The reference etcd 3.4 and etcdctl (Debian's etcd-server and etcd-client) the tests compare against,
 * nghttp and h2load (nghttp2-client, test/server/nghttp.test.ts), and with `go`, Go and etcd 3.4's Go
 * client (golang-go, golang-etcd-server-dev) for test/go.
 */
export function ensureEtcd({ etcd = true, go = true, curl = false } = {}) {
  const missing = [];
  if (etcd && !has('etcd')) missing.push('etcd-server');
  if (etcd && !has('etcdctl')) missing.push('etcd-client');
  if (etcd && !has('h2load')) missing.push('nghttp2-client');
  if (go && !has('go')) missing.push('golang-go');
  if (go && !goEtcdClient()) missing.push('golang-etcd-server-dev');
  // etcd's e2e suite runs curl for its gateway tests (TestV3Curl*)
  if (curl && !has('curl')) missing.push('curl');
  if (missing.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() === 0 && has('apt-get')) {
    console.log(`> installing ${missing.join(' ')} (reference etcd and its Go client for the tests)`);
    run('sh', [
      '-c',
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`,
    ]);
    return;
  }
  console.error(
    `These tests need the reference etcd and its Go client: run  sudo apt-get install -y ${missing.join(' ')}  and try again.`,
  );
  process.exit(1);
}

/** Where the etcd 3.5 binaries are unpacked (test/helpers/etcd35.ts looks here, then in ~/.cache/etcd35). */
const ETCD35_CACHE = join(root, 'node_modules/.cache/etcd35');

/**
 * The reference etcd 3.5 (etcd, etcdctl, etcdutl): Debian ships it in its unstable suite only, so its
 * packages are downloaded with apt-get (no root needed, nothing installed system-wide) and unpacked
 * into node_modules/.cache/etcd35. Skipped when ETCD35_DIR or an earlier copy already has them.
 */
export function ensureEtcd35() {
  const dirs = [process.env.ETCD35_DIR, join(ETCD35_CACHE, 'x/usr/bin'), join(homedir(), '.cache/etcd35/x/usr/bin')];
  if (dirs.some((d) => d && ['etcd', 'etcdctl', 'etcdutl'].every((b) => existsSync(join(d, b))))) return;
  if (!has('apt-get') || !has('dpkg')) {
    console.error('The tests need etcd 3.5: set ETCD35_DIR to a folder holding its etcd, etcdctl and etcdutl.');
    process.exit(1);
  }
  console.log('> fetching etcd 3.5 (Debian unstable etcd-server, etcd-client) into node_modules/.cache/etcd35');
  const mirror = debianMirror();
  const apt = join(ETCD35_CACHE, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(apt, d), { recursive: true });
  writeFileSync(
    join(apt, 'sources.list'),
    `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} sid main\n`,
  );
  const opts = [
    '-o',
    `Dir::Etc::sourcelist=${join(apt, 'sources.list')}`,
    '-o',
    'Dir::Etc::sourceparts=-',
    '-o',
    `Dir::State::Lists=${join(apt, 'lists')}`,
    '-o',
    `Dir::Cache=${join(apt, 'cache')}`,
  ];
  run('apt-get', [...opts, 'update', '-qq']);
  const r = spawnSync('apt-get', [...opts, 'download', 'etcd-server', 'etcd-client'], {
    cwd: ETCD35_CACHE,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  for (const f of readdirSync(ETCD35_CACHE).filter((n) => n.endsWith('.deb')))
    run('dpkg', ['-x', join(ETCD35_CACHE, f), join(ETCD35_CACHE, 'x')]);
}

/** The Debian mirror this machine's apt already uses. */
function debianMirror() {
  const texts = [];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const f of readdirSync(dir)) texts.push(readFileSync(join(dir, f), 'utf8'));
  if (existsSync('/etc/apt/sources.list')) texts.push(readFileSync('/etc/apt/sources.list', 'utf8'));
  for (const t of texts) {
    const m = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(t) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(t);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

/** Debian's GOPATH holding etcd 3.4's Go client (package golang-etcd-server-dev), or null. */
function goEtcdClient() {
  const gocode = '/usr/share/gocode';
  return existsSync(join(gocode, 'src/go.etcd.io/etcd/clientv3/concurrency')) ? gocode : null;
}

/** Go programs under test/go/<name> built against etcd's Go client, into node_modules/.cache/conclave-go. */
export const GO_TOOLS = ['gomutex', 'boltcheck'];
const GO_CACHE = join(root, 'node_modules/.cache/conclave-go');
export const goToolPath = (name) => join(GO_CACHE, name);

export function ensureGoTools() {
  const gocode = goEtcdClient();
  if (!gocode) throw new Error('golang-etcd-server-dev is missing (ensureEtcd installs it)');
  mkdirSync(GO_CACHE, { recursive: true });
  for (const name of GO_TOOLS) {
    const src = join(root, 'test/go', name);
    const bin = goToolPath(name);
    if (existsSync(bin) && statSync(bin).mtimeMs >= newestMtime(src)) continue;
    console.log(`> building test/go/${name} (etcd's Go client)`);
    // GOPATH mode: Debian ships the client as source under /usr/share/gocode; no module download.
    const r = spawnSync('go', ['build', '-o', bin, '.'], {
      cwd: src,
      stdio: 'inherit',
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${join(GO_CACHE, 'gopath')}:${gocode}`,
        GOCACHE: join(GO_CACHE, 'gocache'),
        GOFLAGS: '',
      },
    });
    if (r.status !== 0) {
      console.error(`go build test/go/${name} failed`);
      process.exit(r.status ?? 1);
    }
  }
}
