// How leases are stored in the backend's `lease` sub-database, as etcd stores them: the key is the
// lease ID as 8 bytes big-endian (two's complement), the value a leasepb.Lease protobuf
// { ID = 1 int64, TTL = 2 int64, RemainingTTL = 3 int64 }.

import { Reader, Writer } from '@conclave/api';

export interface LeaseRecord {
  id: bigint;
  ttl: number;
  remainingTtl: number;
}

export function leaseKey(id: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt.asIntN(64, id));
  return b;
}

const writer = new Writer(64);

export function encodeLeaseRecord(r: LeaseRecord): Buffer {
  const w = writer.reset();
  if (r.id !== 0n) {
    w.uint32(8);
    w.int64(r.id);
  }
  if (r.ttl !== 0) {
    w.uint32(16);
    w.int64(r.ttl);
  }
  if (r.remainingTtl !== 0) {
    w.uint32(24);
    w.int64(r.remainingTtl);
  }
  return w.finish();
}

export function decodeLeaseRecord(b: Uint8Array): LeaseRecord {
  const r = new Reader(b);
  const out: LeaseRecord = { id: 0n, ttl: 0, remainingTtl: 0 };
  while (r.pos < b.length) {
    const tag = r.uint32();
    switch (tag) {
      case 8:
        out.id = r.int64();
        break;
      case 16:
        out.ttl = Number(r.int64());
        break;
      case 24:
        out.remainingTtl = Number(r.int64());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}
