// The cluster's downgrade job (etcd 3.5's Maintenance.Downgrade): VALIDATE checks that a target
// version is the one below the cluster version and that no job runs; ENABLE starts a job through
// Raft; CANCEL ends it through Raft. The job (enabled + target version) is kept in the backend, so
// every member knows it and it survives restarts; Status reports it (downgradeInfo).
//
// What it means for Conclave: in etcd the job ends on its own once every member runs a binary of the
// target version (the operator swaps them one at a time; the leader then cancels the job and the
// cluster version follows). A Conclave member always runs Conclave and reports the version in
// config/version.ts, never the target, so in a Conclave cluster the job is only a recorded intent: it
// never completes by itself and the cluster version does not change; CANCEL ends it. An etcd 3.5
// member restarted while a job is on refuses to start ("invalid downgrade; server version is not
// allowed to join when downgrade is enabled"); a Conclave member starts and logs a warning instead,
// since no other binary could take its place. See docs/etcd-3.5.md.

import { etcdserverpb, GrpcCode, GrpcStatusError } from '@conclave/api';
import type { Backend } from '../storage/backend/index.js';
import { META } from '../storage/backend/index.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { Proposer, ReadBarrier } from '../etcdserver/ports.js';
import type { Logger } from '../log/index.js';
import { clusterVersionOf, compareSemver, formatSemver, parseSemver, type Semver } from './semver.js';

export interface DowngradeInfo {
  enabled: boolean;
  /** The cluster version being downgraded to ("3.4.0"); '' when no job runs. */
  targetVersion: string;
}

const NONE: DowngradeInfo = { enabled: false, targetVersion: '' };

/**
 * etcd's Downgrade errors (3.5 rpctypes). Kept out of @conclave/api's error table, which clients
 * map errors with: no client method calls Downgrade.
 */
const ERRORS = {
  WrongDowngradeVersionFormat: [GrpcCode.INVALID_ARGUMENT, 'etcdserver: wrong downgrade target version format'],
  InvalidDowngradeTargetVersion: [GrpcCode.INVALID_ARGUMENT, 'etcdserver: invalid downgrade target version'],
  ClusterVersionUnavailable: [GrpcCode.UNAVAILABLE, 'etcdserver: cluster version not found during downgrade'],
  DowngradeInProcess: [GrpcCode.FAILED_PRECONDITION, 'etcdserver: cluster has a downgrade job in progress'],
  NoInflightDowngrade: [GrpcCode.FAILED_PRECONDITION, 'etcdserver: no inflight downgrade job'],
  // not in etcd's gRPC table either: a plain error, UNKNOWN on the wire
  UnknownMethod: [GrpcCode.UNKNOWN, 'etcdserver: unknown method'],
  NotCapable: [GrpcCode.UNAVAILABLE, 'etcdserver: not capable'],
} as const;

function etcdError(name: keyof typeof ERRORS): GrpcStatusError {
  const [code, message] = ERRORS[name];
  return new GrpcStatusError(code, message);
}

/** The job as every member applies it (etcd's DowngradeInfoSet). */
export class DowngradeStore {
  private current: DowngradeInfo = NONE;

  constructor(
    private readonly backend: Backend,
    logger: Logger,
    /** The server version this member reports. */
    serverVersion: string,
  ) {
    this.load();
    if (this.current.enabled)
      logger.warn('cluster is downgrading, but this member cannot run the target version; cancel the downgrade', {
        'current-server-version': serverVersion,
        'target-cluster-version': this.current.targetVersion,
      });
    // A snapshot from the leader replaces the backend: take the job from it.
    backend.onReplace((reason) => {
      if (reason === 'restore') this.load();
    });
  }

  get info(): DowngradeInfo {
    return this.current;
  }

  private load(): void {
    const raw = this.backend.getMeta(META.downgrade);
    this.current = raw ? decodeSet(raw) : NONE;
  }

  /** A committed RequestKind.DowngradeInfoSet (apply/dispatch.ts), inside the apply batch. */
  apply(body: Uint8Array): undefined {
    const d = decodeSet(body);
    this.current = d.enabled ? d : NONE;
    this.backend.putMeta(META.downgrade, encodeSet(this.current));
    return undefined;
  }
}

export function encodeSet(d: DowngradeInfo): Buffer {
  return Buffer.from(JSON.stringify({ enabled: d.enabled, ver: d.targetVersion }), 'utf8');
}

function decodeSet(body: Uint8Array): DowngradeInfo {
  const o = JSON.parse(Buffer.from(body).toString('utf8')) as { enabled?: boolean; ver?: string };
  return o.enabled ? { enabled: true, targetVersion: o.ver ?? '' } : NONE;
}

/** What Downgrade needs from the member. */
export interface DowngradePorts extends Proposer, ReadBarrier {
  readonly downgrade: DowngradeStore;
  /** The cluster version this member knows ("3.5.0"), '' before one is set. */
  clusterVersion(): string;
}

/** etcd's convertToClusterVersion: "3.4" and "3.4.x" name cluster version 3.4.0. */
function targetOf(text: string): Semver {
  const v = parseSemver(text) ?? parseSemver(`${text}.0`);
  if (!v) throw etcdError('WrongDowngradeVersionFormat');
  return clusterVersionOf(v);
}

/** VALIDATE: the target is the minor version below the cluster's and no job runs. Returns the cluster version. */
async function validate(p: DowngradePorts, version: string): Promise<string> {
  const target = targetOf(version);
  await p.linearizableRead();
  const cv = parseSemver(p.clusterVersion());
  if (!cv) throw etcdError('ClusterVersionUnavailable');
  const allowed: Semver = { major: cv.major, minor: cv.minor - 1, patch: 0, preRelease: '' };
  if (compareSemver(target, allowed) !== 0) throw etcdError('InvalidDowngradeTargetVersion');
  if (p.downgrade.info.enabled) throw etcdError('DowngradeInProcess');
  return formatSemver(cv);
}

const current = (p: DowngradePorts): string => {
  const cv = parseSemver(p.clusterVersion());
  return cv ? formatSemver(cv) : '';
};

/** Maintenance.Downgrade without the header: the cluster version after the action. */
export async function downgrade(p: DowngradePorts, req: etcdserverpb.DowngradeRequest): Promise<{ version: string }> {
  const A = etcdserverpb.DowngradeRequest_DowngradeAction;
  switch (req.action) {
    case A.VALIDATE:
      return { version: await validate(p, req.version) };
    case A.ENABLE: {
      const cv = parseSemver(await validate(p, req.version))!;
      // A cluster still below 3.5 may have members of an older Conclave, which cannot apply the job.
      if (compareSemver(cv, { major: 3, minor: 5, patch: 0, preRelease: '' }) < 0) throw etcdError('NotCapable');
      const target = formatSemver(targetOf(req.version));
      await p.propose(RequestKind.DowngradeInfoSet, encodeSet({ enabled: true, targetVersion: target }));
      return { version: current(p) };
    }
    case A.CANCEL: {
      await p.linearizableRead();
      if (!p.downgrade.info.enabled) throw etcdError('NoInflightDowngrade');
      await p.propose(RequestKind.DowngradeInfoSet, encodeSet(NONE));
      return { version: current(p) };
    }
    default:
      throw etcdError('UnknownMethod');
  }
}
