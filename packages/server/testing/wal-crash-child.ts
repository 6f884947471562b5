// Child process for crash.test.ts: appends entries with sync saves from several concurrent
// writers and prints each index once its save has resolved, until it is killed.
//   node --import tsx crash-child.ts <dir> <preallocate: 0|1>

import { Wal } from '../src/storage/wal/index.js';
import { META, entry } from './wal-fixture.js';

const dir = process.argv[2]!;
const preallocate = process.argv[3] === '1';
const opts = { segmentSize: 16 * 1024, preallocate };

let wal: Wal;
if (await Wal.exists(dir)) {
  wal = await Wal.open(dir, opts);
  await wal.readAll();
} else {
  wal = await Wal.create(dir, { ...opts, metadata: META });
}
let next = wal.lastIndex + 1;

async function writer(): Promise<never> {
  for (;;) {
    const i = next++;
    await wal.save({ term: 1, vote: 1n, commit: i }, [entry(i, 1, 256)], true);
    process.stdout.write(`${i}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: 8 }, writer));
