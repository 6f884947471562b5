// --experimental-enable-lease-checkpoint-persist, against etcd 3.4 and 3.5: without
// --experimental-enable-lease-checkpoint it fails start-up with etcd's text and exit code;
// checkpoints without persistence start with etcd's warning; both together start quietly.
// (What persistence does — a checkpointed remaining TTL survives a restart — is in lessor.test.ts.)

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { etcd35Bin } from '../helpers/etcd35.js';
import { conclaveBin, startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('conclave-lease-flags');
const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  dir.cleanup();
});

const WARNING =
  '"msg":"Detected that checkpointing is enabled without persistence. Consider enabling experimental-enable-lease-checkpoint-persist"';

describe('lease checkpoint flags', () => {
  test('persist without checkpoint: the same start-up error and exit code as etcd', () => {
    const runs = [
      ['etcd', []],
      [etcd35Bin('etcd'), []],
      [process.execPath, [conclaveBin]],
    ] as const;
    const answers = runs.map(([cmd, pre]) => {
      const r = spawnSync(
        cmd,
        [...pre, '--data-dir', `${dir.path}/x`, '--experimental-enable-lease-checkpoint-persist'],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      const line = r.stderr.split('\n').find((l) => l.includes('requires experimental-enable-lease-checkpoint'));
      // etcd 3.4 logs this with capnslog ("error verifying flags, <error>. See 'etcd --help'."),
      // etcd 3.5 and Conclave with zap ("failed to verify flags", "error": "<error>")
      const text =
        /"error":"([^"]*)"/.exec(line ?? '')?.[1] ??
        /error verifying flags, (.*)\. See 'etcd --help'\./.exec(line ?? '')?.[1];
      return { status: r.status, error: text ?? r.stderr };
    });
    assert.deepEqual(answers[2], answers[0], 'etcd 3.4 vs Conclave');
    assert.deepEqual(answers[2], answers[1], 'etcd 3.5 vs Conclave');
    assert.equal(answers[2]!.status, 1);
  });

  for (const [flags, warns] of [
    [['--experimental-enable-lease-checkpoint'], true],
    [['--experimental-enable-lease-checkpoint', '--experimental-enable-lease-checkpoint-persist'], false],
  ] as const) {
    test(`${flags.join(' ')}: starts${warns ? ' with the warning' : ''}, as etcd`, async () => {
      for (const kind of ['etcd', 'etcd35', 'conclave'] as ServerKind[]) {
        const s = await startServer(kind, { args: [...flags] });
        servers.push(s);
        assert.equal(s.log().includes(WARNING), warns, kind);
      }
    });
  }
});
