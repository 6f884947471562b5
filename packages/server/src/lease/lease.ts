// One lease (etcd's lease.Lease): its ID, granted TTL, the remaining TTL last checkpointed, the
// expiry time (only meaningful on the primary lessor, i.e. the leader; "forever" elsewhere) and the
// keys attached to it.

/** "Never expires": the expiry of every lease on a member that is not the primary lessor. */
export const FOREVER = Number.POSITIVE_INFINITY;

/** Monotonic milliseconds (immune to wall-clock jumps), the time base of every expiry. */
export const now = (): number => performance.now();

export class Lease {
  /** Granted TTL in seconds (raised to the minimum TTL at grant). */
  ttl: number;
  /** Remaining TTL in seconds from the last checkpoint; 0 = unset (the full TTL applies). */
  remainingTtl: number;
  /** Expiry in `now()` milliseconds; FOREVER when this member is not the primary lessor. */
  expiry = FOREVER;
  /** Attached keys, as latin1 strings of their bytes (sorted byte order = string order). */
  readonly keys = new Set<string>();
  /** Set once the lease is revoked (applied); wakes keep-alives that waited on an expired lease. */
  revoked = false;
  private revokeWaiters: Array<() => void> | null = null;

  constructor(
    readonly id: bigint,
    ttl: number,
    remainingTtl = 0,
  ) {
    this.ttl = ttl;
    this.remainingTtl = remainingTtl;
  }

  /** The TTL a refresh starts from: the checkpointed remaining TTL if set, else the granted TTL. */
  get effectiveTtl(): number {
    return this.remainingTtl > 0 ? this.remainingTtl : this.ttl;
  }

  /** Restarts the countdown: expires `extendMs` + effective TTL from now (etcd's refresh). */
  refresh(extendMs: number, at: number = now()): void {
    this.expiry = at + extendMs + this.effectiveTtl * 1000;
  }

  forever(): void {
    this.expiry = FOREVER;
  }

  /** Milliseconds until expiry (Infinity when forever; ≤ 0 once expired). */
  remainingMs(at: number = now()): number {
    return this.expiry === FOREVER ? FOREVER : this.expiry - at;
  }

  expired(at: number = now()): boolean {
    return this.remainingMs(at) <= 0;
  }

  /** Attached keys in byte order, as Buffers (etcd returns them unordered; sorted is one valid order). */
  sortedKeys(): Buffer[] {
    return [...this.keys].sort().map((k) => Buffer.from(k, 'latin1'));
  }

  /** Resolves when the lease is revoked. */
  whenRevoked(): Promise<void> {
    if (this.revoked) return Promise.resolve();
    return new Promise((resolve) => (this.revokeWaiters ??= []).push(resolve));
  }

  markRevoked(): void {
    this.revoked = true;
    const ws = this.revokeWaiters;
    this.revokeWaiters = null;
    if (ws) for (const w of ws) w();
  }
}
