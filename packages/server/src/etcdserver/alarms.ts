// Alarms (etcd's alarm store). NOSPACE is raised through Raft when a write would push the backend
// past --quota-backend-bytes (quota.ts); while any member has it, Put, Txns with Puts and LeaseGrant
// fail with "database space exceeded" (reads, deletes, compaction and revoke still work). Recovery:
// compact, defragment, `etcdctl alarm disarm`. CORRUPT (raised by the corruption check) stops every
// applied write.

import { encodeMessage, etcdError, etcdserverpb, type PartialMessage } from '@conclave/api';
import type { Backend } from '../storage/backend/index.js';
import type { Proposer, ReadBarrier } from './ports.js';
import { BackendQuota } from './quota.js';
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
  /** The backend quota (--quota-backend-bytes), also charged when writes are applied (apply/dispatch.ts). */
  readonly quota: BackendQuota;

  constructor(private readonly deps: AlarmDeps) {
    this.backend = deps.backend;
    this.quota = new BackendQuota(deps.backend, deps.quotaBytes);
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

  /**
   * The Maintenance.Alarm RPC: every action goes through Raft, GET too, as in etcd (3.4 and 3.5): a
   * GET sees every alarm raised or disarmed before it through any member, and takes a Raft index
   * (which `endpoint status` shows; `endpoint health` lists alarms).
   */
  async handle(r: etcdserverpb.AlarmRequest): Promise<PartialMessage<etcdserverpb.AlarmMember>[]> {
    return this.deps.proposer.propose<PartialMessage<etcdserverpb.AlarmMember>[]>(
      RequestKind.Alarm,
      encodeMessage(etcdserverpb.AlarmRequest, r),
    );
  }

  /**
   * etcd's quota check before a write is proposed (Put, Txn, LeaseGrant; its gRPC quota interceptor):
   * undefined when the request's cost fits; otherwise raises NOSPACE for this member through Raft and
   * rejects with "database space exceeded" once the alarm is applied (so an alarm list right after
   * the error shows it, as with etcd).
   */
  checkQuota(cost: number): Promise<never> | undefined {
    if (this.quota.available(cost)) return undefined;
    const raise = this.handle(
      etcdserverpb.AlarmRequest.create({
        action: AlarmAction.ACTIVATE,
        memberID: this.deps.memberId,
        alarm: AlarmType.NOSPACE,
      }),
    ).catch(() => undefined);
    return raise.then(() => {
      throw etcdError('NoSpace');
    });
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
