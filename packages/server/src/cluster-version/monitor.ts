// The cluster version after start (etcd's monitorVersions and mustDetectDowngrade). The leader sets
// it once when the cluster is new (etcdserver's ensureClusterVersion); this module raises it when
// every member runs a newer version: a data directory written by a Conclave that reported etcd 3.4
// (cluster version 3.4.0) becomes a 3.5.0 cluster once all its members run this build. The leader
// checks every few seconds, asking each member's peer URL for /version, and only while the cluster
// version is below its own. And a member refuses to start on data of a newer cluster version than
// its own, with etcd's message.

import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { Member } from '../etcdserver/membership.js';
import type { LeaderState, Proposer } from '../etcdserver/ports.js';
import { RequestKind } from '../etcdserver/raft-request.js';
import type { Logger } from '../log/index.js';
import { clusterVersionOf, compareSemver, formatSemver, parseSemver } from './semver.js';

/** etcd checks member versions every 4 s (rafthttp.ConnReadTimeout - 1 s). */
export const MONITOR_INTERVAL_MS = 4000;

export interface VersionMonitorOptions extends Proposer {
  leader: Pick<LeaderState, 'isLeader' | 'memberId'>;
  /** The cluster version the member knows ("3.4.0"), '' before one is set. */
  clusterVersion(): string;
  members(): Member[];
  /** This member's server version ("3.5.30"). */
  serverVersion: string;
  logger: Logger;
  /** TLS options for https peer URLs. */
  tls?: ConnectionOptions;
  intervalMs?: number;
}

/** etcd's fatal check at start: this member's version must not be below the cluster's. Returns the message, or null. */
export function downgradeRefusal(clusterVersion: string, serverVersion: string): string | null {
  const cv = parseSemver(clusterVersion);
  const lv = parseSemver(serverVersion);
  if (!cv || !lv) return null;
  if (compareSemver(clusterVersionOf(lv), clusterVersionOf(cv)) >= 0) return null;
  return 'invalid downgrade; server version is lower than determined cluster version';
}

function fetchServerVersion(url: string, tls: ConnectionOptions | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https');
    const req = (secure ? https : http).get(
      `${url}/version`,
      { timeout: timeoutMs, ...(secure ? (tls ?? {}) : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          try {
            resolve(String((JSON.parse(body) as { etcdserver?: unknown }).etcdserver ?? ''));
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * The version every member runs, lowest first, or null while any member cannot be asked (etcd's
 * decideClusterVersion gives up the same way).
 */
async function lowestMemberVersion(o: VersionMonitorOptions): Promise<string | null> {
  let lowest = parseSemver(o.serverVersion);
  for (const m of o.members()) {
    if (m.id === o.leader.memberId) continue;
    let got: string | null = null;
    for (const url of m.peerUrls) {
      try {
        got = await fetchServerVersion(url, o.tls, 1000);
        break;
      } catch {
        // try its next URL
      }
    }
    const v = got === null ? null : parseSemver(got);
    if (!v || !lowest) return null;
    if (compareSemver(v, lowest) < 0) lowest = v;
  }
  return lowest ? formatSemver(lowest) : null;
}

/** Starts the leader's periodic check; returns a stop function. */
export function startVersionMonitor(o: VersionMonitorOptions): () => void {
  let running = false;
  const check = async (): Promise<void> => {
    const current = parseSemver(o.clusterVersion());
    const mine = parseSemver(o.serverVersion);
    if (running || !o.leader.isLeader || !current || !mine) return;
    if (compareSemver(clusterVersionOf(current), clusterVersionOf(mine)) >= 0) return;
    running = true;
    try {
      const lowest = await lowestMemberVersion(o);
      const v = lowest === null ? null : parseSemver(lowest);
      if (!v || !o.leader.isLeader) return;
      const target = clusterVersionOf(v);
      if (compareSemver(target, clusterVersionOf(current)) <= 0) return;
      o.logger.info('updating cluster version using v2 API', {
        from: `${current.major}.${current.minor}`,
        to: `${target.major}.${target.minor}`,
      });
      await o.propose(RequestKind.ClusterVersion, Buffer.from(formatSemver(target)));
    } catch (err) {
      o.logger.warn('failed to update cluster version', { error: String(err) });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), o.intervalMs ?? MONITOR_INTERVAL_MS);
  timer.unref();
  void check();
  return () => clearInterval(timer);
}
