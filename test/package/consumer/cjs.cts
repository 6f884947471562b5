// Type-checked (not run) as CommonJS: require() of the ES module packages (TypeScript 5.8+ with
// module nodenext, Node 20.19+ / 22.12+ at run time).
import api = require('@conclave/api');
import client = require('@conclave/client');
import concurrency = require('@conclave/concurrency');
import server = require('@conclave/server');

export async function roundTrip(dataDir: string): Promise<string | undefined> {
  const handle = await server.startServer({ dataDir });
  const c = new client.Client({ endpoints: [handle.endpoint] });
  try {
    await c.put('k', 'v');
    const session = await concurrency.Session.create(c, { ttl: 5 });
    await session.close();
    return (await c.get('k'))?.valueString;
  } finally {
    await c.close();
    await handle.close();
  }
}

export const put: api.PartialMessage<api.etcdserverpb.PutRequest> = { key: new Uint8Array([1]) };
