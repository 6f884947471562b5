import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Wal } from './index.js';
import { entry, tempDir } from '../../../testing/wal-fixture.js';

const root = fileURLToPath(new URL('../../../../../', import.meta.url));
const child = fileURLToPath(new URL('../../../testing/wal-crash-child.ts', import.meta.url));

/** Runs the child until it has acknowledged `count` saves, SIGKILLs it, returns the acknowledged indexes. */
function runAndKill(dir: string, count: number, preallocate: boolean): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--conditions=conclave-source', '--import', 'tsx', child, dir, preallocate ? '1' : '0'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const acked: number[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line !== 'ready') acked.push(Number(line));
      if (!killed && acked.length >= count) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

test('crash: a SIGKILLed writer loses no acknowledged entry, across several kill/restart rounds', {
  timeout: 30_000,
}, async (t) => {
  const dir = join(tempDir(t), 'wal');
  let expectedAtLeast = 0;
  for (const [round, count] of [300, 450, 200, 350].entries()) {
    const acked = await runAndKill(dir, count, round % 2 === 1);
    assert.ok(acked.length >= count);
    const wal = await Wal.open(dir, { segmentSize: 16 * 1024 });
    const r = await wal.readAll();
    await wal.close();
    const last = r.entries.length;
    assert.deepEqual(
      r.entries.map((e) => e.index),
      Array.from({ length: last }, (_, i) => i + 1),
    );
    for (const i of acked) {
      assert.ok(i <= last, `round ${round}: acknowledged index ${i} missing (log ends at ${last})`);
      assert.deepEqual(r.entries[i - 1], entry(i, 1, 256));
    }
    assert.ok(last >= expectedAtLeast);
    expectedAtLeast = Math.max(...acked);
  }
});
