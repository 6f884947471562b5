// An ES module consumer of the packed packages (run by scripts/pack-test.mjs in a project outside
// the repository): starts an embedded server, writes and reads a key, takes and releases a lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdserverpb } from '@conclave/api';
import { Client } from '@conclave/client';
import { Mutex, Session } from '@conclave/concurrency';
import { startServer } from '@conclave/server';

const dataDir = mkdtempSync(join(tmpdir(), 'conclave-esm-'));
const server = await startServer({ dataDir });
const client = new Client({ endpoints: [server.endpoint] });
try {
  await client.put('greeting', 'hello');
  const kv = await client.get('greeting');
  if (kv?.valueString !== 'hello') throw new Error(`read back ${kv?.valueString}`);
  const session = await Session.create(client, { ttl: 10 });
  const mutex = new Mutex(session, 'locks/esm');
  await mutex.lock();
  await mutex.unlock();
  await session.close();
  if (typeof etcdserverpb.PutRequest.encode !== 'function') throw new Error('no PutRequest codec');
  console.log('esm consumer: ok');
} finally {
  await client.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
