// etcd 3.5.30 and Conclave side by side, for conformance tests that make the same calls on both: one
// member each, started with the same flags before the tests of the suite (or file) that asks for
// them, each with a client of the test's choosing, all closed and stopped after those tests.

import { after, before } from 'node:test';
import { startServer, type ServerProcess } from './process.js';

export interface SideBySide<C> {
  /** [etcd 3.5.30, Conclave], from before() on. */
  readonly servers: [ServerProcess, ServerProcess];
  /** A client of each server, in the same order (none without the `client` option). */
  readonly clients: [C, C];
  readonly etcd: ServerProcess;
  readonly conclave: ServerProcess;
}

/**
 * Registers before() / after() in the current suite: starts etcd 3.5.30 and Conclave with the extra
 * flags `args`, opens `client` to each; afterwards closes the clients and stops both servers.
 */
export function etcd35AndConclave<C extends { close(): void } = never>(
  opts: { args?: string[]; client?: (server: ServerProcess) => C } = {},
): SideBySide<C> {
  let servers: [ServerProcess, ServerProcess] | undefined;
  let clients: [C, C] | undefined;
  before(async () => {
    const args = opts.args ?? [];
    servers = await Promise.all([startServer('etcd35', { args }), startServer('conclave', { args })]);
    if (opts.client) clients = servers.map(opts.client) as [C, C];
  });
  after(async () => {
    for (const c of clients ?? []) c.close();
    await Promise.all((servers ?? []).map((s) => s.stop()));
  });
  const started = <T>(what: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`${what}: not started (used before before() ran, or no client option)`);
    return v;
  };
  return {
    get servers() {
      return started('servers', servers);
    },
    get clients() {
      return started('clients', clients);
    },
    get etcd() {
      return started('servers', servers)[0];
    },
    get conclave() {
      return started('servers', servers)[1];
    },
  };
}
