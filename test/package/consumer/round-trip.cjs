// The round trip both JavaScript consumers run with the packages they loaded themselves (cjs.cjs by
// require(), esm.mjs by import): starts an embedded server, writes and reads a key, takes and releases
// a lock, checks a codec is there. CommonJS, so that either kind of consumer can load it.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** `kind` names the consumer (cjs or esm) in the data directory, lock key and the line printed. */
exports.roundTrip = async function roundTrip(kind, { etcdserverpb, Client, Mutex, Session, startServer }) {
  const dataDir = mkdtempSync(join(tmpdir(), `conclave-${kind}-`));
  const server = await startServer({ dataDir });
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await client.put('greeting', 'hello');
    const kv = await client.get('greeting');
    if (kv?.valueString !== 'hello') throw new Error(`read back ${kv?.valueString}`);
    const session = await Session.create(client, { ttl: 10 });
    const mutex = new Mutex(session, `locks/${kind}`);
    await mutex.lock();
    await mutex.unlock();
    await session.close();
    if (typeof etcdserverpb.PutRequest.encode !== 'function') throw new Error('no PutRequest codec');
    console.log(`${kind} consumer: ok`);
  } finally {
    await client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
