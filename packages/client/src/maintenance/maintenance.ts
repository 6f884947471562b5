// The Maintenance service. Status, Hash, HashKV, Defragment and Snapshot describe or act on one
// member: they go to `endpoint` when given (one of the client's endpoints), else to the next
// endpoint in rotation. MoveLeader is sent to the current leader, found through Status.

import { GrpcCode, etcdserverpb, type MethodDescriptor, type PartialMessage } from '@conclave/api';
import { AsyncQueue } from '../util/async-queue.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { parseEndpoint } from '../endpoint/endpoint.js';
import { NoLeaderError } from '../errors/etcd.js';
import { errorFromStatus } from '../errors/map.js';
import { codecs } from '../rpc/codecs.js';
import { abortedError } from '../rpc/attempt.js';
import type { CallOptions, Rpc } from '../rpc/rpc.js';
import type { RpcKind } from '../rpc/policy.js';
import { callOptions, checkChoice, checkInt, checkString, options } from '../util/validate.js';

const ALARMS = ['none', 'nospace', 'corrupt'];

function checkAlarm(a: Alarm, where: string): void {
  options(a, where);
  checkInt(a.memberId, `${where}.memberId`, 0, true);
  checkChoice(a.alarm, `${where}.alarm`, ALARMS);
}

const M = etcdserverpb.MaintenanceService;

/** Which member a per-member Maintenance call goes to. */
export interface EndpointOption {
  /** Send to this endpoint ("host:port", with or without scheme; one of the client's endpoints). */
  endpoint?: string;
}

/** What `maintenance.status()` reports about one member. */
export interface MemberStatus {
  /** The endpoint that answered. */
  endpoint: string;
  clusterId: bigint;
  memberId: bigint;
  /** Store revision on that member. */
  revision: bigint;
  version: string;
  dbSize: number;
  dbSizeInUse: number;
  /** Leader's member ID (0n: no leader). */
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  isLearner: boolean;
}

/** The alarms etcd raises: `nospace` (the backend quota is exhausted), `corrupt`. */
export type AlarmType = 'none' | 'nospace' | 'corrupt';
/** An alarm raised on a member. */
export interface Alarm {
  memberId: bigint;
  alarm: AlarmType;
}

/** Snapshot chunks buffered before the stream is paused (etcd sends 32 KiB chunks). */
const SNAPSHOT_BUFFER = 64;

const ALARM_NAMES: Record<number, AlarmType> = { 0: 'none', 1: 'nospace', 2: 'corrupt' };
const ALARM_CODES: Record<AlarmType, etcdserverpb.AlarmType> = { none: 0, nospace: 1, corrupt: 2 };

/**
 * Maintenance (`client.maintenance`): status, alarms, defragment, hashes, snapshot and move leader.
 * Calls that describe one member take `{ endpoint }` (one of the client's endpoints).
 */
export class MaintenanceApi {
  /** @internal Made by the client (`client.maintenance`). */
  constructor(private readonly rpc: Rpc) {}

  private endpoint(address: string | undefined): Endpoint | undefined {
    if (address === undefined) return undefined;
    checkString(address, 'options.endpoint', true);
    const { address: a } = parseEndpoint(address, false);
    const ep = this.rpc.pool.get(a);
    if (!ep)
      throw new TypeError(`${address} is not one of the client's endpoints (${this.rpc.pool.addresses.join(', ')})`);
    return ep;
  }

  private call<Req, Res>(
    m: MethodDescriptor<Req, Res>,
    req: PartialMessage<Req>,
    kind: RpcKind,
    opts: CallOptions & EndpointOption,
  ): Promise<Res> {
    const { endpoint, ...rest } = opts;
    const ep = this.endpoint(endpoint);
    return this.rpc.unary(m, req, { ...rest, kind, ...(ep ? { endpoint: ep } : {}) });
  }

  /**
   * The status of one member (the next endpoint in rotation, or `endpoint`): its ID, leader, revision, database
   * size, Raft indexes.
   */
  async status(opts?: CallOptions & EndpointOption): Promise<MemberStatus> {
    opts = callOptions(opts, 'maintenance.status');
    const { endpoint, ...rest } = opts;
    const ep = this.endpoint(endpoint);
    const stats: { attempts: number; endpoint?: string } = { attempts: 0 };
    const res = await this.rpc.unary(M.Status, {}, { ...rest, kind: 'read', ...(ep ? { endpoint: ep } : {}), stats });
    const h = res.header;
    return {
      endpoint: stats.endpoint ?? '',
      clusterId: h?.clusterId ?? 0n,
      memberId: h?.memberId ?? 0n,
      revision: h?.revision ?? 0n,
      version: res.version,
      dbSize: Number(res.dbSize),
      dbSizeInUse: Number(res.dbSizeInUse),
      leader: res.leader,
      raftIndex: res.raftIndex,
      raftTerm: res.raftTerm,
      raftAppliedIndex: res.raftAppliedIndex,
      errors: [...res.errors],
      isLearner: res.isLearner,
    };
  }

  /** Active alarms of the cluster. */
  async alarms(opts?: CallOptions): Promise<Alarm[]> {
    opts = callOptions(opts, 'maintenance.alarms');
    const res = await this.call(M.Alarm, { action: 0 }, 'read', opts);
    return res.alarms.map((a) => ({ memberId: a.memberID, alarm: ALARM_NAMES[a.alarm] ?? 'none' }));
  }

  /** Deactivates one alarm, or every active alarm when none is given (etcdctl alarm disarm). Returns the alarms deactivated. */
  async disarm(alarm?: Alarm, opts?: CallOptions): Promise<Alarm[]> {
    if (alarm !== undefined) checkAlarm(alarm, 'maintenance.disarm: alarm');
    opts = callOptions(opts, 'maintenance.disarm');
    const list = alarm ? [alarm] : await this.alarms(opts);
    const out: Alarm[] = [];
    for (const a of list) {
      const res = await this.call(
        M.Alarm,
        { action: 2, memberID: a.memberId, alarm: ALARM_CODES[a.alarm] },
        'idempotent',
        opts,
      );
      for (const r of res.alarms) out.push({ memberId: r.memberID, alarm: ALARM_NAMES[r.alarm] ?? 'none' });
    }
    return out;
  }

  /** Raises an alarm (etcd does this itself for NOSPACE / CORRUPT; useful in tests). */
  async activateAlarm(alarm: Alarm, opts?: CallOptions): Promise<Alarm[]> {
    checkAlarm(alarm, 'maintenance.activateAlarm: alarm');
    opts = callOptions(opts, 'maintenance.activateAlarm');
    const res = await this.call(
      M.Alarm,
      { action: 1, memberID: alarm.memberId, alarm: ALARM_CODES[alarm.alarm] },
      'write',
      opts,
    );
    return res.alarms.map((a) => ({ memberId: a.memberID, alarm: ALARM_NAMES[a.alarm] ?? 'none' }));
  }

  /** Defragments one member's backend. */
  async defragment(opts?: CallOptions & EndpointOption): Promise<void> {
    opts = callOptions(opts, 'maintenance.defragment');
    await this.call(M.Defragment, {}, 'idempotent', { timeoutMs: 60_000, ...opts });
  }

  /** Hash of one member's whole backend. */
  async hash(opts?: CallOptions & EndpointOption): Promise<number> {
    opts = callOptions(opts, 'maintenance.hash');
    const res = await this.call(M.Hash, {}, 'read', opts);
    return res.hash;
  }

  /** Hash of one member's key-value history up to `revision` (0 = latest). */
  async hashKV(
    revision: bigint | number = 0,
    opts?: CallOptions & EndpointOption,
  ): Promise<{ hash: number; compactRevision: bigint; revision: bigint }> {
    checkInt(revision, 'maintenance.hashKV: revision');
    opts = callOptions(opts, 'maintenance.hashKV');
    const res = await this.call(M.HashKV, { revision }, 'read', opts);
    return { hash: res.hash, compactRevision: res.compactRevision, revision: res.header?.revision ?? 0n };
  }

  /**
   * Streams a snapshot of one member's backend (what `etcdctl snapshot save` writes), chunk by
   * chunk. A slow reader holds the server back (flow control): at most a few MiB are buffered.
   */
  snapshot(opts?: { signal?: AbortSignal } & EndpointOption): AsyncGenerator<Uint8Array, void, undefined> {
    const o = callOptions(opts, 'maintenance.snapshot');
    const ep = this.endpoint(o.endpoint);
    return this.snapshotChunks(ep, o.signal);
  }

  private async *snapshotChunks(
    chosen: Endpoint | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.rpc.isClosed) throw this.rpc.closedError();
    if (signal?.aborted) throw abortedError(signal);
    const ep = chosen ?? this.rpc.pool.pick();
    const { md } = await this.rpc.metadata(false);
    const c = codecs(M.Snapshot);
    const chunks = new AsyncQueue<Uint8Array>();
    const req = { path: M.Snapshot.path, message: c.serialize({}), metadata: md, deadline: Infinity };
    const call = ep.transport.serverStream(req, {
      onMessage: (b) => {
        let blob: Uint8Array;
        try {
          blob = c.deserialize(b).blob;
        } catch {
          chunks.fail(
            errorFromStatus({ code: GrpcCode.INTERNAL, details: 'Failed to parse server response' }, ep.address),
          );
          call.cancel();
          return;
        }
        if (blob.length === 0) return;
        chunks.push(blob);
        if (chunks.size >= SNAPSHOT_BUFFER) call.pause();
      },
      onEnd: (st) => {
        if (st.code === GrpcCode.OK) chunks.end();
        else if (signal?.aborted) chunks.fail(abortedError(signal, ep.address));
        else chunks.fail(errorFromStatus(st, ep.address, st));
      },
    });
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of chunks) {
        yield chunk;
        if (chunks.size < SNAPSHOT_BUFFER / 2) call.resume();
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  /** Transfers leadership to member `targetId`. */
  async moveLeader(targetId: bigint, opts?: CallOptions): Promise<void> {
    checkInt(targetId, 'maintenance.moveLeader: targetId', 1, true);
    opts = callOptions(opts, 'maintenance.moveLeader');
    const statuses = await Promise.allSettled(
      this.rpc.pool.endpoints.map((e) => this.status({ ...opts, endpoint: e.address })),
    );
    let leaderEp: string | undefined;
    for (const s of statuses) {
      if (s.status === 'fulfilled' && s.value.leader !== 0n && s.value.leader === s.value.memberId)
        leaderEp = s.value.endpoint;
    }
    if (!leaderEp) {
      throw new NoLeaderError({
        message: 'etcdserver: no leader (no endpoint of the client is the leader)',
        code: 'NoLeader',
        retriable: true,
      });
    }
    await this.call(M.MoveLeader, { targetID: targetId }, 'write', { ...opts, endpoint: leaderEp });
  }
}
