// go-grpc-prometheus's server families as etcd serves them: calls started, handled (by status code),
// messages received and sent, per method; with --metrics=extensive also the handling-time histogram.
// Like go-grpc-prometheus, every registered method's series exist from the start (at 0), for every
// code. The gRPC server bumps one CallStats object per method; values are read at scrape time.

import { Counter, Histogram, type Registry } from 'prom-client';
import type { MethodDescriptor } from '@conclave/api';
import { newCallStats, type CallStats } from '../grpc/grpc-call.js';

/** gRPC status codes as Go's codes.Code.String() names them, by number. */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** Prometheus' default buckets, which go-grpc-prometheus uses for handling time. */
const HANDLING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** In the order Prometheus' Go client writes them (sorted by name). */
interface MethodLabels {
  grpc_method: string;
  grpc_service: string;
  grpc_type: string;
}

function grpcType(desc: MethodDescriptor<unknown, unknown>): string {
  if (desc.requestStream) return desc.responseStream ? 'bidi_stream' : 'client_stream';
  return desc.responseStream ? 'server_stream' : 'unary';
}

export interface GrpcFamilies {
  /** The counters of a method (one object per gRPC path). */
  callStats(desc: MethodDescriptor<unknown, unknown>): CallStats;
  /** Message bytes received from and sent to clients, over all methods. */
  bytes(): { received: number; sent: number };
}

export function registerGrpcFamilies(r: Registry, extensive: boolean): GrpcFamilies {
  const methods = new Map<string, { labels: MethodLabels; stats: CallStats }>();
  const handling = extensive
    ? new Histogram({
        name: 'grpc_server_handling_seconds',
        help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
        labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
        buckets: HANDLING_BUCKETS,
        registers: [r],
      })
    : null;
  const perMethod = (name: string, help: string, pick: (s: CallStats) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
      registers: [r],
      collect() {
        this.reset();
        for (const { labels, stats } of methods.values()) this.inc({ ...labels }, pick(stats));
      },
    });
  };
  perMethod('grpc_server_started_total', 'Total number of RPCs started on the server.', (s) => s.started);
  new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
    registers: [r],
    collect() {
      this.reset();
      for (const { labels, stats } of methods.values())
        for (let code = 0; code < CODE_NAMES.length; code++)
          this.inc({ grpc_code: CODE_NAMES[code]!, ...labels }, stats.handled[code] ?? 0);
    },
  });
  perMethod(
    'grpc_server_msg_received_total',
    'Total number of RPC stream messages received on the server.',
    (s) => s.msgReceived,
  );
  perMethod('grpc_server_msg_sent_total', 'Total number of gRPC stream messages sent by the server.', (s) => s.msgSent);
  return {
    callStats(desc) {
      const known = methods.get(desc.path);
      if (known) return known.stats;
      const labels: MethodLabels = { grpc_method: desc.name, grpc_service: desc.service, grpc_type: grpcType(desc) };
      if (handling) handling.zero({ ...labels });
      const stats = newCallStats(handling ? (s) => handling.observe({ ...labels }, s) : null);
      methods.set(desc.path, { labels, stats });
      return stats;
    },
    bytes() {
      let received = 0;
      let sent = 0;
      for (const { stats } of methods.values()) {
        received += stats.bytesReceived;
        sent += stats.bytesSent;
      }
      return { received, sent };
    },
  };
}
