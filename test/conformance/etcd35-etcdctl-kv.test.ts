// etcdctl 3.5's everyday commands against etcd 3.5.30 and Conclave (one member each, same flags):
// put/get/del in every output format and with every range option, txn (interactive and from stdin,
// with errors), compaction and defrag; watch (history with --prev-kv, JSON and fields output,
// interactive with progress requests, running a command per event, a compacted start); lock and
// elect (a second locker waits, then runs its command; a proposal waits for the first to leave; an
// observer sees both leaders). Each must give the same exit code, output and error lines (addresses
// and sizes masked; the lease part of lock and election keys, which the servers choose, too).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { EtcdctlResult } from '../helpers/etcdctl.js';
import { errorLines, etcd35Bin, etcdctl35, maskOutput } from '../helpers/etcd35.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { waitUntil } from '../helpers/tmp.js';

/** A long-running etcdctl 3.5 (watch, lock, elect): its output so far, and a stop by SIGINT. */
interface Running {
  out(): string;
  stop(): Promise<EtcdctlResult>;
  done: Promise<EtcdctlResult>;
}

function run(endpoint: string, args: string[], input?: string): Running {
  const child = spawn(etcd35Bin('etcdctl'), ['--endpoints', endpoint, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin.write(input);
  const done = new Promise<EtcdctlResult>((res) =>
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr })),
  );
  return {
    out: () => stdout,
    stop: () => {
      child.kill('SIGINT');
      return done;
    },
    done,
  };
}

const waitFor = (cond: () => boolean, label: string): Promise<void> => waitUntil(label, cond, 10_000, 20);

/** Lock and election keys end in the owner's lease ID, which each server chooses. */
const maskLeaseKeys = (t: string): string => t.replace(/\/[0-9a-f]{8,16}\b/g, '/LEASE');

/** One side's result as compared: exit code, stdout, error lines. */
const view = (r: EtcdctlResult): string =>
  `exit ${r.code}\n${maskLeaseKeys(maskOutput(r.stdout))}\n${maskLeaseKeys(maskOutput(errorLines(r)))}`;

describe('etcdctl 3.5 get/put/del/txn/watch/lock/elect against etcd 3.5.30 and Conclave', () => {
  let servers: [ServerProcess, ServerProcess];

  before(async () => {
    servers = await Promise.all([startServer('etcd35'), startServer('conclave')]);
  });
  after(async () => {
    await Promise.all((servers ?? []).map((s) => s?.stop()));
  });

  /** Runs one etcdctl command on each side in turn; both must agree. */
  async function same(args: string[], input?: string): Promise<void> {
    const res: EtcdctlResult[] = [];
    for (const s of servers) res.push(await etcdctl35(s.endpoint, args, input === undefined ? {} : { input }));
    assert.equal(view(res[1]!), view(res[0]!), `etcdctl ${args.join(' ')}`);
  }

  /** Runs `scenario` on both sides at once (each with its own endpoint); both must print the same. */
  async function sameScenario(label: string, scenario: (endpoint: string) => Promise<string>): Promise<string> {
    const [e, c] = await Promise.all(servers.map((s) => scenario(s.endpoint)));
    assert.equal(c, e, label);
    return c!;
  }

  test('put, get and del in every format and with every range option', async () => {
    await same(['put', 'foo', 'bar']);
    await same(['-w', 'json', 'put', 'foo', 'baz', '--prev-kv']);
    await same(['-w', 'fields', 'put', 'foo', 'qux', '--prev-kv']);
    await same(['-w', 'protobuf', 'put', 'foo2', 'x']);
    await same(['put', 'foo', '--ignore-value']);
    await same(['put', 'nokey']);
    await same(['put', '', 'x']);
    await same(['put', 'foo', 'v', '--lease', '1234']);
    for (const format of ['simple', 'json', 'fields', 'table', 'protobuf']) await same(['-w', format, 'get', 'foo']);
    await same(['-w', 'json', 'get', 'foo', '--rev', '2']);
    await same(['get', 'foo', '--print-value-only']);
    await same(['get', 'foo', '--consistency=s']);
    await same(['get', 'foo', '--consistency=x']);
    await same(['get', 'f', '--prefix', '--keys-only']);
    await same(['get', 'f', '--prefix', '--count-only']);
    await same(['-w', 'fields', 'get', 'f', '--prefix', '--count-only']);
    await same(['-w', 'json', 'get', 'f', '--prefix', '--count-only']);
    await same(['get', 'a', '--from-key', '--limit', '1']);
    await same(['get', 'f', '--prefix', '--sort-by', 'MODIFY', '--order', 'DESCEND']);
    await same(['get', 'f', '--prefix', '--sort-by', 'VALUE']);
    await same(['get', 'f', '--prefix', '--sort-by', 'BAD']);
    await same(['get', 'f', '--prefix', '--min-mod-revision', '3']);
    await same(['get', 'f', '--prefix', '--max-create-revision', '2']);
    await same(['get', 'f', '--rev', '100']);
    await same(['get']);
    await same(['get', 'foo', '--prefix', '--from-key']);
    await same(['del', 'nothing']);
    await same(['-w', 'json', 'del', 'foo', '--prev-kv']);
    for (const k of ['k1', 'k2', 'k3']) await same(['put', k, `v-${k}`]);
    await same(['del', 'k', '--prefix', '--prev-kv']);
    await same(['del', 'a', '--from-key']);
    await same(['-w', 'json', 'get', '', '--prefix']);
  });

  test('txn from stdin and interactive, with its errors; compaction and defrag', async () => {
    await same(['put', 't', '1']);
    await same(['txn'], 'value("t") = "1"\n\nput t 2\nget t\n\nput t 3\n\n');
    await same(['-w', 'json', 'txn'], 'mod("t") > "0"\n\nget t\ndel t\n\n\n');
    await same(['-w', 'fields', 'txn'], 'version("t") = "0"\n\nput a b\n\nput c d\n\n');
    await same(['txn'], 'bad compare\n\n\n\n');
    await same(['txn', '-i'], 'create("c") > "0"\n\nput x y --prev-kv\n\n\n');
    await same(['txn'], '\nput dup 1\nput dup 2\n\n\n');
    await same(['compaction', '3']);
    await same(['compaction', '--physical', '4']);
    await same(['compaction', '2']);
    await same(['compaction', '1000']);
    await same(['get', 'c', '--rev', '2']);
    await same(['defrag']);
    await same(['-w', 'json', 'defrag']);
  });

  test('watch: history, formats, interactive with progress, a command per event, a compacted start', async () => {
    const errors = (r: EtcdctlResult): string =>
      errorLines(r) ||
      r.stderr
        .split('\n')
        .filter((l) => /^watch /.test(l))
        .join('\n');
    // history from revision 1 with --prev-kv, then live events; ends at the value END
    await sameScenario('watch --rev --prev-kv', async (ep) => {
      const first = await etcdctl35(ep, ['-w', 'json', 'put', 'w', 'one']);
      const rev = (JSON.parse(first.stdout) as { header: { revision: number } }).header.revision;
      await etcdctl35(ep, ['put', 'w', 'two']);
      // from the first put (earlier revisions were compacted by the test before)
      const w = run(ep, ['watch', 'w', '--rev', String(rev), '--prev-kv']);
      await waitFor(() => w.out().includes('two'), 'history');
      await etcdctl35(ep, ['del', 'w']);
      await etcdctl35(ep, ['put', 'w', 'END']);
      await waitFor(() => w.out().includes('END'), 'END');
      return w.stop().then((r) => r.stdout);
    });
    for (const format of ['json', 'fields']) {
      await sameScenario(`-w ${format} watch --prefix`, async (ep) => {
        const w = run(ep, ['-w', format, 'watch', 'w', '--prefix', '--prev-kv']);
        await new Promise((r) => setTimeout(r, 500)); // the watch is created
        await etcdctl35(ep, ['put', 'wx', 'first']);
        await etcdctl35(ep, ['put', 'wx', 'END']);
        const end = format === 'json' ? Buffer.from('END').toString('base64') : 'END';
        await waitFor(() => w.out().includes(end), 'END');
        return w.stop().then((r) => r.stdout.replace(/"raft_term":\d+/g, 'TERM'));
      });
    }
    await sameScenario('watch -i with progress and bad commands', async (ep) => {
      const w = run(ep, ['watch', '-i'], 'watch w1\nwatch w2 --prefix\nprogress\nbogus\nwatch\n');
      await waitFor(() => w.out().includes('progress notify'), 'progress');
      await etcdctl35(ep, ['put', 'w1', 'a']);
      await etcdctl35(ep, ['put', 'w2x', 'END']);
      await waitFor(() => w.out().includes('END'), 'END');
      const r = await w.stop();
      return `${r.stdout}\n${errors(r)}\n${r.stderr
        .split('\n')
        .filter((l) => l.startsWith('Invalid'))
        .join('\n')}`;
    });
    await sameScenario('watch -- command', async (ep) => {
      const cmd = 'echo exec $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_REVISION';
      const w = run(ep, ['watch', 'we', '--', 'sh', '-c', cmd]);
      await new Promise((r) => setTimeout(r, 500));
      await etcdctl35(ep, ['put', 'we', 'END']);
      await waitFor(() => w.out().includes('exec'), 'exec');
      return w.stop().then((r) => r.stdout);
    });
    await sameScenario('watch of a compacted revision', async (ep) => {
      const rev = JSON.parse((await etcdctl35(ep, ['-w', 'json', 'put', 'wc', 'x'])).stdout).header.revision as number;
      await etcdctl35(ep, ['compaction', String(rev)]);
      const r = await run(ep, ['watch', 'wc', '--rev', '2']).done;
      return `exit ${r.code}\n${r.stdout}\n${errors(r)}`;
    });
  });

  test('lock and elect: waiting, commands, observers', async () => {
    await sameScenario('lock, a second locker waits and runs its command', async (ep) => {
      const first = run(ep, ['lock', 'mylock']);
      await waitFor(() => first.out().includes('mylock/'), 'first lock');
      const second = run(ep, ['lock', 'mylock', '--', 'echo', 'got it']);
      await new Promise((r) => setTimeout(r, 500));
      const waiting = second.out();
      const keys = await etcdctl35(ep, ['get', 'mylock', '--prefix', '--keys-only']);
      const r1 = await first.stop();
      const r2 = await second.done;
      return (
        view({ ...r1, stdout: `${r1.stdout}|${waiting}|${keys.stdout.split('\n').filter(Boolean).length}` }) + view(r2)
      );
    });
    await sameScenario('lock --ttl with a failing command', async (ep) => {
      const r = await run(ep, ['lock', 'lk2', '--ttl', '3', '--', 'sh', '-c', 'echo $ETCD_LOCK_KEY; exit 3']).done;
      return view(r);
    });
    await sameScenario('elect: a leader, an observer, a second proposal', async (ep) => {
      const p1 = run(ep, ['elect', 'el', 'p1']);
      await waitFor(() => p1.out().includes('p1'), 'p1 leads');
      const observer = run(ep, ['elect', '-l', 'el']);
      await waitFor(() => observer.out().includes('p1'), 'observer sees p1');
      const p2 = run(ep, ['elect', 'el', 'p2']);
      await new Promise((r) => setTimeout(r, 500));
      const r1 = await p1.stop();
      await waitFor(() => p2.out().includes('p2') && observer.out().includes('p2'), 'p2 leads');
      const [ro, r2] = [await observer.stop(), await p2.stop()];
      return [r1, ro, r2].map(view).join('\n==\n');
    });
    for (const args of [['elect'], ['lock'], ['elect', '-l']]) await same(args);
  });
});
