// Where the reference etcd 3.5 binaries (etcd, etcdctl, etcdutl; Debian's 3.5 packages, unpacked by
// scripts/ensure.mjs `ensureEtcd35`, which `npm test` runs) are. Etcd 3.4 is on PATH (Debian's
// etcd-server / etcd-client); 3.5 is not installed system-wide, so tests name its binaries by path.
// ETCD35_DIR overrides the folder.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');

/** Folders searched for the 3.5 binaries, in order. */
export function etcd35Dirs(): string[] {
  const env = process.env['ETCD35_DIR'];
  return [
    ...(env ? [env] : []),
    join(repoRoot, 'node_modules/.cache/etcd35/x/usr/bin'),
    join(homedir(), '.cache/etcd35/x/usr/bin'),
  ];
}

/** Path of an etcd 3.5 binary; throws with what to do when it is missing. */
export function etcd35Bin(name: 'etcd' | 'etcdctl' | 'etcdutl'): string {
  for (const dir of etcd35Dirs()) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(
    `etcd 3.5 ${name} not found in ${etcd35Dirs().join(', ')}: run \`npm test\` once (it unpacks Debian's etcd 3.5 packages), or set ETCD35_DIR`,
  );
}
