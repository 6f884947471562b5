// The code of docs/using-conclave.md, type-checked against the packed packages (not run: it needs a
// server on 127.0.0.1:2379), so the guide cannot drift from the published API.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, CompactedError, cmp, op, UnavailableError } from '@conclave/client';
import { ConfigWatcher, Election, Mutex, type ReleasedError, ServiceRegistry, Session } from '@conclave/concurrency';
import { type ServerHandle, startServer } from '@conclave/server';

declare function applyMode(mode: string): void;
declare function migrate(opts: { signal: AbortSignal; fencingToken: bigint }): Promise<void>;
declare function runScheduledJobs(signal: AbortSignal): Promise<void>;

export async function connect(): Promise<void> {
  await using client = new Client({
    endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(','),
  });

  await client.put('config/orders/mode', 'fast');
  const kv = await client.get('config/orders/mode');
  console.log(kv?.valueString, kv?.modRevision);

  const res = await client
    .txn()
    .if(cmp.version('jobs/nightly', '=', 0))
    .then(op.put('jobs/nightly', 'orders-1'))
    .commit({ timeoutMs: 2000 });
  if (!res.succeeded) console.log('someone else owns the nightly job');

  const watcher = client.watch('config/orders/', { prefix: true });
  for await (const batch of watcher) {
    if (batch.type === 'events') for (const e of batch.events) console.log(e.type, e.kv.keyString);
  }

  const config = await ConfigWatcher.start(client, 'config/orders/', {
    parse: (snap) => ({ mode: snap.entries.get('mode') ?? 'normal' }),
  });
  config.current().value.mode;
  for await (const { value } of config.changes()) applyMode(value.mode);

  await using session = await Session.create(client, { ttl: 10 });
  const mutex = new Mutex(session, 'locks/orders-migration');
  const token = await mutex.lock();
  try {
    const r = await client
      .txn()
      .if(mutex.isOwner())
      .then(op.put('migration/owner', String(token)))
      .commit();
    if (!r.succeeded) throw new Error('lost the lock');
  } finally {
    await mutex.unlock();
  }

  await mutex.withLock(async (signal, fencingToken) => {
    await migrate({ signal, fencingToken });
  });

  const election = new Election(session, 'elections/orders-scheduler');
  await election.lead(process.env.HOSTNAME ?? 'orders-1', async (signal) => {
    while (!signal.aborted) await runScheduledJobs(signal);
  });

  const registry = new ServiceRegistry(client, { prefix: 'services/', ttl: 10 });
  await registry.register({ service: 'orders', id: 'orders-1', address: '10.0.0.5', port: 8080 });
  const instances = await registry.discover('orders');
  console.log(instances.length);

  mutex.signal.addEventListener('abort', () => {
    const why = mutex.signal.reason as ReleasedError;
    if (why.reason === 'session-lost') console.error('lock lost:', why.message);
  });

  try {
    await client.get('k', { revision: 5n });
  } catch (err) {
    if (err instanceof CompactedError) {
      /* read the current state instead */
    } else if (err instanceof UnavailableError) {
      /* no member answered in time */
    } else throw err;
  }
}

export function observed(): Client {
  return new Client({
    endpoints: ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.3:2379'],
    logger: console,
    openTelemetry: true,
  });
}

export async function testSetup(): Promise<[ServerHandle, Client]> {
  const server = await startServer({ dataDir: mkdtempSync(join(tmpdir(), 'orders-test-')) });
  const client = new Client({ endpoints: [server.endpoint] });
  await client.put('orders/1', 'new');
  return [server, client];
}
