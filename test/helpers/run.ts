// Runs a command to completion and collects what it printed; past a time limit it is killed and the
// promise rejected. Input, when given, is written to its stdin (otherwise stdin is empty).

import { spawn } from 'node:child_process';

export interface RunResult {
  /** The exit code (-1 when a signal ended it). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to this process's environment. */
  env?: Record<string, string> | undefined;
  input?: string | undefined;
  timeoutMs?: number | undefined;
  cwd?: string | undefined;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out`));
    }, opts.timeoutMs ?? 120_000);
    // 'close', not 'exit': output may still be in flight when the process has exited.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
