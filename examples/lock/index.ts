// Distributed lock with a fencing token guarding the write.
//
// Three workers (each with its own client and session, as three processes would have) add to a
// shared counter under one lock. Every write is a transaction that succeeds only while the writer
// still holds the lock (`mutex.isOwner()`) and only with a fencing token newer than the last one
// used. Then a holder is "paused" (think: a long GC pause) until its session expires: another worker
// gets the lock, and when the paused one wakes up, its write is refused by the guard.
//
//   node --conditions=conclave-source --import tsx examples/lock/index.ts    (or: npm run example:lock)

import { Client, cmp, op } from '@conclave/client';
import { Mutex, type ReleasedError, Session } from '@conclave/concurrency';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const PREFIX = 'examples/lock';
const COUNTER = `${PREFIX}-data/counter`;
const FENCE = `${PREFIX}-data/fence`;
const pad = (token: bigint): string => token.toString().padStart(20, '0');

/** Adds 1 to the counter if `mutex` still holds the lock and `token` is newer than the last token used. */
async function guardedIncrement(client: Client, mutex: Mutex, token: bigint): Promise<boolean> {
  const current = Number((await client.get(COUNTER))?.valueString ?? '0');
  const r = await client
    .txn()
    .if(mutex.isOwner(), cmp.value(FENCE, '<', pad(token)))
    .then(op.put(COUNTER, String(current + 1)), op.put(FENCE, pad(token)))
    .commit();
  return r.succeeded;
}

async function worker(name: string, rounds: number): Promise<void> {
  await using client = new Client({ endpoints });
  await using session = await Session.create(client, { ttl: 5 });
  const mutex = new Mutex(session, PREFIX);
  for (let i = 0; i < rounds; i++) {
    // withLock: lock, run, unlock however the function ends
    await mutex.withLock(async (_signal, token) => {
      const ok = await guardedIncrement(client, mutex, token);
      console.log(`${name}: holds the lock (fencing token ${token}), write ${ok ? 'accepted' : 'REFUSED'}`);
    });
  }
}

async function main(): Promise<void> {
  await using admin = new Client({ endpoints });
  await admin.delete(`${PREFIX}/`, { prefix: true });
  await admin.put(COUNTER, '0');
  await admin.put(FENCE, pad(0n));

  await Promise.all([worker('worker-1', 3), worker('worker-2', 3), worker('worker-3', 3)]);
  console.log(`counter = ${(await admin.get(COUNTER))?.valueString} (3 workers x 3 increments, expected 9)`);

  // A holder that stalls past its lease: the lock moves on, and its late write is refused.
  const slowClient = new Client({ endpoints });
  const slow = await Session.create(slowClient, { ttl: 2 });
  const stale = new Mutex(slow, PREFIX);
  const staleToken = await stale.lock();
  console.log(`paused-worker: holds the lock (fencing token ${staleToken}) and stalls; its keepalives stop`);
  stale.signal.addEventListener('abort', () => {
    // the hold's signal says why it ended; on a session loss, `cause` is the session's end
    const why = stale.signal.reason as ReleasedError;
    console.log(`paused-worker: told the lock is lost (${why.reason}: ${(why.cause as Error).name})`);
  });
  slow.orphan(); // no more keepalives: the lease runs out after its TTL

  await using otherClient = new Client({ endpoints });
  await using other = await Session.create(otherClient, { ttl: 5 });
  const next = new Mutex(other, PREFIX);
  const nextToken = await next.lock();
  console.log(
    `worker-4: got the lock after the paused worker's session expired (fencing token ${nextToken} > ${staleToken})`,
  );
  console.log(`worker-4: write ${(await guardedIncrement(otherClient, next, nextToken)) ? 'accepted' : 'REFUSED'}`);

  // the paused worker wakes up and, not checking its signal, tries to write anyway: the guard refuses
  const late = await guardedIncrement(slowClient, stale, staleToken);
  console.log(
    `paused-worker: wakes up and writes with its old lock: ${late ? 'ACCEPTED (unsafe!)' : 'refused by the fencing guard'}`,
  );
  await next.unlock();
  await slowClient.close();
  console.log(`counter = ${(await admin.get(COUNTER))?.valueString} (expected 10)`);
}

await main();
