// --listen-metrics-urls: extra listeners that serve only /metrics and /health (etcd's metrics mux;
// any other path is Go's "404 page not found"), over HTTP/1.1 and, for TLS clients that choose it,
// HTTP/2. An https:// (or unixs://) URL uses the client TLS settings (--cert-file, ...), as etcd does.

import http from 'node:http';
import http2 from 'node:http2';
import type { Logger } from '../log/index.js';
import { listenerChecks, serverTlsOptions, type TlsInfo } from '../tls/index.js';
import { type BoundListener, listenUrl, nodeHttp2 } from '../grpc/listener.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** The paths etcd's metrics listeners serve. */
const METRICS_PATHS = new Set(['/metrics', '/health']);

/** Binds every metrics URL; `route` is the client URLs' HTTP router (it answers both paths). */
export async function listenMetricsUrls(
  urls: readonly { readonly href: string; readonly scheme: string }[],
  route: Handler,
  clientTls: TlsInfo | undefined,
  logger: Logger,
): Promise<BoundListener[]> {
  const handler: Handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (METRICS_PATHS.has(path)) return route(req, res);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    res.end('404 page not found\n');
  };
  const h1 = http.createServer(handler);
  const h2 = http2.createServer(
    {},
    handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  const bound: BoundListener[] = [];
  try {
    for (const u of urls) {
      const secure = u.scheme === 'https' || u.scheme === 'unixs';
      const l = await listenUrl(u.href, {
        h1,
        h2: nodeHttp2(h2),
        ...(secure && clientTls
          ? { tls: serverTlsOptions(clientTls), ...listenerChecks(clientTls, logger, { alert: false }) }
          : {}),
      });
      bound.push(l);
      logger.info('serving metrics', { address: u.href });
    }
  } catch (err) {
    await Promise.all(bound.map((l) => l.close()));
    throw err;
  }
  return bound;
}
