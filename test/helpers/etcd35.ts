// The reference etcd 3.5 for tests: where its binaries (etcd, etcdctl, etcdutl; Debian's 3.5
// packages, unpacked by scripts/ensure.mjs `ensureEtcd35`, which `npm test` runs) are, running
// etcdctl 3.5, and masking what legitimately differs between two servers' outputs.
// Etcd 3.4 is on PATH (Debian's etcd-server / etcd-client); 3.5 is not installed system-wide, so
// tests name its binaries by path. ETCD35_DIR overrides the folder.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdctl, type EtcdctlResult } from './etcdctl.js';

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

/** etcdctl 3.5 (API v3) against `endpoint`; the same options as helpers/etcdctl.ts. */
export function etcdctl35(
  endpoint: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<EtcdctlResult> {
  return etcdctl(endpoint, args, { ...opts, bin: etcd35Bin('etcdctl') });
}

/**
 * Masks what legitimately differs between two servers' etcdctl output: bound addresses, sizes,
 * timings, and the IDs in `ids` (member or lease IDs, hex or decimal, mapped to stable labels).
 * Revisions, raft terms and indexes, hashes, versions and texts stay as they are.
 */
export function maskOutput(text: string, ids: ReadonlyMap<string, string> = new Map()): string {
  let t = text.replace(/127\.0\.0\.1:\d+/g, 'ADDR');
  for (const [id, label] of ids) t = t.replace(new RegExp(`\\b${id}\\b`, 'g'), label);
  return t
    .replace(/\b\d+(?:\.\d+)? (?:B|kB|MB|GB)\b/g, 'SIZE')
    .replace(/"(dbSize|dbSizeInUse)":\d+/g, '"$1":SIZE')
    .replace(/\b(took|took =) [\d.]+(?:ns|µs|ms|s)\b/g, '$1 TIME')
    .replace(/remaining\(\d+s\)/g, 'remaining(Ns)')
    .replace(/"(TTL|ttl)":\d+/g, '"$1":N')
    .replace(/\b\d+(?:\.\d+)?(?:ns|µs|ms)\b/g, 'TIME');
}

/** etcdctl's stderr without its timestamped log lines: the "Error: ..." style lines only. */
export function errorLines(r: EtcdctlResult): string {
  return r.stderr
    .split('\n')
    .filter((l) => /^(Error|Failed|FAIL|PASS|Snapshot saved)/.test(l))
    .join('\n');
}
