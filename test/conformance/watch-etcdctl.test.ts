// Conformance: `etcdctl watch` (key, range, prefix, --rev history replay, --prev-kv, JSON output,
// interactive mode with progress requests, compaction) against the reference etcd 3.5 and
// Conclave (with Debian's etcdctl 3.4), started with the same flags, must print the same output. Each watch runs as a child
// process while the same writes are made on both servers; a last write of the value END tells when
// everything arrived.

import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, test } from 'node:test';
import { etcdctl } from '../helpers/etcdctl.js';
import type { ServerProcess } from '../helpers/process.js';
import { etcd35AndConclave } from '../helpers/side-by-side.js';
import { waitUntil } from '../helpers/tmp.js';

/** "END" as JSON output prints values (base64). */
const END_B64 = Buffer.from('END').toString('base64');

const pair = etcd35AndConclave();

interface Watching {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  exited: Promise<number>;
}

function watch(server: ServerProcess, args: string[]): Watching {
  const child = spawn('etcdctl', ['--endpoints', server.endpoint, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
  return { child, out: () => out, err: () => err, exited };
}

const waitFor = (cond: () => boolean, label: string): Promise<void> => waitUntil(label, cond, 10_000, 20);

/** Runs `etcdctl` with the same arguments on both servers; they must agree. */
async function both(args: string[], input?: string): Promise<void> {
  const opts = input === undefined ? {} : { input };
  const [a, b] = await Promise.all([
    etcdctl(pair.etcd.endpoint, args, opts),
    etcdctl(pair.conclave.endpoint, args, opts),
  ]);
  assert.equal(b.code, a.code, `etcdctl ${args.join(' ')}: ${b.stderr}`);
  assert.equal(b.stdout, a.stdout, `etcdctl ${args.join(' ')}`);
}

/** The next revision (the same on both servers, which see the same writes). */
async function nextRev(): Promise<number> {
  const r = await etcdctl(pair.etcd.endpoint, ['-w', 'json', 'get', 'any']);
  return Number((JSON.parse(r.stdout) as { header: { revision: number } }).header.revision) + 1;
}

/**
 * Starts the same watch on both servers, makes `writes` (etcdctl argument lists) on both, then waits
 * until both printed `until` and compares what they printed.
 */
async function sameWatch(args: string[], writes: string[][], until = 'END', settleMs = 0): Promise<string> {
  const ws = [watch(pair.etcd, args), watch(pair.conclave, args)] as const;
  try {
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    for (const w of writes) await both(w);
    await waitFor(() => ws[0].out().includes(until), `etcd watch ${args.join(' ')}`);
    await waitFor(() => ws[1].out().includes(until), `conclave watch ${args.join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ws[1].out(), ws[0].out(), `etcdctl ${args.join(' ')}`);
    return ws[0].out();
  } finally {
    for (const w of ws) w.child.kill('SIGKILL');
  }
}

describe('etcdctl watch against etcd 3.5 and Conclave', () => {
  test('a key: puts, deletes, then history replay with --rev and negative --rev', async () => {
    const rev = await nextRev();
    const out = await sameWatch(
      ['watch', 'foo', '--rev', String(rev)],
      [
        ['put', 'foo', 'one'],
        ['put', 'fooo', 'not this key'],
        ['put', 'foo', 'two'],
        ['del', 'foo'],
        ['put', 'foo', 'END'],
      ],
    );
    assert.equal(out, 'PUT\nfoo\none\nPUT\nfoo\ntwo\nDELETE\nfoo\n\nPUT\nfoo\nEND\n');
    await sameWatch(['watch', 'foo', '--rev', String(rev + 1)], []);
    // A negative start revision is refused (etcd 3.5.24+): canceled at once as if compacted.
    const neg = [
      watch(pair.etcd, ['watch', 'foo', '--rev', '-1']),
      watch(pair.conclave, ['watch', 'foo', '--rev', '-1']),
    ];
    const codes = await Promise.all(neg.map((w) => w.exited));
    const said = (w: Watching) =>
      `${w.out()}${w
        .err()
        .split('\n')
        .filter((l) => /^(watch was canceled|Error)/.test(l))
        .join('\n')}`;
    assert.equal(codes[1], codes[0]);
    assert.equal(said(neg[1]!), said(neg[0]!));
    assert.match(said(neg[1]!), /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
  });

  test('prefix, range and from-key watches, with a multi-key txn in one revision', async () => {
    const rev = String(await nextRev());
    const writes = [
      ['put', 'p/a', '1'],
      ['put', 'q', 'outside'],
      ['put', 'p/b', '2'],
    ];
    const txn = ['txn'];
    const run = async (args: string[]) => {
      const ws = [watch(pair.etcd, args), watch(pair.conclave, args)] as const;
      try {
        for (const w of writes) await both(w);
        await both(txn, '\nput p/c 3\nput p/d 4\ndel p/a\n\n\n');
        await both(['put', 'p/z', 'END']);
        for (const w of ws) await waitFor(() => w.out().includes('END'), args.join(' '));
        assert.equal(ws[1].out(), ws[0].out());
        return ws[0].out();
      } finally {
        for (const w of ws) w.child.kill('SIGKILL');
      }
    };
    const prefix = await run(['watch', '--prefix', 'p/', '--rev', rev]);
    assert.equal(prefix.split('\n').filter((l) => l === 'PUT' || l === 'DELETE').length, 6);
    await sameWatch(['watch', 'p/b', 'p/d', '--rev', rev], [['put', 'p/c', 'END']]);
    // JSON shows response boundaries and headers: replay history only (all in one response).
    await both(['put', 'p/zz', 'END']);
    await sameWatch(['-w', 'json', 'watch', 'p/', '--prefix', '--rev', rev], [], END_B64);
  });

  test('--prev-kv, with history replay', async () => {
    const rev = String(await nextRev());
    await both(['put', 'pk', 'first']);
    await sameWatch(
      ['watch', 'pk', '--prev-kv', '--rev', rev],
      [
        ['put', 'pk', 'second'],
        ['del', 'pk'],
        ['put', 'pk', 'END'],
      ],
    );
    await sameWatch(['-w', 'json', 'watch', 'pk', '--prev-kv', '--rev', rev], [], END_B64);
  });

  test('interactive: several watches and a progress request on one stream', async () => {
    const rev = await nextRev();
    const ws = [watch(pair.etcd, ['watch', '-i']), watch(pair.conclave, ['watch', '-i'])] as const;
    try {
      for (const w of ws) {
        w.child.stdin.write(`watch i1 --rev ${rev}\n`);
        w.child.stdin.write(`watch i2 --rev ${rev}\n`);
      }
      await both(['put', 'i1', 'a']);
      await both(['put', 'i2', 'b']);
      await both(['put', 'i1', 'END']);
      for (const w of ws) await waitFor(() => w.out().includes('END'), 'interactive events');
      for (const w of ws) w.child.stdin.write('progress\n');
      for (const w of ws) await waitFor(() => w.out().includes('progress notify'), 'progress notify');
      await new Promise((r) => setTimeout(r, 100));
      // Each watch prints on its own goroutine in etcdctl: compare each key's lines, then the progress.
      const norm = (s: string) => s.split('\n').filter(Boolean).sort().join('\n');
      assert.equal(norm(ws[1].out()), norm(ws[0].out()));
      assert.match(ws[1].out(), new RegExp(`progress notify: ${rev + 2}\\n`));
    } finally {
      for (const w of ws) w.child.kill('SIGKILL');
    }
  });

  test('a compacted start revision cancels the watch with the compaction error', async () => {
    const rev = await nextRev();
    await both(['put', 'gone', 'x']);
    await both(['put', 'gone', 'y']);
    await both(['compaction', String(rev + 1)]);
    const ws = [
      watch(pair.etcd, ['watch', 'gone', '--rev', String(rev)]),
      watch(pair.conclave, ['watch', 'gone', '--rev', String(rev)]),
    ] as const;
    const codes = await Promise.all(
      ws.map(async (w) => {
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
        const code = await w.exited;
        clearTimeout(timer);
        return code;
      }),
    );
    assert.equal(codes[1], codes[0]);
    const lines = (s: string) => s.split('\n').filter((l) => /^watch was canceled|^Error:/.test(l));
    assert.deepEqual(lines(ws[1].err()), lines(ws[0].err()));
    assert.deepEqual(lines(ws[0].err()), [
      'watch was canceled (etcdserver: mvcc: required revision has been compacted)',
      'Error: watch is canceled by the server',
    ]);
    assert.equal(ws[1].out(), ws[0].out());
  });
});
