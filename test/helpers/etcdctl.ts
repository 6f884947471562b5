// Runs the reference etcdctl (Debian's etcd-client, API v3; or another etcdctl binary, `bin`) against an endpoint.

import { spawn } from 'node:child_process';

export interface EtcdctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function etcdctl(
  endpoint: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string>; bin?: string } = {},
): Promise<EtcdctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.bin ?? 'etcdctl', ['--endpoints', endpoint, '--command-timeout', '5s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcdctl ${args.join(' ')} timed out`));
    }, opts.timeoutMs ?? 15000);
    // 'close', not 'exit': output may still be in flight when the process has exited.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** etcdctl with -w json, parsed. */
export async function etcdctlJson(endpoint: string, args: string[]): Promise<unknown> {
  const r = await etcdctl(endpoint, ['-w', 'json', ...args]);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}
