// The backend quota (--quota-backend-bytes), as etcd's backendQuota: a write is charged a cost
// (a Put 256 bytes + key + value; a Txn the larger of its success and failure branches' top-level
// Puts; a LeaseGrant 64) and fits while size + cost < quota. Requests that cost nothing always fit.
//
// The size is the bytes of the LMDB pages in use (the B-trees of every sub-database, the free list
// and the two meta pages: Status.dbSizeInUse, what a defragmented copy holds). etcd compares its
// bbolt file size, which keeps freed pages until a defragment; LMDB reuses freed pages itself, so its
// file's high-water mark mostly measures page churn, not data (a fresh member's file is 13 pages,
// bbolt's 5). See docs/quota.md. Computing it costs a few stat calls per sub-database, so it is
// cached for 100 ms (etcd's own size is refreshed at its backend commits, every 100 ms by default)
// and recomputed at once after a defragment or restore.

import type { etcdserverpb } from '@conclave/api';
import { MSG, type LogLevel } from '../log/index.js';

/** etcd's estimate for the cost of a key's metadata. */
export const KV_OVERHEAD = 256;
/** etcd's estimate for the cost of storing a lease. */
export const LEASE_OVERHEAD = 64;

/** How long a computed size is used before it is computed again. */
const SIZE_TTL_MS = 100;

export function costPut(p: Pick<etcdserverpb.PutRequest, 'key' | 'value'>): number {
  return KV_OVERHEAD + p.key.length + p.value.length;
}

/** Only the Puts directly in each branch count (nested Txns cost nothing, as in etcd 3.4). */
export function costTxn(t: Pick<etcdserverpb.TxnRequest, 'success' | 'failure'>): number {
  const branch = (ops: readonly etcdserverpb.RequestOp[]): number => {
    let n = 0;
    for (const op of ops) if (op.requestPut) n += costPut(op.requestPut);
    return n;
  };
  return Math.max(branch(t.success), branch(t.failure));
}

export interface QuotaBackend {
  /** Bytes of the pages in use. */
  sizeInUse(): number;
  /** Called after the data file was replaced (defragment, restore). */
  onReplace(listener: () => void): () => void;
}

export class BackendQuota {
  private size = 0;
  private at = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly backend: QuotaBackend,
    /** --quota-backend-bytes after defaults; null when the quota is disabled (negative flag). */
    readonly maxBytes: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    backend.onReplace(() => {
      this.at = Number.NEGATIVE_INFINITY;
    });
  }

  /** The size the quota compares (cached, see the file comment). */
  currentSize(): number {
    const t = this.now();
    if (t - this.at >= SIZE_TTL_MS) {
      this.size = this.backend.sizeInUse();
      this.at = t;
    }
    return this.size;
  }

  /** Does a request of this cost fit? */
  available(cost: number): boolean {
    if (this.maxBytes === null || cost === 0) return true;
    return this.currentSize() + cost < this.maxBytes;
  }

  /** Bytes left before the quota (etcd's Remaining). */
  remaining(): number {
    return this.maxBytes === null ? Number.POSITIVE_INFINITY : this.maxBytes - this.currentSize();
  }
}

/** etcd's DefaultQuotaBytes (2 GiB) and MaxQuotaBytes (8 GiB, above which it warns). */
const DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3;
const MAX_QUOTA_BYTES = 8 * 1024 ** 3;

/** go-humanize's Bytes (SI units): 53248 → "53 kB", 2147483648 → "2.1 GB". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${units[e]}`;
}

/** What etcd logs about the quota at start, from the --quota-backend-bytes value as given. */
export function quotaLogLines(flag: number): Array<{ level: LogLevel; msg: string; fields: Record<string, unknown> }> {
  const name = { 'quota-name': 'v3-applier' };
  if (flag < 0)
    return [{ level: 'info', msg: MSG.DISABLED_BACKEND_QUOTA, fields: { ...name, 'quota-size-bytes': flag } }];
  if (flag === 0) {
    return [
      {
        level: 'info',
        msg: MSG.ENABLED_BACKEND_QUOTA_DEFAULT,
        fields: { ...name, 'quota-size-bytes': DEFAULT_QUOTA_BYTES, 'quota-size': humanizeBytes(DEFAULT_QUOTA_BYTES) },
      },
    ];
  }
  const lines: ReturnType<typeof quotaLogLines> = [];
  if (flag > MAX_QUOTA_BYTES) {
    lines.push({
      level: 'warn',
      msg: 'quota exceeds the maximum value',
      fields: {
        ...name,
        'quota-size-bytes': flag,
        'quota-size': humanizeBytes(flag),
        'quota-maximum-size-bytes': MAX_QUOTA_BYTES,
        'quota-maximum-size': humanizeBytes(MAX_QUOTA_BYTES),
      },
    });
  }
  lines.push({
    level: 'info',
    msg: MSG.ENABLED_BACKEND_QUOTA,
    fields: { ...name, 'quota-size-bytes': flag, 'quota-size': humanizeBytes(flag) },
  });
  return lines;
}
