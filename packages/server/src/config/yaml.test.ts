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

test('anchors, aliases, merge keys, block scalars, flow mappings, tags; the first document is read', () => {
  const doc = parseYaml(`defaults: &defaults
  heartbeat-interval: 100
  election-timeout: 1000
member:
  <<: *defaults
  election-timeout: 2000
name: &n infra0
again: *n
literal: |
  line one
  line two
folded: >
  folded
  text
flow: {a: 1, "b": yes, c: [x, 'y']}
tagged: !!str 0x10
number: !!int "12"
---
ignored: true
`);
  assert.deepEqual(doc, {
    defaults: { 'heartbeat-interval': 100, 'election-timeout': 1000 },
    member: { 'election-timeout': 2000, 'heartbeat-interval': 100 },
    name: 'infra0',
    again: 'infra0',
    literal: 'line one\nline two\n',
    folded: 'folded text\n',
    flow: { a: 1, b: true, c: ['x', 'y'] },
    tagged: '0x10',
    number: 12,
  });
});

test('the file bytes must be UTF-8 (or UTF-16 with a byte-order mark), as go-yaml reads them', () => {
  const bad: Array<[number[], string]> = [
    [[0x6e, 0x3a, 0x20, 0xff, 0x0a], 'yaml: invalid leading UTF-8 octet'],
    [[0x6e, 0x3a, 0x20, 0xc3, 0x28, 0x0a], 'yaml: invalid trailing UTF-8 octet'],
    [[0x6e, 0x3a, 0x20, 0xe2, 0x82], 'yaml: incomplete UTF-8 octet sequence'],
  ];
  for (const [bytes, msg] of bad) {
    assert.throws(
      () => parseYaml(Uint8Array.from(bytes)),
      (e: unknown) => e instanceof YamlError && e.message === msg,
      msg,
    );
  }
  assert.deepEqual(parseYaml(Buffer.from('\uFEFFname: é\n')), { name: 'é' });
  assert.deepEqual(parseYaml(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name: é\n', 'utf16le')])), {
    name: 'é',
  });
});

test('nesting beyond 500 levels and alias bombs are refused before they cost the member', () => {
  const depth = (n: number): string => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
  assert.deepEqual(Object.keys(parseYaml(depth(400))), ['a']);
  const blocks = (n: number): string => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
  for (const text of [
    depth(501),
    depth(100_000),
    blocks(600),
    `a:\n${'- '.repeat(600)}x\n`,
    `${'- '.repeat(600)}x\n`,
  ]) {
    const start = performance.now();
    assert.throws(
      () => parseYaml(text),
      (e: unknown) => e instanceof YamlError && e.message === 'yaml: exceeded max depth of 500',
    );
    assert.ok(performance.now() - start < 1000, 'refused quickly');
  }
  // Ten levels of ten aliases each: 10^6 nodes from a few hundred bytes.
  let lol = 'l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 7; i++)
    lol += `l${i}: &l${i} [${Array(10)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  assert.throws(
    () => parseYaml(lol),
    (e: unknown) => e instanceof YamlError && /expands to more than 100000 nodes/.test(e.message),
  );
});

test('errors carry a line number', () => {
  const bad: Array<[string, RegExp]> = [
    ['name: [\n', /^yaml: line 2: Flow sequence in block collection must be sufficiently indented and end with a \]$/],
    ['a: 1\n  b: 2\n', /^yaml: line 1: Nested mappings are not allowed in compact mappings$/],
    ['a: "unterminated\n', /^yaml: line 2: Missing closing "quote$/],
    ['\ta: 1\n', /^yaml: line 1: Tabs are not allowed as indentation$/],
    ['a: 1\nb: *nope\n', /^yaml: line 2: unknown anchor 'nope' referenced$/],
    ['a: !!foo x\n', /^yaml: line 1: unsupported tag tag:yaml.org,2002:foo$/],
    ['<<: [1]\n', /^yaml: line 1: map merge requires map or sequence of maps as the value$/],
    ['- a\n- b\n', /^yaml: line 1: the configuration must be a mapping/],
    ['just text\n', /^yaml: line 1: the configuration must be a mapping/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseYaml(text),
      (e: unknown) => e instanceof YamlError && re.test(e.message),
      text,
    );
  }
  assert.deepEqual(parseYaml('# only comments\n\n'), {});
  assert.deepEqual(parseYaml('---\n...\n'), {});
});
