// Shared by `npm start` and `npm test`: install npm dependencies when missing, build when any
// source is newer than its build, and (for tests) make sure the reference etcd and etcdctl exist.

import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(import.meta.url), '../..');
const PACKAGES = ['api', 'server', 'client', 'concurrency'];

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

export function ensureInstalled() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs)) {
    console.log('> installing npm dependencies');
    run('npm', ['install', '--no-audit', '--no-fund']);
  }
}

export function ensureBuilt() {
  const stale = PACKAGES.some((p) => {
    const dist = join(root, 'packages', p, 'dist', 'index.js');
    if (!existsSync(dist)) return true;
    const built = statSync(dist).mtimeMs;
    return newestMtime(join(root, 'packages', p, 'src')) > built || statSync(join(root, 'packages', p, 'package.json')).mtimeMs > built;
  });
  if (stale) {
    console.log('> building');
    run('npm', ['run', 'build']);
  }
}

function has(cmd) {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

/** The reference etcd 3.4 and etcdctl (Debian's etcd-server and etcd-client) the tests compare against. */
export function ensureEtcd() {
  const missing = [];
  if (!has('etcd')) missing.push('etcd-server');
  if (!has('etcdctl')) missing.push('etcd-client');
  if (missing.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() === 0 && has('apt-get')) {
    console.log(`> installing ${missing.join(' ')} (reference etcd for the tests)`);
    run('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')}`]);
    return;
  }
  console.error(`The tests need the reference etcd: run  sudo apt-get install -y ${missing.join(' ')}  and try again.`);
  process.exit(1);
}
