// /metrics: the member's own registry (metrics/) in Prometheus' text format, as etcd serves it on the
// client URLs (and --listen-metrics-urls).

import type http from 'node:http';
import type { MemberMetrics } from '../metrics/index.js';
import type { H2HttpResponse } from '../grpc/h2/http-adapter.js';

type Res = http.ServerResponse | H2HttpResponse;

/** Answers a scrape of `metrics` (an empty exposition before the member exists). */
export function serveMetrics(metrics: MemberMetrics | null, res: Res): void {
  if (!metrics) {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end('');
    return;
  }
  metrics.render().then(
    (text) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(text);
    },
    (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`An error has occurred while serving metrics:\n\n${String(err)}\n`);
    },
  );
}
