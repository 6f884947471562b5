// Service registration and discovery.
//
// Two instances of an "api" service register themselves (each under a lease kept alive by
// heartbeats). A client watches the service and dispatches requests round-robin over whatever is
// registered. One instance crashes without deregistering: it drops out when its lease expires. The
// other shuts down cleanly and disappears at once. Keys follow etcd's naming/endpoints layout, so a
// Go gRPC client resolving "examples/services/api" through etcd would see the same instances.
//
//   node --conditions=conclave-source --import tsx examples/registry/index.ts    (or: npm run example:registry)

import { Client } from '@conclave/client';
import { ServiceRegistry, type ServiceInstance } from '@conclave/concurrency';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const PREFIX = 'examples/services/';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const show = (set: readonly ServiceInstance[]): string =>
  set.length ? set.map((i) => `${i.id}@${i.address}:${i.port}`).join(', ') : 'none';

async function main(): Promise<void> {
  await using admin = new Client({ endpoints });
  await admin.delete(PREFIX, { prefix: true });

  // the consumer side: a registry used only to discover and pick
  const discovery = new ServiceRegistry(admin, { prefix: PREFIX });
  const stop = new AbortController();
  let updates = 0;
  const watching = (async () => {
    for await (const set of discovery.watch('api', { signal: stop.signal })) {
      updates++;
      console.log(`watch: api instances = [${show(set)}]`);
    }
  })();
  while (updates === 0) await sleep(10); // the watch has reported the starting set

  // two instances, each its own process in real life (own client, own registry and lease)
  const startInstance = async (id: string, port: number, zone: string) => {
    const client = new Client({ endpoints });
    const registry = new ServiceRegistry(client, { prefix: PREFIX, ttl: 2 });
    await registry.register({ service: 'api', id, address: '127.0.0.1', port, metadata: { zone } });
    console.log(`${id}: registered`);
    return { client, registry };
  };
  const a = await startInstance('api-a', 8081, 'eu-1');
  const b = await startInstance('api-b', 8082, 'eu-2');

  console.log(`discover: [${show(await discovery.discover('api'))}]`);
  const picker = discovery.picker('api', 'round-robin');
  const live = (): number => picker.instances.length; // kept current by a watch
  await picker.ready;
  while (live() < 2) await sleep(20);
  for (let i = 1; i <= 4; i++) console.log(`request ${i} -> ${picker.pick()!.id}`);

  console.log('api-b: crashes (no deregistration)');
  const crashedAt = Date.now();
  await b.client.close();
  while (live() !== 1) await sleep(20);
  console.log(
    `api-b: gone from the registry ${((Date.now() - crashedAt) / 1000).toFixed(1)} s after its crash (lease TTL 2 s)`,
  );
  for (let i = 5; i <= 6; i++) console.log(`request ${i} -> ${picker.pick()!.id}`);

  console.log('api-a: shuts down cleanly');
  await a.registry.close();
  await a.client.close();
  while (live() !== 0) await sleep(20);
  console.log(`request 7 -> ${picker.pick()?.id ?? 'no instance available'}`);

  picker.close();
  stop.abort();
  await watching;
}

await main();
