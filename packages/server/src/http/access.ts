// etcd's access controller in front of the client URLs' HTTP handlers (not gRPC):
//   --host-whitelist: a request that did not come over TLS must name a listed host (its Host header
//     without the port), else 421 with etcd's DNS-rebinding text (CVE-2018-5702); "*" or nothing
//     listed allows every host;
//   --cors: the CORS headers etcd adds to every answer — for every origin with "*" (the default),
//     else for a listed Origin; an OPTIONS request is answered 200 with just those headers;
//   /v3beta/ paths are served as /v3/.

import type http from 'node:http';
import { goQuote } from '../log/index.js';
import type { H2HttpRequest, H2HttpResponse } from '../grpc/h2/http-adapter.js';

type Req = http.IncomingMessage | H2HttpRequest;
type Res = http.ServerResponse | H2HttpResponse;
type Handler = (req: Req, res: Res) => void;

export interface AccessOptions {
  /** --cors: origins (URLs as written), or "*". */
  cors: readonly string[];
  /** --host-whitelist: host names, or "*". */
  hostWhitelist: readonly string[];
  logger: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/** etcd's errCVE20185702 text. */
export function dnsRebindingText(host: string): string {
  return `
etcd received your request, but the Host header was unrecognized.

To fix this, choose one of the following options:
- Enable TLS, then any HTTPS request will be allowed.
- Add the hostname you want to use to the whitelist in settings.
  - e.g. etcd --host-whitelist ${goQuote(host)}

This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).
`;
}

/** Go's net.SplitHostPort host of a Host header, or the header itself when it has no port. */
function hostname(hostHeader: string): string {
  const m = /^\[([^\]]*)\]:\d*$/.exec(hostHeader) ?? /^([^:]*):\d*$/.exec(hostHeader);
  return m ? m[1]! : hostHeader;
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
    'access-control-allow-origin': origin,
    'access-control-allow-headers': 'accept, content-type, authorization',
  };
}

export function withAccessControl(handler: Handler, opts: AccessOptions): Handler {
  const allOrigins = opts.cors.length === 0 || opts.cors.includes('*');
  const origins = new Set(opts.cors);
  const allHosts = opts.hostWhitelist.length === 0 || opts.hostWhitelist.includes('*');
  const hosts = new Set(opts.hostWhitelist);
  return (req, res) => {
    if (req.url?.startsWith('/v3beta/')) (req as { url: string }).url = `/v3/${req.url.slice('/v3beta/'.length)}`;
    const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
    if (!secure && !allHosts) {
      const host = hostname(String(req.headers.host ?? ''));
      if (!hosts.has(host)) {
        opts.logger.warn('rejecting HTTP request to prevent DNS rebinding attacks', { host });
        res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
        res.end(`${dnsRebindingText(host)}\n`);
        return;
      }
    }
    const origin = allOrigins ? '*' : String(req.headers.origin ?? '');
    if (allOrigins || origins.has(origin)) {
      const extra = corsHeaders(origin);
      const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, string | number>) => Res;
      (res as { writeHead: unknown }).writeHead = (status: number, headers: Record<string, string | number> = {}) =>
        writeHead(status, { ...extra, ...headers });
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(200, {});
      res.end();
      return;
    }
    handler(req, res);
  };
}
