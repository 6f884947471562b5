// Joining an existing cluster (--initial-cluster-state existing): ask the other members listed in
// --initial-cluster for the member list (GET /members on their peer URLs), find this member in it
// by its advertised peer URLs (it was added with `member add` first), and learn the cluster ID.

import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { Member } from '../etcdserver/membership.js';
import { PEER_HEADERS } from '../peer/index.js';

export interface RemoteCluster {
  clusterId: bigint;
  members: Member[];
}

function get(
  url: string,
  tls: ConnectionOptions | undefined,
  timeoutMs: number,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(
      `${url}/members`,
      { timeout: timeoutMs, ...(url.startsWith('https') ? (tls ?? {}) : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** The cluster as the first reachable peer reports it; throws when none answers. */
export async function fetchRemoteCluster(
  peerUrls: readonly string[],
  tls: ConnectionOptions | undefined,
  timeoutMs = 2000,
): Promise<RemoteCluster> {
  const errors: string[] = [];
  for (const url of peerUrls) {
    try {
      const r = await get(url, tls, timeoutMs);
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      const cid = r.headers[PEER_HEADERS.clusterId];
      const list = JSON.parse(r.body) as Array<{
        id: string;
        name: string;
        peerURLs: string[];
        clientURLs: string[];
        isLearner: boolean;
      }>;
      return {
        clusterId: BigInt(`0x${String(cid)}`),
        members: list.map((m) => ({
          id: BigInt(`0x${m.id}`),
          name: m.name,
          peerUrls: m.peerURLs,
          clientUrls: m.clientURLs,
          isLearner: m.isLearner,
        })),
      };
    } catch (err) {
      errors.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new Error(`could not retrieve cluster information from the given URLs (${errors.join('; ')})`);
}
