// The body of the `conclave` binary (cli.ts loads it): etcd's command line (flags, ETCD_*
// environment, --config-file), a member serving until SIGTERM/SIGINT, then a graceful stop.

import { ConfigError, parseConfig, reportNotices } from './config/index.js';
import { createLogger, flushAllLogs, flushLogsOnSignals, MSG } from './log/index.js';
import { startMember } from './embed/start.js';
import { snapshotCommand } from './snapshot/cli.js';

async function main(): Promise<void> {
  // This process owns its signals: buffered log lines are written before SIGINT/SIGTERM end it.
  flushLogsOnSignals();
  // `conclave snapshot save | restore | status`: etcdutl's snapshot commands.
  if (process.argv[2] === 'snapshot') {
    process.exitCode = await snapshotCommand(process.argv.slice(3));
    return;
  }
  let cfg;
  try {
    cfg = parseConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      e.report();
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
  const logger = createLogger({ format: cfg.logger, level: cfg.logLevel, outputs: cfg.logOutputs, caller: 'etcdmain' });
  reportNotices(cfg.notices, logger);
  let handle;
  try {
    handle = await startMember(cfg, { logger });
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.flush();
      e.report();
      process.exitCode = e.exitCode;
      return;
    }
    logger.warn(MSG.FAILED_TO_START, { error: (e as Error).message ?? String(e) });
    logger.flush();
    flushAllLogs();
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info(MSG.RECEIVED_SIGNAL, { signal: signal === 'SIGINT' ? 'interrupt' : 'terminated' });
    handle
      .close()
      .catch((err: unknown) => logger.error('error while stopping', { error: String(err) }))
      .finally(() => {
        flushAllLogs();
        process.exit(0);
      });
  };
  // A member removed from the cluster stops serving and exits, as etcd does.
  void handle.removed.then(async () => {
    await handle.close();
    flushAllLogs();
    process.exit(0);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`conclave: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
