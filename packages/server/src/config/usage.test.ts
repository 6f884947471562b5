import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FLAGS, FLAG_BY_NAME, IGNORED_FLAGS, flagEnvName } from './flags.js';
import { flagsText, NOT_SUPPORTED_NOTE, printUsage, usageText } from './usage.js';
import {
  CONCLAVE_VERSION,
  ETCD_CLUSTER_VERSION,
  ETCD_COMPAT_VERSION,
  reportedEtcdVersion,
  versionText,
} from './version.js';

// Excerpts of `etcd --help` (3.4.23) stdout, verbatim.
const ETCD_EXCERPTS = [
  "\nMember:\n  --name 'default'\n    Human-readable name for this member.\n  --data-dir '${name}.etcd'\n    Path to the data directory.\n",
  "  --max-concurrent-streams 'math.MaxUint32'\n    Maximum concurrent streams that each client can open at a time.\n",
  "  --initial-cluster-token 'etcd-cluster'\n    Initial cluster token for the etcd cluster during bootstrap.\n    Specifying this can protect you from unintended cross-cluster interaction when running multiple clusters.\n",
  '  --bcrypt-cost 10\n    Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31.\n',
  "\nUnsafe feature:\n  --force-new-cluster 'false'\n    Force to create a new one-member cluster.\n\nCAUTIOUS with unsafe flag! It may break the guarantees given by the consensus protocol!\n\nTO BE DEPRECATED:\n\n  --debug 'false'\n",
];

test('the flag list reproduces etcd --help, apart from Conclave notes and its zap default', () => {
  const text = flagsText();
  for (const excerpt of ETCD_EXCERPTS) assert.ok(text.includes(excerpt), excerpt);
  const listed = [...text.matchAll(/^ {2}--([a-z0-9.-]+) /gm)].map((m) => m[1]);
  assert.equal(listed.length, 80, 'etcd --help lists 80 flags');
  assert.deepEqual(
    listed,
    FLAGS.filter((f) => f.group !== undefined).map((f) => f.name),
  );
  assert.ok(text.includes("  --logger 'zap'\n"));
  assert.ok(
    text.includes(`  --discovery ''\n    Discovery URL used to bootstrap the cluster.\n    ${NOT_SUPPORTED_NOTE}\n`),
  );
  // the last flag (--log-package-levels) is implemented: no note after it
  assert.ok(text.endsWith("(eg: 'etcdmain=CRITICAL,etcdserver=DEBUG').\n"));
});

test('usage text names conclave and has no subcommands it cannot run', () => {
  const u = usageText();
  assert.ok(u.startsWith('Usage:\n\n  conclave [flags]\n    Start a conclave server.\n\n  conclave --version\n'));
  assert.ok(!u.includes('etcd '));
  assert.ok(!u.includes('gateway'));
  let out = '';
  let err = '';
  printUsage({ stdout: (s) => (out += s), stderr: (s) => (err += s) });
  assert.equal(err, `${u}\n`);
  assert.equal(out, `${flagsText()}\n`);
});

test('the flag table: every flag of etcd 3.4.23, typed, with env names', () => {
  assert.equal(FLAGS.length, new Set(FLAGS.map((f) => f.name)).size, 'no duplicates');
  assert.equal(FLAGS.length, 80 + 6 + IGNORED_FLAGS.length);
  for (const name of [
    'config-file',
    'version',
    'log-output',
    'enable-grpc-gateway',
    'unsafe-no-fsync',
    'experimental-enable-lease-checkpoint-persist',
  ]) {
    assert.ok(FLAG_BY_NAME.has(name), name);
  }
  assert.equal(FLAG_BY_NAME.get('initial-cluster-state')?.kind, 'enum');
  assert.deepEqual(FLAG_BY_NAME.get('initial-cluster-state')?.values, ['new', 'existing']);
  assert.equal(FLAG_BY_NAME.get('snapshot-count')?.kind, 'uint64');
  assert.equal(FLAG_BY_NAME.get('grpc-keepalive-min-time')?.kind, 'duration');
  assert.equal(flagEnvName('listen-client-urls'), 'ETCD_LISTEN_CLIENT_URLS');
  assert.equal(flagEnvName('data-dir'), 'ETCD_DATA_DIR');
  const implemented = FLAGS.filter((f) => f.implemented && f.kind !== 'ignored').map((f) => f.name);
  for (const name of [
    'name',
    'data-dir',
    'auto-tls',
    'peer-cert-allowed-cn',
    'log-outputs',
    'experimental-watch-progress-notify-interval',
    'config-file',
    'cipher-suites',
    'client-crl-file',
    'peer-cert-allowed-hostname',
    'experimental-initial-corrupt-check',
  ]) {
    assert.ok(implemented.includes(name), name);
  }
  for (const name of ['discovery', 'enable-v2', 'enable-pprof', 'proxy']) {
    assert.ok(!implemented.includes(name), name);
  }
});

test('version text mirrors etcd --version and reports the etcd compatibility version', () => {
  const text = versionText({ gitSha: 'abc1234' });
  assert.equal(
    text,
    `conclave Version: ${CONCLAVE_VERSION}\netcd Version: 3.5.30\netcd API Version: 3.5\nGit SHA: abc1234\nNode Version: ${process.version}\nNode OS/Arch: ${process.platform}/${process.arch}\n`,
  );
  assert.match(versionText(), /\nGit SHA: .+\n/);
  assert.equal(ETCD_COMPAT_VERSION, '3.5.30');
  assert.equal(ETCD_CLUSTER_VERSION, '3.5.0');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(CONCLAVE_VERSION, pkg.version);
});

test('CONCLAVE_ETCD_VERSION picks the etcd release reported: 3.5.30 by default, 3.4.23, nothing else', () => {
  assert.equal(reportedEtcdVersion(undefined), '3.5.30');
  assert.equal(reportedEtcdVersion(''), '3.5.30');
  assert.equal(reportedEtcdVersion('3.4.23'), '3.4.23');
  assert.equal(reportedEtcdVersion('3.5.30'), '3.5.30');
  for (const bad of ['3.6.0', '3.4', 'v3.4.23'])
    assert.throws(() => reportedEtcdVersion(bad), /^Error: CONCLAVE_ETCD_VERSION must be one of 3\.5\.30, 3\.4\.23/);
});
