// SHA-256 of a snapshot computed on a worker thread, so the member's own thread only builds and
// sends the pages. Chunks are copied into a ring of shared slots (a memcpy costs a tenth of
// hashing); the worker hashes the slots in order. The two threads signal through counters in
// shared memory (Atomics), not messages: producing a slot costs a copy and an increment.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// Control words: [PRODUCED] slots handed over, [CONSUMED] slots hashed, [DONE] no more slots.
const PRODUCED = 0;
const CONSUMED = 1;
const DONE = 2;

/** The worker: waits for slots, hashes them in order, posts the digest once told it is done. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const h = require('node:crypto').createHash('sha256');
const { ring, ctrl: ctrlBuf, lens: lensBuf, slotSize, slots } = workerData;
const data = new Uint8Array(ring);
const ctrl = new Int32Array(ctrlBuf);
const lens = new Int32Array(lensBuf);
let consumed = 0;
for (;;) {
  const produced = Atomics.load(ctrl, ${PRODUCED});
  if (consumed === produced) {
    if (Atomics.load(ctrl, ${DONE}) === 1 && Atomics.load(ctrl, ${PRODUCED}) === consumed) break;
    Atomics.wait(ctrl, ${PRODUCED}, produced, 1000);
    continue;
  }
  const i = consumed % slots;
  h.update(data.subarray(i * slotSize, i * slotSize + lens[i]));
  consumed++;
  Atomics.store(ctrl, ${CONSUMED}, consumed);
  Atomics.notify(ctrl, ${CONSUMED});
}
parentPort.postMessage(h.digest());
`;

/** Atomics.waitAsync (Node 16+; not in the ES2023 library types). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

export interface Hasher {
  /** Hashes `chunk` (after the chunks before it); once it resolves the chunk may change. */
  update(chunk: Buffer): Promise<void> | void;
  digest(): Promise<Buffer>;
  close(): void;
}

/** Hashing on the calling thread. */
export function inlineHasher(): Hasher {
  const h = createHash('sha256');
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => Promise.resolve(h.digest()),
    close: () => undefined,
  };
}

/** Hashing on a worker thread, through a ring of `slots` shared slots of `slotSize` bytes. */
export function workerHasher(slots = 4, slotSize = 1 << 20): Hasher {
  const ring = new SharedArrayBuffer(slots * slotSize);
  const data = Buffer.from(ring);
  const ctrlBuf = new SharedArrayBuffer(12);
  const ctrl = new Int32Array(ctrlBuf);
  const lensBuf = new SharedArrayBuffer(4 * slots);
  const lens = new Int32Array(lensBuf);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ring, ctrl: ctrlBuf, lens: lensBuf, slotSize, slots },
  });
  // Not unref()'d: a pending update() waits on shared memory, which alone keeps no event loop alive.
  let produced = 0;
  let failed: Error | null = null;
  const digest = new Promise<Buffer>((resolve, reject) => {
    const fail = (e: Error): void => {
      failed ??= e;
      Atomics.notify(ctrl, CONSUMED); // wakes an update() waiting for a slot (a wait keeps no loop alive)
      reject(failed);
    };
    worker.once('message', (d: Uint8Array) => resolve(Buffer.from(d)));
    worker.once('error', fail);
    // Stopped before posting the digest (close(), or the thread died): a waiting update() gives up.
    worker.once('exit', () => fail(new Error('snapshot: the hashing thread stopped')));
  });
  digest.catch(() => undefined);
  return {
    async update(chunk) {
      for (let off = 0; off < chunk.length; off += slotSize) {
        for (;;) {
          if (failed) throw failed;
          const consumed = Atomics.load(ctrl, CONSUMED);
          if (produced - consumed < slots) break;
          const w = waitAsync(ctrl, CONSUMED, consumed, 1000);
          if (w.async) await w.value;
        }
        const len = Math.min(slotSize, chunk.length - off);
        const i = produced % slots;
        chunk.copy(data, i * slotSize, off, off + len);
        lens[i] = len;
        produced++;
        Atomics.store(ctrl, PRODUCED, produced);
        Atomics.notify(ctrl, PRODUCED);
      }
    },
    digest() {
      Atomics.store(ctrl, DONE, 1);
      Atomics.notify(ctrl, PRODUCED);
      return digest;
    },
    close() {
      failed ??= new Error('snapshot: hashing closed');
      Atomics.notify(ctrl, CONSUMED);
      void worker.terminate();
    },
  };
}
