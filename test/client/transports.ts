// The two Transport implementations the contract tests run against: the client's own HTTP/2
// transport and @grpc/grpc-js. The same test bodies (unary-transport, bidi-transport) check both,
// against Conclave and etcd, each suite with a server on a fixed port and a transport to it.

import { after, before, describe } from 'node:test';
import { GrpcJsTransport } from '../../packages/client/src/transport/grpc-js-transport.js';
import { H2Transport } from '../../packages/client/src/transport/h2-transport.js';
import type { Transport, TransportKind } from '../../packages/client/src/transport/transport.js';
import { startServer, type ServerKind, type ServerProcess } from '../helpers/process.js';
import { forThisTier } from '../helpers/tier.js';
import { freePort } from '../helpers/tmp.js';

export const TRANSPORTS: Record<TransportKind, (address: string) => Transport> = {
  h2: (address) => new H2Transport(address, false, undefined),
  'grpc-js': (address) => new GrpcJsTransport(address, false, undefined, undefined),
};

export const TRANSPORT_KINDS = Object.keys(TRANSPORTS) as TransportKind[];

/**
 * The transport a keepalive test uses: the suite's own for the own transport (its timings are fixed in
 * h2-connection.ts and tested as they are), and for grpc-js a second channel with a 2 s keepalive and
 * 1 s to answer instead of the 10 s + 5 s it is given by default (the timer is grpc-js's; what the test
 * checks is that a silent server ends the calls as UNAVAILABLE, and 12 s less waiting per test keeps
 * `npm test` inside its budget). Close it with `done()`.
 */
export function keepaliveTransport(fx: TransportFixture, impl: TransportKind): { ch: Transport; done(): void } {
  if (impl === 'h2') return { ch: fx.ch, done: () => {} };
  const ch = new GrpcJsTransport(`127.0.0.1:${fx.port}`, false, undefined, {
    'grpc.keepalive_time_ms': 2_000,
    'grpc.keepalive_timeout_ms': 1_000,
  });
  return { ch, done: () => ch.close() };
}

/** A server on a fixed loopback port, so that a restart listens where the client dials. */
export async function startOnPort(kind: ServerKind, port: number, dataDir?: string): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${port}`;
  return startServer(kind, {
    ...(dataDir ? { dataDir } : {}),
    args: ['--listen-client-urls', url, '--advertise-client-urls', url],
  });
}

/** What a contract suite's tests use once before() ran. */
export interface TransportFixture {
  /** The server (a test may restart it on the same port and put the new one here). */
  server: ServerProcess;
  port: number;
  /** The transport under test, dialing 127.0.0.1:port. */
  ch: Transport;
}

/**
 * Declares the suite "`name` <transport> × <server>" for each transport and each server of this tier
 * (test/helpers/tier.ts): before its tests a server on a free port and a transport to it, after them
 * the transport closed and the server (resumed if a test paused it) stopped. `tests` declares the
 * tests of one suite.
 */
export function contractSuites(
  name: string,
  tests: (fx: TransportFixture, impl: TransportKind, kind: ServerKind) => void,
): void {
  for (const impl of TRANSPORT_KINDS)
    for (const kind of forThisTier(['conclave', 'etcd', 'etcd35'] as const, (k) => k === 'etcd')) {
      describe(`${name} ${impl} × ${kind}`, () => {
        const fx = {} as TransportFixture;
        before(async () => {
          fx.port = await freePort();
          fx.server = await startOnPort(kind, fx.port);
          fx.ch = TRANSPORTS[impl](`127.0.0.1:${fx.port}`);
        });
        after(async () => {
          fx.ch.close();
          fx.server.child.kill('SIGCONT');
          await fx.server.stop();
        });
        tests(fx, impl, kind);
      });
    }
}
