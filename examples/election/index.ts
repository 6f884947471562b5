// Leader election with failover.
//
// An observer prints every change of leader, "no leader" included. Three candidates campaign; the
// leader announces itself (proclaim), then crashes without resigning: its lease runs out and the next
// candidate takes over by itself. That one steps down cleanly (resign) and hands over at once; the
// last one resigns too, and the observer reports that nobody leads.
//
//   node --conditions=conclave-source --import tsx examples/election/index.ts    (or: npm run example:election)

import { Client } from '@conclave/client';
import { Election, Session } from '@conclave/concurrency';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const PREFIX = 'examples/election';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Candidate {
  name: string;
  client: Client;
  session: Session;
  election: Election;
}

async function candidate(name: string, ttl: number): Promise<Candidate> {
  const client = new Client({ endpoints });
  const session = await Session.create(client, { ttl });
  return { name, client, session, election: new Election(session, PREFIX) };
}

async function main(): Promise<void> {
  await using admin = new Client({ endpoints });
  await admin.delete(`${PREFIX}/`, { prefix: true });
  const names = new Map<string, string>(); // leader key -> candidate name

  // the observer: prints each leader change until told to stop
  const stop = new AbortController();
  let changes = 0;
  const observing = (async () => {
    for await (const change of Election.observe(admin, PREFIX, { signal: stop.signal })) {
      changes++;
      const l = change.leader;
      console.log(
        l
          ? `observer: leader is ${names.get(l.keyString) ?? l.keyString} (value "${l.valueString}", term ${l.createRevision})`
          : 'observer: no leader',
      );
    }
  })();
  while (changes === 0) await sleep(10); // the observer has reported the starting state

  const c1 = await candidate('candidate-1', 2); // short lease: its crash is noticed within 2 s
  const c2 = await candidate('candidate-2', 10);
  const c3 = await candidate('candidate-3', 10);
  for (const c of [c1, c2, c3]) names.set(c.election.key, c.name);

  await c1.election.campaign('candidate-1 starting');
  console.log(`candidate-1: elected (term ${c1.election.rev})`);
  await sleep(100);
  await c1.election.proclaim('candidate-1 serving');
  await sleep(100);
  const c2Elected = c2.election.campaign('candidate-2 standing by');
  while (!(await admin.get(c2.election.key))) await sleep(10); // candidate-2 queues first
  const c3Elected = c3.election.campaign('candidate-3 standing by');
  await sleep(200);

  console.log('candidate-1: crashes without resigning');
  const crashedAt = Date.now();
  await c1.client.close(); // stops its keepalives; nothing is deleted: the lease has to expire

  await c2Elected;
  console.log(`candidate-2: elected after ${((Date.now() - crashedAt) / 1000).toFixed(1)} s (term ${c2.election.rev})`);
  await c2.election.proclaim('candidate-2 serving');
  await sleep(200);
  console.log('candidate-2: resigns');
  await c2.election.resign();

  await c3Elected;
  console.log(`candidate-3: elected (term ${c3.election.rev})`);
  await sleep(200);
  console.log('candidate-3: resigns');
  await c3.election.resign();
  await sleep(300);

  stop.abort();
  await observing;
  for (const c of [c2, c3]) {
    await c.session.close();
    await c.client.close();
  }
  console.log(`done: ${changes} leader changes observed`);
}

await main();
