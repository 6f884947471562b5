import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse-config.js';

function fromFile(yaml: string, argv: string[] = [], env: Record<string, string> = {}): ReturnType<typeof parseConfig> {
  return parseConfig(['--config-file', 'etcd.yaml', ...argv], env, { readFile: () => yaml });
}

function fileError(yaml: string): ConfigError {
  try {
    fromFile(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

const SAMPLE = `# etcd.conf.yml
name: 'infra1'
data-dir: /var/lib/etcd/infra1
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 4294967296
listen-peer-urls: http://127.0.0.1:12380
listen-client-urls: http://127.0.0.1:12379,http://127.0.0.1:12378
advertise-client-urls: http://127.0.0.1:12379
initial-advertise-peer-urls: http://127.0.0.1:12380
initial-cluster: infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380
initial-cluster-token: 'etcd-cluster-1'
initial-cluster-state: 'existing'
strict-reconfig-check: false
enable-v2: false
enable-pprof: false
auto-compaction-mode: revision
auto-compaction-retention: "1000"
experimental-watch-progress-notify-interval: 5000000000
client-transport-security:
  cert-file: /etc/ssl/server.pem
  key-file: /etc/ssl/server-key.pem
  client-cert-auth: true
  trusted-ca-file: /etc/ssl/ca.pem
  auto-tls: false
peer-transport-security:
  auto-tls: true
  allowed-cn: etcd-peer
logger: zap
log-level: warn
log-outputs: [stdout, /var/log/etcd.log]
force-new-cluster: false
`;

test("a config file like etcd's sample sets every kind of value", () => {
  const c = fromFile(SAMPLE);
  assert.equal(c.configFile, 'etcd.yaml');
  assert.equal(c.name, 'infra1');
  assert.equal(c.dataDir, '/var/lib/etcd/infra1');
  assert.equal(c.snapshotCount, 10000);
  assert.equal(c.quotaBackendBytes, 4294967296);
  assert.deepEqual(
    c.listenClientUrls.map((u) => u.href),
    ['http://127.0.0.1:12378', 'http://127.0.0.1:12379'],
  );
  assert.equal(c.initialCluster, 'infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380');
  assert.equal(c.initialClusterToken, 'etcd-cluster-1');
  assert.equal(c.initialClusterState, 'existing');
  assert.equal(c.strictReconfigCheck, false);
  assert.deepEqual(c.autoCompaction, { mode: 'revision', retention: '1000', retentionMs: 0, retentionRevisions: 1000 });
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 5000);
  assert.deepEqual(c.clientTls, {
    certFile: '/etc/ssl/server.pem',
    keyFile: '/etc/ssl/server-key.pem',
    trustedCaFile: '/etc/ssl/ca.pem',
    clientCertAuth: true,
    autoTls: false,
    allowedCn: '',
    allowedHostname: '',
    crlFile: '',
  });
  assert.equal(c.peerTls.autoTls, true);
  assert.equal(c.peerTls.allowedCn, 'etcd-peer');
  assert.equal(c.logLevel, 'warn');
  assert.deepEqual(c.logOutputs, ['stdout', '/var/log/etcd.log']);
  assert.equal(c.sources.get('name'), 'file');
  assert.deepEqual(c.notices.at(-1), {
    level: 'info',
    msg: 'loaded server configuration, other configuration command line flags and environment variables will be ignored if provided',
    fields: { path: 'etcd.yaml' },
  });
});

test('with a config file, other flags and ETCD_* variables are ignored (but still parsed)', () => {
  const c = fromFile('name: fromfile\n', ['--name=fromflag', '--heartbeat-interval=7'], {
    ETCD_NAME: 'fromenv',
    ETCD_BOGUS: '1',
  });
  assert.equal(c.name, 'fromfile');
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.ok(!c.notices.some((n) => n.msg.includes('recognized')));
  assert.throws(
    () => fromFile('name: x\n', ['--bogus']),
    (e: unknown) => e instanceof ConfigError && e.kind === 'usage',
  );
  const viaEnv = parseConfig(
    [],
    { ETCD_CONFIG_FILE: 'env.yaml', ETCD_NAME: 'ignored' },
    { readFile: () => 'name: viaenv\n' },
  );
  assert.equal(viaEnv.name, 'viaenv');
  assert.equal(viaEnv.configFile, 'env.yaml');
});

test('a config file keeps default advertise URLs when it sets only listen URLs (as etcd does)', () => {
  const c = fromFile('listen-client-urls: http://127.0.0.1:23791\n');
  assert.deepEqual(
    c.advertiseClientUrls.map((u) => u.href),
    ['http://localhost:2379'],
  );
});

test("values of the wrong type fail with etcd's JSON unmarshal errors", () => {
  const cases: Array<[string, string]> = [
    [
      'election-timeout: "1000"\n',
      'cannot unmarshal string into Go struct field configYAML.election-timeout of type uint',
    ],
    ['name: 1\n', 'cannot unmarshal number into Go struct field configYAML.name of type string'],
    [
      'auto-compaction-retention: 1\n',
      'cannot unmarshal number into Go struct field configYAML.auto-compaction-retention of type string',
    ],
    ['log-outputs: stderr\n', 'cannot unmarshal string into Go struct field configYAML.log-outputs of type []string'],
    [
      'grpc-keepalive-min-time: 5s\n',
      'cannot unmarshal string into Go struct field configYAML.grpc-keepalive-min-time of type time.Duration',
    ],
    [
      'heartbeat-interval: -1\n',
      'cannot unmarshal number -1 into Go struct field configYAML.heartbeat-interval of type uint',
    ],
    ['max-txn-ops: 1.5\n', 'cannot unmarshal number 1.5 into Go struct field configYAML.max-txn-ops of type uint'],
    ['debug: "true"\n', 'cannot unmarshal string into Go struct field configYAML.debug of type bool'],
    [
      'client-transport-security:\n  client-cert-auth: 1\n',
      'cannot unmarshal number into Go struct field configYAML.client-transport-security.client-cert-auth of type bool',
    ],
  ];
  for (const [yaml, msg] of cases) {
    const e = fileError(yaml);
    assert.equal(e.kind, 'invalid', yaml);
    assert.equal(e.exitCode, 1);
    assert.equal(e.message, `error unmarshaling JSON: while decoding JSON: json: ${msg}`);
  }
});

test('file-level errors: missing file, YAML syntax, bad URLs, validation', () => {
  const missing = (() => {
    try {
      parseConfig(['--config-file=/nonexistent/etcd.yaml'], {});
    } catch (e) {
      return e as ConfigError;
    }
    assert.fail('expected failure');
  })();
  assert.equal(missing.message, 'open /nonexistent/etcd.yaml: no such file or directory');
  assert.equal(missing.exitCode, 1);
  assert.equal(
    fileError('name: [\n').message,
    'error converting YAML to JSON: yaml: line 2: Flow sequence in block collection must be sufficiently indented and end with a ]',
  );
  const url = fileError('listen-client-urls: foo\n');
  assert.equal(
    url.message,
    'unexpected error setting up listen-client-urls: URL scheme must be http, https, unix, or unixs: foo',
  );
  assert.equal(url.stderr, `${url.message}\n`, 'etcd prints this one bare');
  assert.equal(fileError('initial-cluster-state: foo\n').message, 'unexpected clusterState "foo"');
  assert.equal(
    fileError('election-timeout: 1\n').message,
    '--election-timeout[1ms] should be at least as 5 times as --heartbeat-interval[100ms]',
  );
  assert.equal(
    fileError('discovery-fallback: nope\n').message,
    'unexpected error setting up discovery-fallback flag: invalid value',
  );
});

test('unknown keys are ignored with a warning; not-supported settings still fail', () => {
  const c = fromFile('bogus-key: 1\ncert-file: /top-level/is/not/read\nclient-transport-security:\n  nope: 1\n');
  assert.equal(c.clientTls.certFile, '');
  const warned = c.notices
    .filter((n) => n.msg === 'unknown configuration file key ignored')
    .map((n) => n.fields?.['key']);
  assert.deepEqual(warned, ['bogus-key', 'cert-file', 'client-transport-security.nope']);
  const e = fileError('enable-v2: true\n');
  assert.equal(e.message, 'conclave: flag --enable-v2 is not supported yet');
  assert.equal(fromFile('enable-v2: false\nwal-dir: ~\n').walDir, '');
});

test('reads a real file from disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-cfg-'));
  try {
    const path = join(dir, 'etcd.yaml');
    writeFileSync(path, 'name: ondisk\nmax-request-bytes: 0x200000\n');
    const c = parseConfig([`--config-file=${path}`], {});
    assert.equal(c.name, 'ondisk');
    assert.equal(c.maxRequestBytes, 2 * 1024 * 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
