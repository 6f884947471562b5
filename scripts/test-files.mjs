// Which test files a run covers, and what they need besides node_modules: shared by run-tests.mjs
// (which runs them) and test.mjs (which prepares only what the chosen files need).
//   collectTests(targets)  *.test.ts files under the given files or folders (default: the whole repo)
//   testNeeds(files)       { build, etcd, etcd35, go, tiered }: whether the files, or local modules
//                          they import, run the built server (dist/cli.js), the reference etcd/etcdctl
//                          3.4 or 3.5, or the Go helpers, or split a matrix between the two tiers

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const packagesDir = `${join(root, 'packages')}/`;
export const DEFAULT_TARGETS = ['packages', 'test', 'examples'];

/**
 * What `npm test` leaves to `npm run test:slow` (CI runs both): real etcd 3.4/3.5 clusters restored from
 * snapshots both ways, a 60 s `etcdctl check perf`, and the keepalive and peer-port timing comparisons with
 * etcd (seconds of waiting per case), several minutes that would put `npm test` past its 10-minute budget
 * on a 2-core machine. Naming a file or folder inside them runs it as usual. The slow
 * tier also runs the etcd 3.4 part of every test matrix that runs against etcd 3.5 too: files that use
 * test/helpers/tier.ts (`tiered` below) run in both tiers, each with its part of the matrix.
 */
export const SLOW = [
  'test/portability',
  'test/conformance/etcd35-check-perf.test.ts',
  // wall-clock protocol timing beside etcd 3.5: keepalive pings seconds apart, idle and slow peer connections
  'test/server/grpc-keepalive.test.ts',
  'test/client/sdk-keepalive.test.ts',
  'test/server/hostile/peer-http.test.ts',
].map((p) => resolve(root, p));
const isSlow = (path) => SLOW.some((s) => path === s || path.startsWith(`${s}/`));

/**
 * The test files under `targets` (default: the whole repo without SLOW; with slow set: SLOW and the
 * tiered files, whose etcd 3.4 variants are the slow tier's).
 */
export function collectTests(targets, slow = process.env.CONCLAVE_SLOW_TESTS === '1') {
  if (targets.length === 0 && slow) {
    const tiered = collectTests([], false).filter((f) => testNeeds([f]).tiered);
    return [...new Set([...collectTests(SLOW, true), ...tiered])].sort();
  }
  const tops = (targets.length > 0 ? targets : DEFAULT_TARGETS).map((t) => resolve(root, t));
  const out = [];
  const walk = (path, top) => {
    if (path !== top && isSlow(path) && !isSlow(top)) return;
    const st = statSync(path);
    if (st.isFile()) {
      if (path.endsWith('.test.ts')) out.push(path);
      return;
    }
    for (const name of readdirSync(path)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      walk(join(path, name), top);
    }
  };
  for (const t of tops) walk(t, t);
  return out.sort();
}

/** Text that marks a module as needing something the plain install does not provide. */
const MARKERS = {
  build: /packages\/server\/dist\/cli\.js|\bconclaveBin\b/,
  etcd: /['"]etcd(ctl)?['"]/,
  etcd35: /\betcd35Bin\b/,
  go: /\bgoToolPath\b|conclave-go|\bgomutex\b/,
  tiered: /\bforThisTier\b|\bonlyFastTier\b/,
};
const LOCAL_IMPORT = /(?:\bfrom|\bimport\s*\(?)\s*['"](\.{1,2}\/[^'"]+)['"]/g;

export function testNeeds(files) {
  const memo = new Map();
  const visit = (file) => {
    const known = memo.get(file);
    if (known) return known;
    const found = new Set();
    memo.set(file, found); // an import cycle sees the partial set; the first visitor completes it
    const text = readFileSync(file, 'utf8');
    // Markers are looked for in the test infrastructure (test/), not in the packages' own code, whose
    // unit tests need none of these (e.g. 'etcd' is also a certificate organization in server/src/tls).
    if (!file.startsWith(packagesDir))
      for (const [need, re] of Object.entries(MARKERS)) if (re.test(text)) found.add(need);
    for (const [, spec] of text.matchAll(LOCAL_IMPORT)) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (existsSync(target) && statSync(target).isFile()) for (const n of visit(target)) found.add(n);
    }
    return found;
  };
  const all = new Set();
  for (const f of files) for (const n of visit(f)) all.add(n);
  return {
    build: all.has('build'),
    etcd: all.has('etcd'),
    etcd35: all.has('etcd35'),
    go: all.has('go'),
    tiered: all.has('tiered'),
  };
}
