// A job queue.
//
// A producer enqueues jobs while three workers take them from the queue concurrently. Each job is
// claimed by exactly one worker (a delete conditioned on the item being unchanged), in FIFO order; a
// worker waiting on an empty queue is woken by the next job. A priority queue then shows urgent work
// overtaking routine work. Workers finish when they receive a "stop" job.
//
//   node --conditions=conclave-source --import tsx examples/queue/index.ts    (or: npm run example:queue)

import { Client } from '@conclave/client';
import { PriorityQueue, Queue } from '@conclave/concurrency';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',');
const PREFIX = 'examples/queue';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function worker(name: string, done: Map<string, string>): Promise<void> {
  await using client = new Client({ endpoints });
  const jobs = new Queue(client, `${PREFIX}/jobs`);
  for (;;) {
    const job = await jobs.dequeue();
    if (job === 'stop') return;
    await sleep(10 + Math.random() * 40); // the work
    if (done.has(job)) console.log(`${name}: ${job} was ALREADY processed by ${done.get(job)}`);
    done.set(job, name);
    console.log(`${name}: processed ${job}`);
  }
}

async function main(): Promise<void> {
  await using producer = new Client({ endpoints });
  await producer.delete(`${PREFIX}/`, { prefix: true });
  const jobs = new Queue(producer, `${PREFIX}/jobs`);

  const done = new Map<string, string>();
  const workers = ['worker-1', 'worker-2', 'worker-3'].map((n) => worker(n, done));
  await sleep(200); // the workers are now waiting on an empty queue
  for (let i = 1; i <= 12; i++) await jobs.enqueue(`job-${i}`);
  console.log('producer: enqueued 12 jobs');
  for (let i = 0; i < 3; i++) await jobs.enqueue('stop');
  await Promise.all(workers);
  const byWorker = [...done.values()].reduce((m, w) => m.set(w, (m.get(w) ?? 0) + 1), new Map<string, number>());
  console.log(
    `${done.size} of 12 jobs processed, each exactly once (${[...byWorker].map(([w, n]) => `${w}: ${n}`).join(', ')})`,
  );

  const tasks = new PriorityQueue(producer, `${PREFIX}/tasks`);
  await tasks.enqueue('rebuild search index', 5);
  await tasks.enqueue('send newsletter', 9);
  await tasks.enqueue('restore failed payment', 0);
  await tasks.enqueue('rotate logs', 5);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) order.push(await tasks.dequeue());
  console.log(`priority queue order: ${order.join(' > ')}`);
}

await main();
