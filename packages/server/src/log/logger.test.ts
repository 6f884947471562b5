import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLogOutputs, createLogger, type Logger } from './logger.js';
import { MSG } from './milestones.js';

function capture(opts: Parameters<typeof createLogger>[0] = {}): { log: Logger; lines: () => string[] } {
  let out = '';
  const log = createLogger({ ...opts, write: (d) => (out += d) });
  return {
    log,
    lines: () => {
      log.flush();
      return out.split('\n').filter((l) => l !== '');
    },
  };
}

test('zap lines carry level, ts, caller, msg, then fields, in that order', () => {
  const { log, lines } = capture({ caller: 'server/raft' });
  log.info(MSG.READY_TO_SERVE, { 'local-member-id': 'bdae9bbc11dd390d', 'forward-ticks': 9, 'pre-vote': false });
  const [line] = lines();
  assert.match(
    line ?? '',
    /^\{"level":"info","ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d{4})","caller":"server\/raft","msg":"ready to serve client requests","local-member-id":"bdae9bbc11dd390d","forward-ticks":9,"pre-vote":false\}$/,
  );
  assert.deepEqual(Object.keys(JSON.parse(line ?? '{}') as object), [
    'level',
    'ts',
    'caller',
    'msg',
    'local-member-id',
    'forward-ticks',
    'pre-vote',
  ]);
});

test('zap omits caller when none is set and encodes values the way zap does', () => {
  const { log, lines } = capture({ stacktrace: false });
  log.warn('values', {
    big: 13668033151171901709n,
    err: new Error('boom'),
    bytes: new Uint8Array([1, 2, 3]),
    nan: NaN,
    inf: -Infinity,
    list: ['http://127.0.0.1:2379'],
    nested: { a: [1, { b: null }] },
    undef: undefined,
    ctl: 'a\bb\fc\n',
  });
  const line = lines()[0] ?? '';
  assert.ok(line.startsWith('{"level":"warn","ts":"'));
  assert.ok(!line.includes('"caller"'));
  assert.ok(line.includes('"big":13668033151171901709,'), 'bigints are bare JSON numbers, like zap.Uint64');
  assert.ok(line.includes('"ctl":"a\\u0008b\\u000cc\\n"'));
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.equal(obj['err'], 'boom');
  assert.equal(obj['bytes'], 'AQID');
  assert.equal(obj['nan'], 'NaN');
  assert.equal(obj['inf'], '-Inf');
  assert.deepEqual(obj['list'], ['http://127.0.0.1:2379']);
  assert.deepEqual(obj['nested'], { a: [1, { b: null }] });
  assert.equal(obj['undef'], null);
});

test('levels filter entries; disabled levels never look at their fields', () => {
  const { log, lines } = capture({ level: 'warn' });
  let touched = false;
  const fields = {
    get x(): number {
      touched = true;
      return 1;
    },
  };
  log.debug('d', fields);
  log.info('i', fields);
  log.warn('w');
  log.log('error', 'e');
  assert.equal(touched, false);
  assert.deepEqual(
    lines().map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['w', 'e'],
  );
  assert.equal(log.enabled('info'), false);
  assert.equal(log.enabled('fatal'), true);
});

test('children share level and outputs, add fields once, and may name their own caller', () => {
  const { log, lines } = capture({ caller: 'server', fields: { name: 'n1' } });
  const raft = log.child({ 'local-member-id': 'abc' }, { caller: 'server/raft' });
  const named = raft.named('server/wal');
  raft.info('became leader at term 2', { term: 2 });
  named.debug('hidden');
  log.setLevel('debug');
  named.debug('shown');
  assert.equal(raft.level, 'debug');
  const got = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(got[0], { ...got[0], caller: 'server/raft', name: 'n1', 'local-member-id': 'abc', term: 2 });
  assert.equal(got[1]?.['caller'], 'server/wal');
  assert.equal(got[1]?.['msg'], 'shown');
  assert.equal(got.length, 2);
});

test('error and above carry a stacktrace field unless disabled', () => {
  const a = capture();
  a.log.error('failed', { error: 'x' });
  const entry = JSON.parse(a.lines()[0] ?? '{}') as Record<string, string>;
  assert.equal(typeof entry['stacktrace'], 'string');
  assert.match(entry['stacktrace'] ?? '', /logger\.test\.ts/);
  const b = capture({ stacktrace: false });
  b.log.error('failed');
  assert.ok(!(b.lines()[0] ?? '').includes('stacktrace'));
});

test('capnslog format: "<ts> <L> | <caller>: <msg>, key: value"', () => {
  const { log, lines } = capture({ format: 'capnslog', level: 'debug', caller: 'etcdserver' });
  log.info('published local member to cluster through raft', { 'cluster-id': 'd1cfaf999eb97a2a', urls: ['a', 'b'] });
  log.warn('simple token is not cryptographically signed');
  log.debug('d');
  log.error('e', { err: new Error('bad') });
  log.named('').info('no package');
  const got = lines();
  assert.match(
    got[0] ?? '',
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} I \| etcdserver: published local member to cluster through raft, cluster-id: d1cfaf999eb97a2a, urls: \[a b\]$/,
  );
  assert.match(got[1] ?? '', / W \| etcdserver: simple token is not cryptographically signed$/);
  assert.match(got[2] ?? '', / D \| etcdserver: d$/);
  assert.match(got[3] ?? '', / E \| etcdserver: e, err: bad$/);
  assert.match(got[4] ?? '', / I \| no package$/);
});

test('panic logs, flushes and throws; fatal logs, flushes and exits 1', () => {
  const p = capture({ stacktrace: false });
  assert.throws(() => p.log.panic('it broke', { a: 1 }), /it broke/);
  assert.equal((JSON.parse(p.lines()[0] ?? '{}') as { level: string }).level, 'panic');

  let out = '';
  const codes: number[] = [];
  const log = createLogger({ write: (d) => (out += d), exit: (c) => codes.push(c), stacktrace: false });
  log.info('before');
  assert.throws(() => log.fatal('discovery failed', { error: 'x' }));
  assert.deepEqual(codes, [1]);
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 2, 'fatal flushed everything before exiting');
  assert.equal((JSON.parse(lines[1] ?? '{}') as { level: string }).level, 'fatal');
});

test('checkLogOutputs mirrors etcd setupLogging messages', () => {
  assert.equal(checkLogOutputs('zap', ['default', 'stderr']), 'multi logoutput for "default" is not supported yet');
  assert.equal(checkLogOutputs('zap', ['stderr', 'stdout', '/tmp/x.log']), undefined);
  assert.equal(
    checkLogOutputs('capnslog', ['stderr', 'stdout']),
    `--logger=capnslog supports only 1 value in '--log-outputs', got ["stderr" "stdout"]`,
  );
  assert.equal(
    checkLogOutputs('capnslog', ['/tmp/x']),
    'unknown log-output "/tmp/x" (only supports "default", "stderr", "stdout")',
  );
  assert.equal(checkLogOutputs('capnslog', ['stdout']), undefined);
  assert.throws(
    () => createLogger({ outputs: ['systemd/journal'] }),
    /conclave: --log-outputs=systemd\/journal is not supported yet/,
  );
  assert.throws(() => createLogger({ format: 'capnslog', outputs: ['a', 'b'] }), /supports only 1 value/);
});

test('file outputs are appended, batched, and flushed on the next turn or on demand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    const file = join(dir, 'server.log');
    writeFileSync(file, 'existing\n');
    const log = createLogger({ outputs: [file] });
    const other = createLogger({ outputs: [file], caller: 'other' });
    log.info('one');
    other.info('two');
    assert.equal(readFileSync(file, 'utf8'), 'existing\n', 'nothing written synchronously');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const text = readFileSync(file, 'utf8').split('\n');
    assert.equal(text[0], 'existing');
    assert.match(text[1] ?? '', /"msg":"one"/);
    assert.match(text[2] ?? '', /"caller":"other","msg":"two"/);
    log.info('three');
    log.flush();
    assert.match(readFileSync(file, 'utf8'), /"msg":"three"/);
    log.close();
    other.close();
    log.info('after close');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /after close/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no line is lost when the process exits or is signalled right after logging (stderr, stdout, files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-log-'));
  try {
    const file = join(dir, 'out.log');
    const script = join(dir, 'child.mts');
    const loggerUrl = new URL('./index.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { createLogger, flushLogsOnSignals } from ${JSON.stringify(loggerUrl)};
const log = createLogger({ outputs: ['stderr', 'stdout', ${JSON.stringify(file)}] });
const mode = process.argv[2];
// a library installs no signal handler; the binary asks for the flush on SIGINT/SIGTERM
const embedded = process.listenerCount('SIGTERM') + process.listenerCount('SIGINT');
if (embedded !== 0) throw new Error(embedded + ' signal listeners installed by the logger');
if (mode !== 'natural' && mode !== 'exit') flushLogsOnSignals();
for (let i = 0; i < 5000; i++) log.info('line', { i });
if (mode === 'exit') process.exit(3);
if (mode === 'handled') process.on('SIGTERM', () => { log.info('line', { i: 5000 }); process.exit(0); });
if (mode === 'signal' || mode === 'handled') {
  setTimeout(() => {}, 10_000);
  process.kill(process.pid, 'SIGTERM');
}
`,
    );
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const expected: Record<string, [number | null, string | null, number]> = {
      exit: [3, null, 5000],
      natural: [0, null, 5000],
      signal: [null, 'SIGTERM', 5000],
      handled: [0, null, 5001],
    };
    for (const [mode, [status, signal, count]] of Object.entries(expected)) {
      rmSync(file, { force: true });
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, mode], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      assert.equal(r.status, status, `${mode}: ${r.stderr.slice(0, 500)}`);
      assert.equal(r.signal, signal, mode);
      for (const text of [r.stderr, r.stdout, readFileSync(file, 'utf8')]) {
        const lines = text.trim().split('\n');
        assert.equal(lines.length, count, mode);
        assert.equal((JSON.parse(lines[count - 1] ?? '{}') as { i: number }).i, count - 1);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('milestone messages are etcd 3.4.23 strings', () => {
  assert.equal(MSG.PUBLISHED_LOCAL_MEMBER, 'published local member to cluster through raft');
  assert.equal(MSG.ENABLED_CAPABILITIES, 'enabled capabilities for version');
  assert.equal(MSG.SERVING_CLIENT_INSECURE, 'serving client traffic insecurely; this is strongly discouraged!');
  assert.equal(MSG.SERVING_CLIENT_SECURE, 'serving client traffic securely');
  assert.equal(MSG.STARTING_AN_ETCD_SERVER, 'starting an etcd server');
  assert.equal(MSG.NOW_SERVING_PEER_CLIENT_METRICS, 'now serving peer/client/metrics');
});
