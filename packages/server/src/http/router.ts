// HTTP on the client URL (HTTP/1.1 and non-gRPC HTTP/2): /health, /livez, /readyz, /version,
// /metrics and the JSON gateway (/v3/...), with etcd's response shapes.

import type http from 'node:http';
import type { H2HttpRequest, H2HttpResponse } from '../grpc/h2/http-adapter.js';
import { etcdserverpb } from '@conclave/api';
import type { AlarmStore } from '../etcdserver/alarms.js';
import type { LeaderState, ReadBarrier } from '../etcdserver/ports.js';
import type { MemberMetrics } from '../metrics/index.js';
import type { GrpcServer } from '../grpc/grpc-server.js';
import { gatewayRoute, serveGateway } from './gateway.js';
import { serveMetrics } from './metrics.js';

type Req = http.IncomingMessage | H2HttpRequest;
type Res = http.ServerResponse | H2HttpResponse;

/** What the health, readiness and metrics endpoints look at. */
export interface RouterMember {
  leader: Pick<LeaderState, 'leader'>;
  alarms: Pick<AlarmStore, 'list'>;
  reads: ReadBarrier;
  metrics: MemberMetrics;
}

export interface RouterDeps {
  /** The member (null until it runs). */
  member: () => RouterMember | null;
  grpc: () => GrpcServer;
  version: { etcdserver: string; etcdcluster: string };
  /** --enable-grpc-gateway (default true): without it /v3/... is not served (404). */
  gateway?: boolean;
}

const TEXT = 'text/plain; charset=utf-8';

function send(res: Res, status: number, body: string, type = TEXT): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

/** Go's http.Error: plain text, no sniffing, the message and a newline. */
function httpError(res: Res, status: number, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': TEXT, 'x-content-type-options': 'nosniff', ...extra });
  res.end(`${message}\n`);
}

/** etcd's allowMethod: anything but GET gets 405 with "Allow: GET". */
function onlyGet(req: Req, res: Res): boolean {
  if (req.method === 'GET') return true;
  httpError(res, 405, 'Method Not Allowed', { allow: 'GET' });
  return false;
}

/** etcd's health check: a leader, no alarm, and a linearizable read that completes within a second. */
async function checkHealth(s: RouterMember): Promise<boolean> {
  if (s.leader.leader === 0n) return false;
  if (s.alarms.list().some((a) => a.alarm !== etcdserverpb.AlarmType.NONE)) return false;
  try {
    await Promise.race([
      s.reads.linearizableRead(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}

export function createRouter(deps: RouterDeps): (req: Req, res: Res) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const s = deps.member();
    if (path === '/health') {
      // etcd 3.4 writes the JSON without a content type (Go sniffs text/plain); unhealthy goes through http.Error.
      if (!onlyGet(req, res)) return;
      if (!s) return httpError(res, 503, JSON.stringify({ health: 'false' }));
      void checkHealth(s).then((ok) => {
        if (ok) s.metrics.server.healthSuccess++;
        else s.metrics.server.healthFailures++;
        if (ok) send(res, 200, JSON.stringify({ health: 'true' }));
        else httpError(res, 503, JSON.stringify({ health: 'false' }));
      });
      return;
    }
    if (path === '/livez') return send(res, 200, 'ok');
    if (path === '/readyz') return s && s.leader.leader !== 0n ? send(res, 200, 'ok') : send(res, 503, 'not ready');
    if (path === '/version')
      return onlyGet(req, res) ? send(res, 200, JSON.stringify(deps.version), 'application/json') : undefined;
    if (path === '/metrics') return serveMetrics(s?.metrics ?? null, res);
    if (path.startsWith('/v3') && deps.gateway !== false) {
      const rpc = gatewayRoute(path);
      if (!rpc) return send(res, 404, 'Not Found\n');
      if (req.method !== 'POST') return send(res, 405, 'Method Not Allowed\n');
      return serveGateway(deps.grpc(), rpc, req, res);
    }
    send(res, 404, '404 page not found\n');
  };
}
