// Alarms (etcd's alarm store) and the backend quota. NOSPACE is raised through Raft when a write
// would push the backend past --quota-backend-bytes; while any member has it, Put, writing Txns and
// LeaseGrant fail with "database space exceeded" (reads, deletes, compaction and revoke still work).
// Recovery: compact, defragment, `etcdctl alarm disarm`.

import { encodeMessage, etcdError, etcdserverpb, type PartialMessage } from '@conclave/api';
import type { Backend } from '../storage/backend/index.js';
import type { Proposer, ReadBarrier } from './ports.js';
import { RequestKind } from './raft-request.js';
import { formatId, type Logger } from '../log/index.js';

const AlarmType = etcdserverpb.AlarmType;
const AlarmAction = etcdserverpb.AlarmRequest_AlarmAction;

export interface Alarm {
  memberId: bigint;
  alarm: etcdserverpb.AlarmType;
}

const alarmName = (t: etcdserverpb.AlarmType): string => etcdserverpb.AlarmType$names[t] ?? String(t);

const keyOf = (a: Alarm): Buffer => {
  const b = Buffer.alloc(9);
  b.writeBigUInt64BE(a.memberId, 0);
  b[8] = a.alarm;
  return b;
};

/** Rough cost of a request in backend bytes, as etcd's quota estimates it. */
const COST_OVERHEAD = 64;

/** The member's ports the alarm store uses. */
export interface AlarmDeps {
  backend: Backend;
  /** --quota-backend-bytes; null = no quota. */
  quotaBytes: number | null;
  /** This member (raises NOSPACE for itself). */
  memberId: bigint;
  /** Alarms are raised and disarmed through Raft. */
  proposer: Proposer;
  /** Listing alarms waits for a ReadIndex round. */
  reads: ReadBarrier;
  logger: Logger;
}

export class AlarmStore {
  private alarms = new Map<string, Alarm>();
  private readonly backend: Backend;
  private readonly quotaBytes: number | null;

  constructor(private readonly deps: AlarmDeps) {
    this.backend = deps.backend;
    this.quotaBytes = deps.quotaBytes;
    this.load();
  }

  load(): void {
    this.alarms.clear();
    for (const { key } of this.backend.dbs.alarm.getRange()) {
      const a: Alarm = { memberId: key.readBigUInt64BE(0), alarm: key[8]! as etcdserverpb.AlarmType };
      this.alarms.set(keyOf(a).toString('hex'), a);
    }
  }

  list(): Alarm[] {
    return [...this.alarms.values()];
  }

  has(alarm: number): boolean {
    for (const a of this.alarms.values()) if (a.alarm === alarm) return true;
    return false;
  }

  /** Applied on every member (inside the apply batch). Returns the alarms the request touched. */
  apply(r: etcdserverpb.AlarmRequest): PartialMessage<etcdserverpb.AlarmMember>[] {
    const a: Alarm = { memberId: r.memberID, alarm: r.alarm };
    const k = keyOf(a);
    switch (r.action) {
      case AlarmAction.ACTIVATE: {
        if (r.alarm === AlarmType.NONE) return [];
        const first = !this.has(a.alarm);
        this.alarms.set(k.toString('hex'), a);
        this.backend.dbs.alarm.putSync(k, Buffer.from([1]));
        if (first) this.deps.logger.warn('alarm raised', { alarm: alarmName(a.alarm), from: formatId(a.memberId) });
        return [{ memberID: a.memberId, alarm: a.alarm }];
      }
      case AlarmAction.DEACTIVATE: {
        if (!this.alarms.delete(k.toString('hex'))) return [];
        this.backend.dbs.alarm.removeSync(k);
        if (!this.has(a.alarm))
          this.deps.logger.warn('alarm disarmed', { alarm: alarmName(a.alarm), from: formatId(a.memberId) });
        return [{ memberID: a.memberId, alarm: a.alarm }];
      }
      default:
        return this.filter(r);
    }
  }

  private filter(r: etcdserverpb.AlarmRequest): PartialMessage<etcdserverpb.AlarmMember>[] {
    return this.list()
      .filter(
        (a) => (r.memberID === 0n || a.memberId === r.memberID) && (r.alarm === AlarmType.NONE || a.alarm === r.alarm),
      )
      .map((a) => ({ memberID: a.memberId, alarm: a.alarm }));
  }

  /** The Maintenance.Alarm RPC: GET answers after a ReadIndex round; ACTIVATE/DEACTIVATE go through Raft. */
  async handle(r: etcdserverpb.AlarmRequest): Promise<PartialMessage<etcdserverpb.AlarmMember>[]> {
    if (r.action === AlarmAction.GET) {
      // etcd 3.4 puts every Alarm request through Raft, so a GET sees every alarm raised or disarmed
      // before it, through any member; a ReadIndex round gives the same guarantee.
      await this.deps.reads.linearizableRead();
      return this.filter(r);
    }
    return this.deps.proposer.propose<PartialMessage<etcdserverpb.AlarmMember>[]>(
      RequestKind.Alarm,
      encodeMessage(etcdserverpb.AlarmRequest, r),
    );
  }

  /**
   * The quota check before a write is proposed: fails with NOSPACE when the alarm is on, or when the
   * write would exceed the quota (then raises the alarm for this member through Raft).
   */
  checkQuota(costBytes: number): void {
    if (this.has(AlarmType.NOSPACE)) throw etcdError('NoSpace');
    if (this.quotaBytes === null) return;
    if (this.backend.size() + costBytes + COST_OVERHEAD <= this.quotaBytes) return;
    void this.handle(
      etcdserverpb.AlarmRequest.create({
        action: AlarmAction.ACTIVATE,
        memberID: this.deps.memberId,
        alarm: AlarmType.NOSPACE,
      }),
    ).catch(() => {});
    throw etcdError('NoSpace');
  }

  /** Applied writes are refused while NOSPACE is raised (etcd's capped applier). */
  get capped(): boolean {
    return this.has(AlarmType.NOSPACE);
  }

  /**
   * While CORRUPT is raised (by the leader's corruption check) every applied write fails with
   * "etcdserver: corrupt cluster" (etcd's corrupt applier: Put, DeleteRange, Txn, Compaction,
   * LeaseGrant, LeaseRevoke); reads served locally still work.
   */
  get corrupt(): boolean {
    return this.has(AlarmType.CORRUPT);
  }
}
