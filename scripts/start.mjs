#!/usr/bin/env node
// `npm start`: install and build if needed, then run a single-member Conclave server on
// 127.0.0.1:2379 (peer 127.0.0.1:2380) with its data in ./default.etcd. Extra arguments
// (`npm start -- --flag value`) are passed to the server and override these defaults.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ensureInstalled, root } from './ensure.mjs';

ensureInstalled();
ensureBuilt();

const defaults = {
  '--name': 'default',
  '--data-dir': join(root, 'default.etcd'),
  '--listen-client-urls': 'http://127.0.0.1:2379',
  '--advertise-client-urls': 'http://127.0.0.1:2379',
  '--listen-peer-urls': 'http://127.0.0.1:2380',
  '--initial-advertise-peer-urls': 'http://127.0.0.1:2380',
};
const extra = process.argv.slice(2);
const given = new Set(extra.filter((a) => a.startsWith('-')).map((a) => `--${a.replace(/^-+/, '').split('=')[0]}`));
const args = [];
for (const [k, v] of Object.entries(defaults)) if (!given.has(k)) args.push(k, v);
if (!given.has('--initial-cluster') && !given.has('--initial-advertise-peer-urls') && !given.has('--name')) {
  args.push('--initial-cluster', 'default=http://127.0.0.1:2380');
}
args.push(...extra);

console.log(`Conclave: serving on http://127.0.0.1:2379 (peer 127.0.0.1:2380), data in ${defaults['--data-dir']}`);
console.log('Connect with:  etcdctl --endpoints=127.0.0.1:2379 put greeting hello   (or any etcd v3 client)');
console.log('Stop with Ctrl-C.\n');
const child = spawn(process.execPath, [join(root, 'packages/server/dist/cli.js'), ...args], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
