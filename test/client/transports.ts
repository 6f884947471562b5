// The two Transport implementations the contract tests run against: the client's own HTTP/2
// transport and @grpc/grpc-js. The same test bodies (unary-transport, bidi-transport) check both,
// against Conclave and etcd.

import { GrpcJsTransport } from '../../packages/client/src/transport/grpc-js-transport.js';
import { H2Transport } from '../../packages/client/src/transport/h2-transport.js';
import type { Transport, TransportKind } from '../../packages/client/src/transport/transport.js';

export const TRANSPORTS: Record<TransportKind, (address: string) => Transport> = {
  h2: (address) => new H2Transport(address, false, undefined),
  'grpc-js': (address) => new GrpcJsTransport(address, false, undefined, undefined),
};

export const TRANSPORT_KINDS = Object.keys(TRANSPORTS) as TransportKind[];
