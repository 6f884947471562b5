import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, type ConfigErrorKind } from './errors.js';
import { FLAGS, type FlagSpec } from './flags.js';
import { parseConfig, reportNotices } from './parse-config.js';
import type { ServerConfig } from './types.js';
import { createLogger } from '../log/index.js';

const NO_ENV = {};
const hrefs = (urls: ServerConfig['listenClientUrls']): string[] => urls.map((u) => u.href);

function fails(argv: string[], env: Record<string, string | undefined> = NO_ENV): ConfigError {
  try {
    parseConfig(argv, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail(`expected ${argv.join(' ')} to fail`);
}

function expectError(
  argv: string[],
  kind: ConfigErrorKind,
  exitCode: number,
  message: string,
  env: Record<string, string> = NO_ENV,
): ConfigError {
  const e = fails(argv, env);
  assert.equal(e.kind, kind, `${argv.join(' ')}: ${e.message}`);
  assert.equal(e.exitCode, exitCode);
  assert.equal(e.message, message);
  return e;
}

test('defaults are etcd 3.4 defaults (with zap as the default logger)', () => {
  const c = parseConfig([], NO_ENV);
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, 'default.etcd');
  assert.equal(c.walDir, '');
  assert.equal(c.snapshotCount, 100000);
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.electionTicks, 10);
  assert.equal(c.initialElectionTickAdvance, true);
  assert.deepEqual(hrefs(c.listenClientUrls), ['http://localhost:2379']);
  assert.deepEqual(hrefs(c.advertiseClientUrls), ['http://localhost:2379']);
  assert.deepEqual(hrefs(c.listenPeerUrls), ['http://localhost:2380']);
  assert.deepEqual(hrefs(c.initialAdvertisePeerUrls), ['http://localhost:2380']);
  assert.deepEqual(c.listenMetricsUrls, []);
  assert.equal(c.initialCluster, 'default=http://localhost:2380');
  assert.equal(c.initialClusterState, 'new');
  assert.equal(c.initialClusterToken, 'etcd-cluster');
  assert.equal(c.maxSnapshots, 5);
  assert.equal(c.maxWals, 5);
  assert.equal(c.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.maxRequestBytes, 1.5 * 1024 * 1024);
  assert.equal(c.strictReconfigCheck, true);
  assert.equal(c.preVote, false);
  assert.deepEqual(c.autoCompaction, { mode: 'periodic', retention: '0', retentionMs: 0, retentionRevisions: 0 });
  assert.equal(c.authToken, 'simple');
  assert.equal(c.authTokenTtlSeconds, 300);
  assert.equal(c.bcryptCost, 10);
  assert.equal(c.logger, 'zap');
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.logOutputs, ['default']);
  assert.equal(c.metrics, 'basic');
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 600_000);
  assert.equal(c.experimentalInitialCorruptCheck, false);
  assert.equal(c.experimentalCorruptCheckTimeMs, 0);
  assert.equal(c.clientTls.autoTls, false);
  assert.equal(c.flags.get('grpc-keepalive-interval'), 7_200_000);
  assert.deepEqual(c.grpcKeepalive, { minTimeMs: 5000, intervalMs: 7_200_000, timeoutMs: 20_000 });
  assert.deepEqual(c.backendBatch, { intervalMs: 0, limit: 0 });
  assert.equal(c.flags.get('max-concurrent-streams'), 4294967295);
  assert.deepEqual(c.flags.get('cors'), ['*']);
  assert.equal(c.sources.size, 0);
  assert.deepEqual(c.notices, [
    { level: 'warn', msg: "'data-dir' was empty; using default", fields: { 'data-dir': 'default.etcd' } },
  ]);
});

test('corruption check flags (the e2e suite starts every etcdctl member with the initial check)', () => {
  const c = parseConfig(['--experimental-initial-corrupt-check', '--experimental-corrupt-check-time=1m30s'], NO_ENV);
  assert.equal(c.experimentalInitialCorruptCheck, true);
  assert.equal(c.experimentalCorruptCheckTimeMs, 90_000);
  const e = parseConfig([], {
    ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'true',
    ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME: '5s',
  });
  assert.equal(e.experimentalInitialCorruptCheck, true);
  assert.equal(e.experimentalCorruptCheckTimeMs, 5000);
  expectError(
    ['--experimental-corrupt-check-time=5'],
    'usage',
    2,
    'invalid value "5" for flag -experimental-corrupt-check-time: parse error',
  );
});

test('every flag form Go accepts: --f v, --f=v, -f v, -f=v; bools without a value', () => {
  for (const argv of [
    ['--name', 'n1', '--debug'],
    ['--name=n1', '-debug'],
    ['-name', 'n1', '--debug=true'],
    ['-name=n1', '-debug=1'],
    ['-name=n1', '-debug=T'],
  ]) {
    const c = parseConfig(argv, NO_ENV);
    assert.equal(c.name, 'n1', argv.join(' '));
    assert.equal(c.logLevel, 'debug', argv.join(' '));
    assert.equal(c.sources.get('name'), 'flag');
  }
  assert.equal(parseConfig(['--pre-vote=false', '--strict-reconfig-check=0'], NO_ENV).strictReconfigCheck, false);
  assert.equal(parseConfig(['--heartbeat-interval', '0x32', '--election-timeout=500'], NO_ENV).heartbeatIntervalMs, 50);
  assert.equal(parseConfig(['--name=a', '--name=b'], NO_ENV).name, 'b', 'the last occurrence wins');
  assert.equal(
    parseConfig(['--name', '--debug'], NO_ENV).name,
    '--debug',
    'a value flag takes the next argument whatever it is',
  );
  assert.equal(parseConfig(['--name='], NO_ENV).dataDir, '.etcd');
});

test('a bool followed by a separate value leaves a positional argument, which etcd rejects', () => {
  const e = expectError(['--debug', 'false'], 'invalid', 1, "'false' is not a valid flag");
  assert.match(
    e.stderr,
    /^\{"level":"warn","ts":"[^"]+","caller":"server\/config","msg":"failed to verify flags","error":"'false' is not a valid flag"\}\n$/,
  );
  const c = fails(['--logger=capnslog', 'positional']);
  assert.match(
    c.stderr,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} E \| server\/config: error verifying flags, 'positional' is not a valid flag\. See 'conclave --help'\.\n$/,
  );
  expectError(['--', '--name=x'], 'invalid', 1, "'--name=x' is not a valid flag");
  expectError(['-'], 'invalid', 1, "'-' is not a valid flag");
  expectError(['positional', '--bogus'], 'invalid', 1, "'positional' is not a valid flag");
});

test('flag-syntax errors print Go flag messages and the usage, exit 2', () => {
  // the argument → the error; each also prints the usage
  const cases: Record<string, string> = {
    '--bogus': 'flag provided but not defined: -bogus',
    '-bogus=1': 'flag provided but not defined: -bogus',
    '--heartbeat-interval=abc': 'invalid value "abc" for flag -heartbeat-interval: parse error',
    '--heartbeat-interval=-1': 'invalid value "-1" for flag -heartbeat-interval: parse error',
    '--heartbeat-interval=99999999999999999999':
      'invalid value "99999999999999999999" for flag -heartbeat-interval: value out of range',
    '--quota-backend-bytes=9223372036854775808':
      'invalid value "9223372036854775808" for flag -quota-backend-bytes: value out of range',
    '--max-concurrent-streams=x':
      'invalid value "x" for flag -max-concurrent-streams: strconv.ParseUint: parsing "x": invalid syntax',
    '--grpc-keepalive-min-time=5': 'invalid value "5" for flag -grpc-keepalive-min-time: parse error',
    '--debug=yes': 'invalid boolean value "yes" for -debug: parse error',
    '--initial-cluster-state=foo': 'invalid value "foo" for flag -initial-cluster-state: invalid value',
    '--proxy=maybe': 'invalid value "maybe" for flag -proxy: invalid value',
    '--listen-client-urls=foo':
      'invalid value "foo" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: foo',
    '--listen-client-urls=http://127.0.0.1':
      'invalid value "http://127.0.0.1" for flag -listen-client-urls: URL address does not have the form "host:port": http://127.0.0.1',
    '--listen-client-urls=http://127.0.0.1:2379/foo':
      'invalid value "http://127.0.0.1:2379/foo" for flag -listen-client-urls: URL must not contain a path: http://127.0.0.1:2379/foo',
    '--cors=http://foo.com':
      'invalid value "http://foo.com" for flag -cors: URL address does not have the form "host:port": http://foo.com',
    '--cors=': 'invalid value "" for flag -cors: URL scheme must be http, https, unix, or unixs: ',
    '--name': 'flag needs an argument: -name',
    '---name=x': 'bad flag syntax: ---name=x',
    '-=x': 'bad flag syntax: -=x',
  };
  const usageError = (argv: string[], msg: string): void => {
    const e = expectError(argv, 'usage', 2, msg);
    assert.ok(e.stderr.startsWith(`${msg}\nUsage:\n\n  conclave [flags]\n`), argv.join(' '));
    assert.equal(e.stdout, '');
  };
  for (const [arg, msg] of Object.entries(cases)) usageError([arg], msg);
  usageError(['--version', '--bogus'], 'flag provided but not defined: -bogus');
});

test('-h and --help print usage on stderr and the flag list on stdout, exit 0', () => {
  for (const argv of [['-h'], ['--help'], ['-help'], ['--help=x'], ['-h', '--bogus'], ['--name=x', '-h']]) {
    const e = expectError(argv, 'help', 0, 'help requested');
    assert.ok(e.stderr.startsWith('Usage:\n\n  conclave [flags]\n    Start a conclave server.\n'));
    assert.ok(e.stdout.startsWith("\nMember:\n  --name 'default'\n    Human-readable name for this member.\n"));
  }
});

test('--version prints the version text, exit 0; positional arguments still fail first', () => {
  const e = expectError(['--version'], 'version', 0, 'version requested');
  assert.match(e.stdout, /^conclave Version: \d+\.\d+\.\d+\netcd Version: 3\.5\.30\n/);
  assert.equal(fails(['-version=true', '--name', 'x']).kind, 'version');
  assert.equal(parseConfig(['--version=false'], NO_ENV).name, 'default');
  assert.equal(fails(['--version', 'positional']).kind, 'invalid');
});

test('ETCD_* variables set flags not given on the command line', () => {
  const c = parseConfig(['--election-timeout=2000'], {
    ETCD_NAME: 'fromenv',
    ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:23791',
    ETCD_ADVERTISE_CLIENT_URLS: 'http://127.0.0.1:23791',
    ETCD_DEBUG: 'true',
    ETCD_HEARTBEAT_INTERVAL: '200',
    ETCD_EMPTY: '',
    ETCDCTL_API: '3',
    PATH: '/usr/bin',
  });
  assert.equal(c.name, 'fromenv');
  assert.equal(c.heartbeatIntervalMs, 200);
  assert.equal(c.electionTicks, 10);
  assert.equal(c.logLevel, 'debug');
  assert.deepEqual(hrefs(c.listenClientUrls), ['http://127.0.0.1:23791']);
  assert.equal(c.sources.get('name'), 'env');
  assert.equal(c.sources.get('election-timeout'), 'flag');
  const msgs = c.notices.map((n) => n.msg);
  assert.ok(msgs.includes('recognized and used environment variable ETCD_NAME=fromenv'));
  assert.ok(msgs.includes('recognized and used environment variable ETCD_DEBUG=true'));
  assert.ok(msgs.includes('unrecognized environment variable ETCD_EMPTY='));
  assert.ok(!msgs.some((m) => m.includes('ETCDCTL_API') || m.includes('PATH')));
  assert.ok(
    msgs.indexOf('recognized and used environment variable ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:23791') <
      msgs.indexOf('recognized and used environment variable ETCD_NAME=fromenv'),
    'flags are visited in name order',
  );
});

test('a variable shadowed by a command-line flag is fatal; bad env values fail verification', () => {
  const e = expectError(
    ['--name', 'bar'],
    'fatal',
    1,
    'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    { ETCD_NAME: 'foo' },
  );
  assert.match(e.stderr, /"level":"fatal".*"environment-variable":"ETCD_NAME"/);
  assert.equal(fails(['--name', 'bar'], { ETCD_NAME: '' }).kind, 'fatal', 'even an empty one');
  expectError([], 'invalid', 1, 'invalid value "abc" for ETCD_HEARTBEAT_INTERVAL: parse error', {
    ETCD_HEARTBEAT_INTERVAL: 'abc',
  });
  expectError([], 'invalid', 1, 'invalid value "3.4.23" for ETCD_VERSION: parse error', { ETCD_VERSION: '3.4.23' });
  expectError([], 'invalid', 1, 'invalid value "yes" for ETCD_DEBUG: parse error', { ETCD_DEBUG: 'yes' });
  assert.equal(parseConfig([], { ETCD_VERSION: 'false' }).name, 'default');
});

test("legacy etcd 2 flags are accepted and ignored with etcd's warning", () => {
  const c = parseConfig(['-config', '--peer-heartbeat-interval=5', '-v'], { ETCD_SNAPSHOT: 'x' });
  const msgs = c.notices.map((n) => `${n.level}:${n.msg}`);
  assert.ok(msgs.includes('warn:flag "-config" is no longer supported - ignoring.'));
  assert.ok(msgs.includes('warn:flag "-peer-heartbeat-interval" is no longer supported - ignoring.'));
  assert.ok(msgs.includes('warn:flag "-v" is no longer supported - ignoring.'));
  assert.ok(msgs.includes('warn:flag "-snapshot" is no longer supported - ignoring.'));
  assert.equal(c.heartbeatIntervalMs, 100);
});

function nonDefault(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'bool':
      return spec.default === 'true' ? 'false' : 'true';
    case 'uint':
    case 'uint64':
    case 'int':
    case 'int64':
      return String(Number(spec.default) + 1);
    case 'uint32':
      return '100';
    case 'duration':
      return '1h3m';
    case 'urls':
    case 'cors':
      return 'http://127.0.0.1:9';
    case 'enum':
      return spec.values?.find((v) => v !== spec.default) ?? '';
    default:
      return spec.default === 'x' ? 'y' : 'x';
  }
}

test('gRPC keepalive and backend batch flags are taken, from flags and environment', () => {
  const c = parseConfig(
    [
      '--grpc-keepalive-min-time=250ms',
      '--grpc-keepalive-interval=30s',
      '--grpc-keepalive-timeout=3s',
      '--backend-batch-interval=10ms',
      '--backend-batch-limit=50',
    ],
    NO_ENV,
  );
  assert.deepEqual(c.grpcKeepalive, { minTimeMs: 250, intervalMs: 30_000, timeoutMs: 3000 });
  assert.deepEqual(c.backendBatch, { intervalMs: 10, limit: 50 });
  const e = parseConfig([], { ETCD_GRPC_KEEPALIVE_MIN_TIME: '1m', ETCD_BACKEND_BATCH_LIMIT: '7' });
  assert.equal(e.grpcKeepalive.minTimeMs, 60_000);
  assert.equal(e.backendBatch.limit, 7);
});

test('every flag Conclave does not implement fails with a non-default value, and passes with its default', () => {
  const missing = FLAGS.filter((s) => !s.implemented && s.kind !== 'ignored');
  assert.ok(missing.length > 0);
  for (const spec of missing) {
    const e = expectError(
      [`--${spec.name}=${nonDefault(spec)}`],
      'unsupported',
      2,
      `conclave: flag --${spec.name} is not supported yet`,
    );
    assert.equal(e.stderr, `conclave: flag --${spec.name} is not supported yet\n`);
    assert.equal(
      fails([], { [`ETCD_${spec.name.toUpperCase().replace(/-/g, '_')}`]: nonDefault(spec) }).kind,
      'unsupported',
      `${spec.name} via env`,
    );
    const def = spec.default === '' ? [`--${spec.name}=`] : [`--${spec.name}=${spec.default}`];
    assert.doesNotThrow(() => parseConfig(def, NO_ENV), `${spec.name} with its default`);
  }
  expectError(
    ['--log-outputs=systemd/journal'],
    'unsupported',
    2,
    'conclave: flag --log-outputs=systemd/journal is not supported yet',
  );
  expectError(
    ['--logger=capnslog', '--log-package-levels=etcdserver=DEBUG'],
    'unsupported',
    2,
    'conclave: flag --log-package-levels with --logger=capnslog is not supported yet',
  );
  expectError(['gateway', '--listen-addr=x'], 'unsupported', 2, 'conclave: command "gateway" is not supported yet');
  expectError(['grpc-proxy', 'start'], 'unsupported', 2, 'conclave: command "grpc-proxy" is not supported yet');
});

test("validation errors carry etcd's exact texts (exit 1)", () => {
  // the arguments (space-separated) → the error
  const cases: Record<string, string> = {
    '--election-timeout=400': '--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]',
    '--heartbeat-interval=0': '--heartbeat-interval must be >0 (set to 0ms)',
    '--election-timeout=0': '--election-timeout must be >0 (set to 0ms)',
    '--election-timeout=60000': '--election-timeout[60000ms] is too long, and should be set less than 50000ms',
    '--heartbeat-interval=1000 --election-timeout=60000':
      '--election-timeout[60000ms] is too long, and should be set less than 50000ms',
    '--auto-compaction-mode=foo': 'unknown auto-compaction-mode "foo"',
    '--experimental-enable-lease-checkpoint-persist':
      'setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint',
    '--logger=bogus': 'unknown logger option "bogus"',
    '--log-outputs=default,stderr': 'multi logoutput for "default" is not supported yet',
    '--log-outputs=': 'open sink "": open : no such file or directory',
    '--logger=capnslog --log-outputs=stdout,stderr': `--logger=capnslog supports only 1 value in '--log-outputs', got ["stderr" "stdout"]`,
    '--logger=capnslog --log-outputs=/tmp/x':
      'unknown log-output "/tmp/x" (only supports "default", "stderr", "stdout")',
    '--listen-client-urls=http://example.com:23791 --advertise-client-urls=http://127.0.0.1:23791':
      'expected IP in URL for binding (http://example.com:23791)',
    '--listen-peer-urls=http://example.com:23801': 'expected IP in URL for binding (http://example.com:23801)',
    '--listen-client-urls=http://127.0.0.1:23791 --advertise-client-urls=http://:23791':
      '--advertise-client-urls "http://:23791" must be "host:port" (unexpected empty host (http://:23791))',
    '--initial-advertise-peer-urls=http://:2380':
      '--initial-advertise-peer-urls "http://:2380" must be "host:port" (unexpected empty host (http://:2380))',
    '--listen-client-urls=http://127.0.0.1:23791':
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
  };
  for (const [argv, msg] of Object.entries(cases)) expectError(argv.split(' '), 'invalid', 1, msg);
  const e = fails(['--listen-client-urls=http://127.0.0.1:23791']);
  const lines = e.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(
    lines.map((l) => [l['level'], l['msg']]),
    [
      ['warn', 'failed to verify flags'],
      ['warn', 'advertise client URLs are not set'],
    ],
  );
  const capn = fails(['--logger=capnslog', '--listen-client-urls=http://127.0.0.1:23791']);
  assert.match(
    capn.stderr,
    /E \| server\/config: When listening on specific address\(es\), this etcd process must advertise accessible url\(s\) to each connected client\.\n$/,
  );
  assert.ok(
    parseConfig(
      [
        '--listen-client-urls=http://localhost:23791,http://[::1]:23792,unix://sock:0',
        '--advertise-client-urls=http://127.0.0.1:23791',
      ],
      NO_ENV,
    ),
  );
});

test('an unknown --log-level makes etcd panic (exit 2)', () => {
  for (const level of ['bogus', 'DEBUG', 'warning']) {
    const e = expectError([`--log-level=${level}`], 'panic', 2, `unknown level "${level}"`);
    assert.equal(e.stderr, `panic: unknown level "${level}"\n`);
  }
  assert.equal(parseConfig(['--log-level=dpanic'], NO_ENV).logLevel, 'dpanic');
  assert.equal(parseConfig(['--log-level=warn'], NO_ENV).logLevel, 'warn');
});

test("deprecation warnings are printed raw, like etcd's [WARNING] lines", () => {
  const c = parseConfig(['--debug', '--logger=capnslog', '--log-output=stdout'], NO_ENV);
  const raw = c.notices.filter((n) => n.level === 'raw').map((n) => n.msg);
  assert.deepEqual(raw, [
    `[WARNING] Deprecated '--log-output' flag is set to ["stdout"]`,
    "Please use '--log-outputs' flag",
    "[WARNING] Deprecated '--debug' flag is set to true (use '--log-level=debug' instead",
    "[WARNING] Deprecated '--debug' flag is set to true with inconsistent '--log-level=info' flag",
    "[WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead",
  ]);
  assert.deepEqual(c.logOutputs, ['default'], '--log-output only warns, as in etcd 3.4');
  let out = '';
  let rawOut = '';
  const log = createLogger({ write: (d) => (out += d) });
  reportNotices(c.notices, log, (l) => (rawOut += l));
  log.flush();
  assert.ok(rawOut.startsWith("[WARNING] Deprecated '--log-output'"));
  assert.match(out, /"level":"warn".*"msg":"'data-dir' was empty; using default","data-dir":"default.etcd"/);
});

test('derived values: data dir, initial cluster, election ticks, quota, URL lists', () => {
  const c = parseConfig(
    [
      '--name=n1',
      '--initial-advertise-peer-urls=http://127.0.0.1:23802,http://127.0.0.1:23801,http://127.0.0.1:23801',
      '--heartbeat-interval=50',
      '--election-timeout=275',
      '--quota-backend-bytes=-1',
      '--listen-metrics-urls=http://127.0.0.1:9000',
    ],
    NO_ENV,
  );
  assert.equal(c.dataDir, 'n1.etcd');
  assert.deepEqual(hrefs(c.initialAdvertisePeerUrls), ['http://127.0.0.1:23801', 'http://127.0.0.1:23802']);
  assert.equal(c.initialCluster, 'n1=http://127.0.0.1:23801,n1=http://127.0.0.1:23802');
  assert.equal(c.electionTicks, 5);
  assert.equal(c.quotaBackendBytes, null);
  assert.deepEqual(hrefs(c.listenMetricsUrls), ['http://127.0.0.1:9000']);
  assert.equal(parseConfig(['--quota-backend-bytes=1024'], NO_ENV).quotaBackendBytes, 1024);
  assert.equal(parseConfig(['--initial-cluster=a=http://x:1', '--name=a'], NO_ENV).initialCluster, 'a=http://x:1');
  assert.equal(parseConfig(['--data-dir=/var/lib/etcd'], NO_ENV).notices.length, 0);
});

test('auto-compaction retention: hours by default, Go durations, revisions', () => {
  const r = (argv: string[]): ServerConfig['autoCompaction'] => parseConfig(argv, NO_ENV).autoCompaction;
  assert.equal(r(['--auto-compaction-retention=5']).retentionMs, 5 * 3_600_000);
  assert.equal(r(['--auto-compaction-retention=5m']).retentionMs, 300_000);
  assert.equal(r(['--auto-compaction-retention=1h30m', '--auto-compaction-mode=periodic']).retentionMs, 5_400_000);
  assert.deepEqual(r(['--auto-compaction-mode=revision', '--auto-compaction-retention=1000']), {
    mode: 'revision',
    retention: '1000',
    retentionMs: 0,
    retentionRevisions: 1000,
  });
  const bad: Array<[string[], string]> = [
    [['--auto-compaction-retention=abc'], 'error parsing CompactionRetention: time: invalid duration "abc"'],
    [['--auto-compaction-retention=-1'], 'error parsing CompactionRetention: time: missing unit in duration "-1"'],
    [
      ['--auto-compaction-mode=revision', '--auto-compaction-retention=1h'],
      'error parsing CompactionRetention: revision retention must be a non-negative integer: "1h"',
    ],
  ];
  for (const [argv, msg] of bad) {
    const e = expectError(argv, 'startup', 1, msg);
    const lines = e.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(
      lines.map((l) => [l['level'], l['msg'], l['error']]),
      [
        ['warn', 'failed to start etcd', msg],
        ['fatal', 'discovery failed', msg],
      ],
    );
  }
});

test('auth token type and options; bcrypt cost out of range falls back to 10', () => {
  const c = parseConfig(
    ['--auth-token=jwt,pub-key=/a.pub,priv-key=/a.key,sign-method=RS256,ttl=5m', '--auth-token-ttl=60'],
    NO_ENV,
  );
  assert.equal(c.authToken, 'jwt');
  assert.deepEqual(c.authTokenOptions, {
    'pub-key': '/a.pub',
    'priv-key': '/a.key',
    'sign-method': 'RS256',
    ttl: '5m',
  });
  assert.equal(c.authTokenTtlSeconds, 60);
  expectError(['--auth-token=bogus'], 'startup', 1, 'auth: invalid auth options');
  expectError(['--auth-token=jwt,novalue'], 'startup', 1, 'auth: invalid auth options');
  expectError(['--auth-token=jwt,a=1,a=2'], 'startup', 1, 'auth: invalid auth options');
  const b = parseConfig(['--bcrypt-cost=2'], NO_ENV);
  assert.equal(b.bcryptCost, 10);
  assert.ok(
    b.notices.some(
      (n) => n.msg === 'use default bcrypt cost instead of the invalid given cost' && n.fields?.['given-cost'] === 2,
    ),
  );
  assert.equal(parseConfig(['--bcrypt-cost=12'], NO_ENV).bcryptCost, 12);
});

test('TLS flags land in clientTls / peerTls', () => {
  const c = parseConfig(
    [
      '--cert-file=/c.pem',
      '--key-file=/k.pem',
      '--trusted-ca-file=/ca.pem',
      '--client-cert-auth',
      '--peer-auto-tls',
      '--peer-cert-allowed-cn=etcd-peer',
      '--peer-client-cert-auth=true',
      '--client-crl-file=/clients.crl',
      '--client-cert-allowed-hostname=app.example',
      '--peer-crl-file=/peers.crl',
      '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256',
    ],
    NO_ENV,
  );
  assert.deepEqual(c.clientTls, {
    certFile: '/c.pem',
    keyFile: '/k.pem',
    trustedCaFile: '/ca.pem',
    clientCertAuth: true,
    autoTls: false,
    allowedCn: '',
    allowedHostname: 'app.example',
    crlFile: '/clients.crl',
  });
  assert.deepEqual(c.peerTls, {
    certFile: '',
    keyFile: '',
    trustedCaFile: '',
    clientCertAuth: true,
    autoTls: true,
    allowedCn: 'etcd-peer',
    allowedHostname: '',
    crlFile: '/peers.crl',
  });
  assert.deepEqual(c.cipherSuites, ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256']);
  assert.equal(parseConfig(['--peer-cert-allowed-hostname=n1.example'], NO_ENV).peerTls.allowedHostname, 'n1.example');
});
