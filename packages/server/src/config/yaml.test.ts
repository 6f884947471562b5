import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYaml, resolvePlain, YamlError } from './yaml.js';

test('reads an etcd configuration file: scalars, nesting, lists, comments', () => {
  const doc = parseYaml(`# This is the configuration file for the etcd server.
---
name: 'infra1'   # member name
data-dir: /var/lib/etcd
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
quota-backend-bytes: 0x80000000
listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379
initial-cluster: infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380
initial-cluster-state: "new"
strict-reconfig-check: yes
enable-v2: Off
debug: false
log-outputs: [stderr, "/var/log/etcd.log"]
cipher-suites:
  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  - 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'
empty-list: []
client-transport-security:
  # Path to the client server TLS cert file.
  cert-file: /etc/etcd/server.crt
  client-cert-auth: true
  auto-tls: false
peer-transport-security:
  trusted-ca-file: "/etc/etcd/ca.crt"
ratio: 1.5
quoted: "a \\"b\\" \\u00e9 # not a comment"
single: 'it''s # kept'
...
`);
  assert.deepEqual(doc, {
    name: 'infra1',
    'data-dir': '/var/lib/etcd',
    'wal-dir': null,
    'snapshot-count': 10000,
    'heartbeat-interval': 100,
    'quota-backend-bytes': 2147483648,
    'listen-client-urls': 'http://10.0.0.1:2379,http://127.0.0.1:2379',
    'initial-cluster': 'infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380',
    'initial-cluster-state': 'new',
    'strict-reconfig-check': true,
    'enable-v2': false,
    debug: false,
    'log-outputs': ['stderr', '/var/log/etcd.log'],
    'cipher-suites': ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
    'empty-list': [],
    'client-transport-security': { 'cert-file': '/etc/etcd/server.crt', 'client-cert-auth': true, 'auto-tls': false },
    'peer-transport-security': { 'trusted-ca-file': '/etc/etcd/ca.crt' },
    ratio: 1.5,
    quoted: 'a "b" é # not a comment',
    single: "it's # kept",
  });
});

test('block lists may sit at the key indentation, flow lists may span lines', () => {
  assert.deepEqual(parseYaml('a:\n- x1\n- x2\nb: [1,\n  2, 3]\nc: 1\n'), { a: ['x1', 'x2'], b: [1, 2, 3], c: 1 });
});

test('plain scalars are typed as go-yaml v2 (YAML 1.1) types them', () => {
  const cases: Array<[string, unknown]> = [
    ['~', null],
    ['null', null],
    ['', null],
    ['y', true],
    ['ON', true],
    ['no', false],
    ['123', 123],
    ['-5', -5],
    ['1_000', 1000],
    ['0o17', 15],
    ['017', 15],
    ['0b11', 3],
    ['1e3', 1000],
    ['.5', 0.5],
    ['9223372036854775807', 9223372036854775807n],
    ['5s', '5s'],
    ['http://a:1', 'http://a:1'],
    ['1.2.3', '1.2.3'],
  ];
  for (const [s, want] of cases) assert.deepEqual(resolvePlain(s), want, s);
});

test('errors carry a line number', () => {
  const bad: Array<[string, RegExp]> = [
    ['name: [\n', /^yaml: line 1: did not find expected ',' or ']'$/],
    ['a: 1\n  b: 2\n', /^yaml: line 2: did not find expected key$/],
    ['a: "unterminated\n', /^yaml: line 1: found unexpected end of stream$/],
    ['a: &anchor 1\n', /^yaml: line 1: unsupported YAML construct/],
    ['a: |\n  text\n', /^yaml: line 1: unsupported YAML construct/],
    ['a: {b: 1}\n', /^yaml: line 1: unsupported YAML construct/],
    ['\ta: 1\n', /^yaml: line 1: found character that cannot start any token$/],
    ['a: b: c\n', /^yaml: line 1: mapping values are not allowed in this context$/],
    ['- a\n- b\n', /^yaml: line 1: the configuration must be a mapping/],
    ['just text\n', /^yaml: line 1: could not find expected ':'$/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseYaml(text),
      (e: unknown) => e instanceof YamlError && re.test(e.message),
      text,
    );
  }
  assert.deepEqual(parseYaml('# only comments\n\n'), {});
});
