import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialClusterString, parseInitialCluster, verifyBootstrap } from './bootstrap.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse-config.js';

const base = [
  '--listen-client-urls=http://127.0.0.1:23791',
  '--advertise-client-urls=http://127.0.0.1:23791',
  '--listen-peer-urls=http://127.0.0.1:23801',
  '--initial-advertise-peer-urls=http://127.0.0.1:23801',
];

function bootstrapError(argv: string[]): string {
  const cfg = parseConfig([...base, ...argv], {});
  try {
    verifyBootstrap(cfg);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.kind, 'startup');
    assert.equal(e.exitCode, 1);
    return e.message;
  }
  assert.fail('expected verifyBootstrap to fail');
}

test('parseInitialCluster splits names and URLs like types.NewURLsMap', () => {
  const m = parseInitialCluster(
    'infra1=http://10.0.1.11:2380,infra0=http://10.0.1.10:2380,infra0=http://10.0.1.10:2381,,',
  );
  assert.deepEqual([...m.keys()], ['infra0', 'infra1']);
  assert.deepEqual(
    m.get('infra0')?.map((u) => u.href),
    ['http://10.0.1.10:2380', 'http://10.0.1.10:2381'],
  );
  assert.equal(
    initialClusterString(m),
    'infra0=http://10.0.1.10:2380,infra0=http://10.0.1.10:2381,infra1=http://10.0.1.11:2380',
  );
  assert.throws(() => parseInitialCluster('bad'), { message: 'URL scheme must be http, https, unix, or unixs: ' });
  assert.throws(() => parseInitialCluster('a=foo'), { message: 'URL scheme must be http, https, unix, or unixs: foo' });
  assert.equal(parseInitialCluster('').size, 0);
});

test('a consistent single-member bootstrap passes; the default initial cluster follows the name', () => {
  const cfg = parseConfig(['--name=n1', ...base], {});
  assert.equal(cfg.initialCluster, 'n1=http://127.0.0.1:23801');
  const cluster = verifyBootstrap(cfg);
  assert.deepEqual([...cluster.keys()], ['n1']);
  assert.deepEqual(
    verifyBootstrap(parseConfig(['--initial-cluster=default=http://localhost:23801', ...base], {})).size,
    1,
    'localhost resolves to 127.0.0.1',
  );
  assert.ok(
    verifyBootstrap(
      parseConfig(
        [
          ...base,
          '--initial-cluster-state=existing',
          '--initial-cluster=default=http://127.0.0.1:9,other=http://127.0.0.1:23801',
        ],
        {},
      ),
    ),
  );
});

test("bootstrap errors carry etcd 3.4's texts", () => {
  // --initial-cluster → the error
  const errors: Record<string, string> = {
    bad: 'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ',
    'default=foo': 'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: foo',
    'other=http://127.0.0.1:23801': 'couldn\'t find local name "default" in the initial cluster configuration',
    'default=http://127.0.0.1:23802':
      '--initial-cluster has default=http://127.0.0.1:23802 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23801 (resolved urls: "http://127.0.0.1:23801" != "http://127.0.0.1:23802")',
    'default=http://127.0.0.1:23801,default=http://127.0.0.1:23801':
      'failed to resolve http://127.0.0.1:23801 to match --initial-cluster=default=http://127.0.0.1:23801 (len(["http://127.0.0.1:23801"]) != len(["http://127.0.0.1:23801" "http://127.0.0.1:23801"]))',
    'default=http://127.0.0.1:23801,b=http://127.0.0.1:23801':
      'initial cluster b=http://127.0.0.1:23801,default=http://127.0.0.1:23801 has duplicate url',
  };
  for (const [cluster, want] of Object.entries(errors)) {
    assert.equal(bootstrapError([`--initial-cluster=${cluster}`]), want, cluster);
  }
  assert.equal(
    bootstrapError([
      '--initial-advertise-peer-urls=http://127.0.0.1:23801,http://127.0.0.1:23802',
      '--initial-cluster=default=http://127.0.0.1:23801',
    ]),
    '--initial-advertise-peer-urls has http://127.0.0.1:23802 but missing from --initial-cluster=default=http://127.0.0.1:23801,default=http://127.0.0.1:23802',
  );
});

test('bootstrap errors are logged as etcd logs start-up failures', () => {
  const cfg = parseConfig([...base, '--initial-cluster=x=http://127.0.0.1:23801', '--logger=capnslog'], {});
  try {
    verifyBootstrap(cfg);
    assert.fail('expected failure');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.stderr,
      / C \| server\/config: couldn't find local name "default" in the initial cluster configuration\n$/,
    );
  }
});
