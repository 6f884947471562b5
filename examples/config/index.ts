// Live configuration reload.
//
// The application keeps a typed view of the keys under "examples/config/app/", parsed and validated
// by its own functions, and reloads whenever it changes. An operator changes several keys in one
// transaction: the application sees all of them at once, never half of the change. A broken
// setting is rejected and the application keeps running on the last good configuration.
//
//   node --conditions=conclave-source --import tsx examples/config/index.ts    (or: npm run example:config)

import { Client, op } from '@conclave/client';
import { ConfigWatcher, type ConfigSnapshot } from '@conclave/concurrency';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const PREFIX = 'examples/config/app/';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AppConfig {
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  maxConnections: number;
  features: string[];
}

function parse(s: ConfigSnapshot): AppConfig {
  return {
    logLevel: (s.entries.get('log-level') ?? 'info') as AppConfig['logLevel'],
    maxConnections: Number(s.entries.get('max-connections') ?? '100'),
    features: [...s.entries.keys()]
      .filter((k) => k.startsWith('features/') && s.entries.get(k) === 'on')
      .map((k) => k.slice('features/'.length)),
  };
}

function validate(c: AppConfig): string | undefined {
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) return `unknown log level "${c.logLevel}"`;
  if (!Number.isInteger(c.maxConnections) || c.maxConnections < 1) return `max-connections must be a positive integer`;
  return undefined;
}

const describe = (c: AppConfig): string =>
  `logLevel=${c.logLevel} maxConnections=${c.maxConnections} features=[${c.features.join(',')}]`;

async function main(): Promise<void> {
  await using operator = new Client({ endpoints });
  await operator.delete(PREFIX, { prefix: true });
  await operator
    .txn()
    .then(op.put(`${PREFIX}log-level`, 'info'), op.put(`${PREFIX}max-connections`, '100'))
    .commit();

  // the application
  await using appClient = new Client({ endpoints });
  const config = await ConfigWatcher.start(appClient, PREFIX, {
    parse,
    validate,
    onInvalid: (err) => console.log(`app: rejected new configuration (${err.message}); keeping the current one`),
  });
  console.log(`app: started with ${describe(config.current().value)}`);
  const reloads = (async () => {
    for await (const { value, revision } of config.changes())
      console.log(`app: reloaded (revision ${revision}): ${describe(value)}`);
  })();

  // the operator
  console.log('operator: raise capacity and turn two features on, in one transaction');
  await operator
    .txn()
    .then(
      op.put(`${PREFIX}max-connections`, '500'),
      op.put(`${PREFIX}features/new-ui`, 'on'),
      op.put(`${PREFIX}features/fast-path`, 'on'),
    )
    .commit();
  await sleep(300);
  console.log('operator: set max-connections to "lots" (a mistake)');
  await operator.put(`${PREFIX}max-connections`, 'lots');
  await sleep(300);
  console.log(`app: still running with ${describe(config.current().value)}`);
  console.log('operator: fix it, and switch to debug logging');
  await operator
    .txn()
    .then(op.put(`${PREFIX}max-connections`, '250'), op.put(`${PREFIX}log-level`, 'debug'))
    .commit();
  await sleep(300);
  console.log('operator: turn fast-path off');
  await operator.delete(`${PREFIX}features/fast-path`);
  await sleep(300);

  config.close();
  await reloads;
  console.log(`app: final configuration ${describe(config.current().value)}`);
}

await main();
