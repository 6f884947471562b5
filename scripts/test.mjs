#!/usr/bin/env node
// `npm test`: install and build if needed, make sure the reference etcd/etcdctl (3.4 and 3.5) exist, build
// the Go helpers (test/go), then run
// every test file with Node's test runner (see run-tests.mjs). Arguments narrow the run:
//   npm test -- packages/server/src/raft
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ensureEtcd, ensureEtcd35, ensureGoTools, ensureInstalled, root } from './ensure.mjs';

ensureInstalled();
ensureEtcd();
ensureEtcd35();
ensureGoTools();
ensureBuilt();
const r = spawnSync(process.execPath, [join(root, 'scripts/run-tests.mjs'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
