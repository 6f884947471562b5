// Type-checked (not run) against the packed declarations with skipLibCheck: false, as an ES module (.mts).
import { authpb, type etcdserverpb, GrpcCode, mvccpb, type PartialMessage } from '@conclave/api';
import { Client, type KeyValue, type WatchEvent } from '@conclave/client';
import { Election, Mutex, Session } from '@conclave/concurrency';
import { type ServerHandle, type StartServerOptions, startServer } from '@conclave/server';

export async function roundTrip(opts: StartServerOptions): Promise<string | undefined> {
  await using server: ServerHandle = await startServer(opts);
  await using client = new Client({ endpoints: [server.endpoint] });
  await client.put('k', 'v');
  const kv: KeyValue | undefined = await client.get('k');
  await using session = await Session.create(client, { ttl: 5 });
  const mutex = new Mutex(session, 'locks/ts');
  await mutex.lock();
  await mutex.unlock();
  const election = new Election(session, 'elections/ts');
  void election;
  return kv?.valueString;
}

export const create: PartialMessage<etcdserverpb.WatchCreateRequest> = { key: new Uint8Array([1]) };
export const user: authpb.User = authpb.User.create({ roles: ['root'] });
export const event: mvccpb.Event['type'] = mvccpb.Event_EventType.PUT;
export const code: GrpcCode = GrpcCode.NOT_FOUND;
export type Events = WatchEvent[];
