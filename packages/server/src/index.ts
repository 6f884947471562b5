/**
 * @conclave/server — an etcd v3-compatible member: Raft consensus, WAL and snapshots, MVCC on LMDB,
 * the etcd v3 gRPC API and JSON gateway. The `conclave` binary takes etcd's flags; startServer()
 * embeds a member in a Node process (tests, local development, SDK users' own tests).
 *
 * @module @conclave/server
 */

import { mkdirSync } from 'node:fs';
import { configFromSettings, flagValue, type FlagValue } from './config/index.js';
import { createLogger, externalLogger, type Logger, type LogLevel, type ServerLogger } from './log/index.js';
import { startMember } from './embed/start.js';

/** Options of {@link startServer}. Only `dataDir` is required. */
export interface StartServerOptions {
  /** Data directory (created if missing). */
  dataDir: string;
  /** Member name (default "default"). */
  name?: string;
  /** Client URLs to listen on (default ["http://127.0.0.1:0"]: a free loopback port). */
  listenClientUrls?: string[];
  /** Client URLs advertised to the cluster (default: the bound listen URLs' form). */
  advertiseClientUrls?: string[];
  /** Peer URL (default "http://127.0.0.1:0"). */
  peerUrl?: string;
  /** The lowest level logged (default "warn"), also for `logger`. */
  logLevel?: LogLevel;
  /** Log entries go to this logger (one call per entry, with its fields) instead of lines to stderr. */
  logger?: ServerLogger;
  /** Log lines (etcd's JSON lines) go here instead of stderr; ignored when `logger` is given. */
  logWrite?: (line: string) => void;
  /** Any other etcd flag by name without dashes, e.g. { 'max-txn-ops': 256, 'auto-compaction-mode': 'revision' }. */
  flags?: Record<string, string | number | boolean>;
}

/** A running member started by {@link startServer}. */
export interface ServerHandle {
  /** The first client URL actually bound, e.g. "http://127.0.0.1:40123". */
  clientUrl: string;
  /** Every client URL bound, in the order of `listenClientUrls`. */
  clientUrls: string[];
  /** host:port of clientUrl, as etcd clients take endpoints. */
  endpoint: string;
  /** This member's ID (hex, as etcd prints it). */
  memberId: string;
  /** Stops the member: stops accepting calls, lets calls in flight finish, closes its storage. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using server = await startServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a single-member server in this process and resolves once it serves client requests; it
 * speaks the etcd v3 API on `handle.endpoint`. Meant for tests and local development: each call
 * is a new one-member cluster with its data in `dataDir` (reopened if it exists).
 *
 * @example
 * ```ts
 * import { startServer } from '@conclave/server';
 * import { Client } from '@conclave/client';
 *
 * const server = await startServer({ dataDir: '/tmp/orders-test.etcd' });
 * const client = new Client({ endpoints: [server.endpoint] });
 * try {
 *   await client.put('orders/1', 'new');
 * } finally {
 *   await client.close();
 *   await server.close();
 * }
 * ```
 *
 * @throws {@link ConfigError} when `flags` holds an unknown flag or a bad value.
 */
export async function startServer(opts: StartServerOptions): Promise<ServerHandle> {
  mkdirSync(opts.dataDir, { recursive: true });
  const name = opts.name ?? 'default';
  const peer = opts.peerUrl ?? 'http://127.0.0.1:0';
  const listen = opts.listenClientUrls ?? ['http://127.0.0.1:0'];
  const urls = (flag: string, list: readonly string[]): FlagValue => flagValue(flag, list.join(','));
  const settings = new Map<string, FlagValue>([
    ['name', name],
    ['data-dir', opts.dataDir],
    ['listen-client-urls', urls('listen-client-urls', listen)],
    ['advertise-client-urls', urls('advertise-client-urls', opts.advertiseClientUrls ?? listen)],
    ['listen-peer-urls', urls('listen-peer-urls', [peer])],
    ['initial-advertise-peer-urls', urls('initial-advertise-peer-urls', [peer])],
    ['initial-cluster', `${name}=${peer}`],
    ['log-level', opts.logLevel ?? 'warn'],
  ]);
  for (const [k, v] of Object.entries(opts.flags ?? {})) settings.set(k, flagValue(k, String(v)));
  const cfg = configFromSettings(settings);
  const logger: Logger = opts.logger
    ? externalLogger(opts.logger, cfg.logLevel)
    : createLogger({
        format: cfg.logger,
        level: cfg.logLevel,
        ...(opts.logWrite ? { write: opts.logWrite } : { outputs: cfg.logOutputs }),
      });
  const member = await startMember(cfg, { logger });
  const clientUrl = member.clientUrls[0]!;
  const close = () => member.close();
  return {
    clientUrl,
    clientUrls: member.clientUrls,
    endpoint: clientUrl.replace(/^\w+:\/\//, ''),
    memberId: member.server.memberId.toString(16),
    close,
    [Symbol.asyncDispose]: close,
  };
}

export { ConfigError, type ConfigErrorKind } from './config/index.js';
export { LOG_LEVELS, type LogLevel, type ServerLogger } from './log/index.js';
