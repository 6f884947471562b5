// The revisions a Range reads, as compact arrays rather than KeyValue objects (20 bytes a key), and
// a reader of their stored bytes through one LMDB read transaction. A large response is planned
// from them (range-stream/) and each stored KeyValue is read only when it is about to be sent. The
// refs come from one synchronous walk of the key index and the read view is opened in the same turn,
// so both are the store at one revision: writes and compactions that follow change neither.

import type { BackendReadView } from '../storage/backend/index.js';
import type { StoreCore } from './core.js';
import { REV_KEY_LEN, writeRevKey } from './revision.js';

export interface RangeRefs {
  /** Main and sub revision, and create revision, of each key in range at `atRev`, in key order. */
  main: Float64Array;
  sub: Uint32Array;
  create: Float64Array;
  /** Entries used in the arrays. */
  n: number;
  /** Keys in range at `atRev` (etcd's count, whatever the limit). */
  count: number;
  /** The revision read at. */
  atRev: number;
  /** The current revision when read (the response header's). */
  rev: number;
}

/** Walks the index over [key, end) at atRev, keeping the first `limit` entries (Infinity: all). */
export function collectRefs(
  core: StoreCore,
  key: Buffer,
  end: Buffer | null,
  atRev: number,
  current: number,
  limit: number,
): RangeRefs {
  core.counters.range++;
  const index = core.index;
  let cap = 256;
  let main = new Float64Array(cap);
  let sub = new Uint32Array(cap);
  let create = new Float64Array(cap);
  let n = 0;
  let count = 0;
  core.visitRange(key, end, (e) => {
    if (!index.at(e, atRev)) return;
    count++;
    if (n >= limit) return;
    if (n === cap) {
      cap *= 2;
      main = grow(main, new Float64Array(cap));
      sub = grow(sub, new Uint32Array(cap));
      create = grow(create, new Float64Array(cap));
    }
    main[n] = index.hitMain;
    sub[n] = index.hitSub;
    create[n] = index.hitCreated;
    n++;
  });
  return { main, sub, create, n, count, atRev, rev: current };
}

function grow<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** lmdb-js's uncopied read (not in its typings with options) and the size of the last value read. */
interface FastGet {
  getBinaryFast(key: Buffer, opts: { transaction: BackendReadView['txn'] }): Buffer | undefined;
  readonly lastSize: number;
}

/** Reads stored KeyValues by revision through a read view (a snapshot of the backend). */
export class RefReader {
  private readonly key = Buffer.allocUnsafe(REV_KEY_LEN);
  private readonly opts: { transaction: BackendReadView['txn'] };

  constructor(private readonly view: BackendReadView) {
    this.opts = { transaction: view.txn };
  }

  /**
   * The stored mvccpb.KeyValue bytes of revision (main, sub): a view of LMDB's memory, valid only
   * until the next read (copy it out at once).
   */
  fetch(main: number, sub: number): Buffer {
    // lmdb-js's getBinaryFast: no copy; the buffer it returns may be longer than the value
    const db = this.view.dbs.key as unknown as FastGet;
    const b = db.getBinaryFast(writeRevKey(this.key, main, sub), this.opts);
    if (b === undefined) throw new Error(`mvcc: revision ${main}_${sub} is in the index but not stored`);
    return b.subarray(0, db.lastSize);
  }

  /** Ends the read transaction. */
  release(): void {
    this.view.release();
  }
}
