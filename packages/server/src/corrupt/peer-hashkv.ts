// The peer route etcd's corruption checks use to read another member's HashKV: a GET of
// /members/hashkv on a peer URL with a JSON HashKVRequest body, answered with a JSON
// HashKVResponse (etcd's field names and omitempty forms), and the client side of it.

import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { CompactedError, FutureRevisionError, type HashKVResult } from '../mvcc/index.js';
import { formatId } from '../log/index.js';

export const PEER_HASHKV_PATH = '/members/hashkv';

const COMPACTED_TEXT = new CompactedError(0).message;
const FUTURE_TEXT = new FutureRevisionError(0).message;

/** Go's http.Error: the text and a newline, as text/plain, with nosniff. */
function httpError(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(`${text}\n`);
}

export interface HashKVSource {
  clusterId(): bigint;
  /** The store's HashKV at `rev` (0 = current); throws CompactedError / FutureRevisionError. */
  hashKV(rev: number): HashKVResult;
}

/** The JSON body etcd marshals for a HashKVResponse (zero fields omitted). */
export function hashKVJson(r: HashKVResult): string {
  const o: Record<string, unknown> = { header: r.revision !== 0 ? { revision: r.revision } : {} };
  if (r.hash >>> 0 !== 0) o['hash'] = r.hash >>> 0;
  if (r.compactRevision !== 0) o['compact_revision'] = r.compactRevision;
  return JSON.stringify(o);
}

/** Serves GET /members/hashkv on the peer listener (etcd's hashKVHandler). */
export function serveHashKV(src: HashKVSource, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET') {
    req.resume();
    httpError(res, 405, 'Method Not Allowed', { allow: 'GET' });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('error', () => httpError(res, 400, 'error reading body'));
  req.on('end', () => {
    let rev = 0;
    try {
      const o = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { revision?: unknown } | null;
      const v = o?.revision ?? 0;
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error('revision');
      rev = v;
    } catch {
      httpError(res, 400, 'error unmarshalling request');
      return;
    }
    let r: HashKVResult;
    try {
      r = src.hashKV(rev);
    } catch (err) {
      httpError(res, 400, (err as Error).message);
      return;
    }
    res.writeHead(200, { 'x-etcd-cluster-id': formatId(src.clusterId()), 'content-type': 'application/json' });
    res.end(hashKVJson(r));
  });
}

/** Why a peer's hash could not be read (etcd's ErrCompacted / ErrFutureRev, or anything else). */
export class PeerHashError extends Error {
  override readonly name = 'PeerHashError';
  constructor(
    readonly kind: 'compacted' | 'future' | 'other',
    message: string,
  ) {
    super(message);
  }
}

export interface PeerHash {
  hash: number;
  revision: number;
  compactRevision: number;
}

/** Reads a peer's HashKV at `rev` from one of its peer URLs (etcd's getPeerHashKVHTTP). */
export function fetchPeerHashKV(
  peerUrl: string,
  rev: number,
  opts: { timeoutMs: number; tls?: ConnectionOptions | undefined },
): Promise<PeerHash> {
  return new Promise((resolve, reject) => {
    const secure = peerUrl.startsWith('https');
    const body = JSON.stringify(rev !== 0 ? { revision: rev } : {});
    const mod = secure ? https : http;
    const req = mod.request(
      `${peerUrl.replace(/\/+$/, '')}${PEER_HASHKV_PATH}`,
      {
        method: 'GET',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: opts.timeoutMs,
        // one connection per request: checks are rare, and a pooled connection would keep the peer's listener open
        agent: false,
        ...(secure ? (opts.tls ?? {}) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 400 && text.includes(COMPACTED_TEXT)) {
            return reject(new PeerHashError('compacted', `etcdserver: ${COMPACTED_TEXT}`));
          }
          if (res.statusCode === 400 && text.includes(FUTURE_TEXT)) {
            return reject(new PeerHashError('future', `etcdserver: ${FUTURE_TEXT}`));
          }
          if (res.statusCode !== 200) return reject(new PeerHashError('other', `unknown error: ${text}`));
          try {
            const o = JSON.parse(text) as { header?: { revision?: number }; hash?: number; compact_revision?: number };
            resolve({ hash: o.hash ?? 0, revision: o.header?.revision ?? 0, compactRevision: o.compact_revision ?? 0 });
          } catch (err) {
            reject(new PeerHashError('other', (err as Error).message));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new PeerHashError('other', 'context deadline exceeded')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface PeerInfo {
  id: bigint;
  peerUrls: readonly string[];
}

export interface PeerHashResult {
  peer: PeerInfo;
  resp: PeerHash | null;
  err: Error | null;
}

/**
 * Every other member's HashKV at `rev` (etcd's getPeerHashKVs): each member's peer URLs in turn
 * until one answers; a member none of whose URLs answer is reported with the last error.
 */
export async function getPeerHashKVs(
  peers: readonly PeerInfo[],
  rev: number,
  opts: {
    timeoutMs: number;
    tls?: ConnectionOptions | undefined;
    onFailure?: (url: string, err: Error) => void;
  },
): Promise<PeerHashResult[]> {
  const out: PeerHashResult[] = [];
  for (const peer of peers) {
    if (peer.peerUrls.length === 0) continue;
    let last: Error | null = null;
    let resp: PeerHash | null = null;
    for (const url of peer.peerUrls) {
      try {
        resp = await fetchPeerHashKV(url, rev, opts);
        break;
      } catch (err) {
        last = err as Error;
        opts.onFailure?.(url, last);
      }
    }
    out.push(resp ? { peer, resp, err: null } : { peer, resp: null, err: last });
  }
  return out;
}
