// A CommonJS consumer of the packed packages: require() loads the ES module builds (Node 20.19+,
// 22.12+), then the same round trip as esm.mjs.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { etcdserverpb } = require('@conclave/api');
const { Client } = require('@conclave/client');
const { Mutex, Session } = require('@conclave/concurrency');
const { startServer } = require('@conclave/server');

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'conclave-cjs-'));
  const server = await startServer({ dataDir });
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await client.put('greeting', 'hello');
    const kv = await client.get('greeting');
    if (kv?.valueString !== 'hello') throw new Error(`read back ${kv?.valueString}`);
    const session = await Session.create(client, { ttl: 10 });
    const mutex = new Mutex(session, 'locks/cjs');
    await mutex.lock();
    await mutex.unlock();
    await session.close();
    if (typeof etcdserverpb.PutRequest.encode !== 'function') throw new Error('no PutRequest codec');
    console.log('cjs consumer: ok');
  } finally {
    await client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
