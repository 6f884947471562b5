// The primary lessor's clock (etcd's lessor.runLoop + EtcdServer.revokeExpiredLeases): every
// 500 ms it collects up to 500 expired leases (leaseRevokeRate / 2, so at most 1,000 revocations a
// second) and revokes them through Raft with at most 16 proposals in flight, and proposes the
// lease checkpoints that are due. Does nothing on a member that is not the primary lessor.

import type { Logger } from '../log/index.js';
import { LEASE_REVOKE_RATE, type Checkpoint, type Lessor } from './lessor.js';

/** etcd's maxPendingRevokes. */
const MAX_PENDING_REVOKES = 16;
/** etcd's maxLeaseCheckpointBatchSize and leaseCheckpointRate. */
const CHECKPOINT_BATCH = 1000;
const CHECKPOINT_RATE = 1000;

export interface ExpiryLoopDeps {
  lessor: Lessor;
  /** Proposes LeaseRevoke for `id` through Raft. */
  revoke(id: bigint): Promise<unknown>;
  /** Proposes a LeaseCheckpoint through Raft (only called when checkpointing is on). */
  checkpoint(cps: Checkpoint[]): Promise<unknown>;
  checkpointing: boolean;
  logger: Logger;
  /** Scan interval (etcd: 500 ms). */
  tickMs: number;
}

export class ExpiryLoop {
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: bigint[] = [];
  private inflight = 0;
  private stopped = false;

  constructor(private readonly d: ExpiryLoopDeps) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.d.tickMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  /** Revocations proposed and not yet answered, plus those waiting for a slot. */
  get pending(): number {
    return this.inflight + this.queue.length;
  }

  tick(): void {
    if (this.stopped || !this.d.lessor.isPrimary) return;
    // Like etcd's expiredC hand-off: while the previous batch is still being revoked, skip this round
    // (the leases stay expired and are found again once the retry interval passed).
    if (this.queue.length === 0) {
      for (const l of this.d.lessor.findExpired(LEASE_REVOKE_RATE / 2)) this.queue.push(l.id);
      this.pump();
    }
    if (this.d.checkpointing) this.proposeCheckpoints();
  }

  private pump(): void {
    while (this.inflight < MAX_PENDING_REVOKES && this.queue.length > 0 && !this.stopped) {
      const id = this.queue.shift()!;
      this.inflight++;
      this.d.revoke(id).then(
        () => this.settled(),
        (err: unknown) => {
          // Not found: revoked meanwhile (by a client, or a previous attempt that did land).
          if ((err as Error)?.message !== 'etcdserver: requested lease not found' && !this.stopped) {
            this.d.logger.warn('failed to revoke lease', {
              'lease-id': BigInt.asUintN(64, id).toString(16).padStart(16, '0'),
              error: String((err as Error)?.message ?? err),
            });
          }
          this.settled();
        },
      );
    }
  }

  private settled(): void {
    this.inflight--;
    this.pump();
  }

  private proposeCheckpoints(): void {
    for (let i = 0; i < CHECKPOINT_RATE / 2; i++) {
      const cps = this.d.lessor.dueCheckpoints(CHECKPOINT_BATCH);
      if (cps.length > 0) {
        this.d
          .checkpoint(cps)
          .catch((err: unknown) =>
            this.d.logger.warn('failed to checkpoint leases', { error: String((err as Error)?.message ?? err) }),
          );
      }
      if (cps.length < CHECKPOINT_BATCH) return;
    }
  }
}
