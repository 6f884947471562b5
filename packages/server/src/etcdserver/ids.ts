// Member, cluster, request and lease IDs, derived exactly as etcd derives them, so that the same flags
// give the same IDs as etcd (e.g. the defaults give member 8e9e05c52164694d in cluster cdf818194e3a8c32).

import { createHash } from 'node:crypto';

function sha1Prefix(data: Buffer): bigint {
  return createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

/** A member's ID: SHA-1 of its sorted peer URLs + the cluster token (+ the time, for members added later). */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string, nowSeconds?: number): bigint {
  const joined = [...peerUrls].sort().join('');
  const suffix = nowSeconds === undefined ? '' : String(nowSeconds);
  return sha1Prefix(Buffer.from(joined + clusterToken + suffix, 'utf8'));
}

/** The cluster ID: SHA-1 of the sorted initial member IDs. */
export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return sha1Prefix(b);
}

const SUFFIX_BITS = 48n;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;

/**
 * etcd's ID generator: | 2 bytes of member ID | 5 bytes of start-up time in ms | 1 byte counter |,
 * the low 6 bytes incremented per ID. Unique across members and restarts (clock permitting).
 */
export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  constructor(memberId: bigint, nowMs: number = Date.now()) {
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(nowMs) & ((1n << 40n) - 1n)) << 8n;
  }

  next(): bigint {
    this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
    return this.prefix | this.suffix;
  }

  /** A positive int64 (lease IDs must be > 0): etcd masks the sign bit off. */
  nextPositiveInt64(): bigint {
    for (;;) {
      const id = this.next() & 0x7fffffffffffffffn;
      if (id > 0n) return id;
    }
  }
}
