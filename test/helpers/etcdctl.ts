// Runs the reference etcdctl (Debian's etcd-client, API v3; or another etcdctl binary, `bin`) against an endpoint.

import { type RunResult, run } from './run.js';

export type EtcdctlResult = RunResult;

export function etcdctl(
  endpoint: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: Record<string, string>; bin?: string } = {},
): Promise<EtcdctlResult> {
  return run(opts.bin ?? 'etcdctl', ['--endpoints', endpoint, '--command-timeout', '5s', ...args], {
    env: { ETCDCTL_API: '3', ...opts.env },
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 15000,
  });
}

/** etcdctl with -w json, parsed. */
export async function etcdctlJson(endpoint: string, args: string[]): Promise<unknown> {
  const r = await etcdctl(endpoint, ['-w', 'json', ...args]);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The etcdctl commands that enable auth: user root (password rootpw) with the root role and, given a
 * `prefix`, user u (password upw) whose role r reads and writes the keys under it.
 */
export function enableAuthCommands(prefix?: string): string[][] {
  const u =
    prefix === undefined
      ? []
      : [
          ['role', 'add', 'r'],
          ['role', 'grant-permission', 'r', 'readwrite', prefix, '--prefix'],
          ['user', 'add', 'u', '--new-user-password=upw'],
          ['user', 'grant-role', 'u', 'r'],
        ];
  return [
    ['user', 'add', 'root', '--new-user-password=rootpw'],
    ['user', 'grant-role', 'root', 'root'],
    ...u,
    ['auth', 'enable'],
  ];
}
