#!/usr/bin/env node
// `npm test`: install if needed, then run the test files with Node's test runner (run-tests.mjs).
// Only what the chosen files need is prepared: the JS bundles when they start the built server,
// the reference etcd/etcdctl 3.4 (and 3.5) when they compare against it, and the Go helpers
// (test/go) when they run etcd's Go client. Arguments narrow the run:
//   npm test -- packages/server/src/raft                      a folder
//   npm test -- test/server/embed.test.ts                     one file
//   npm test -- packages/client -- --test-name-pattern=retry  extra flags for node --test
//   npm run test:slow                                          the slow tier (SLOW in test-files.mjs)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ensureEtcd, ensureEtcd35, ensureGoTools, ensureInstalled, root } from './ensure.mjs';
import { collectTests, testNeeds } from './test-files.mjs';

// --slow: the tests npm test leaves out (SLOW in test-files.mjs; `npm run test:slow`, which CI runs too)
const slow = process.argv[2] === '--slow';
if (slow) process.env.CONCLAVE_SLOW_TESTS = '1';
const argv = process.argv.slice(slow ? 3 : 2);
const dash = argv.indexOf('--');
const needs = testNeeds(collectTests(dash >= 0 ? argv.slice(0, dash) : argv));

ensureInstalled();
if (needs.etcd || needs.go) ensureEtcd(needs);
if (needs.etcd35) ensureEtcd35();
if (needs.go) ensureGoTools();
if (needs.build) ensureBuilt();
const r = spawnSync(process.execPath, [join(root, 'scripts/run-tests.mjs'), ...argv], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
