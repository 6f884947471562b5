// One endpoint = one server address: our own HTTP/2 connection for unary calls and the Watch
// stream (H2Channel), a grpc-js channel for the other streaming calls (lease keepalive,
// snapshot), and a circuit breaker.
// Endpoints are given as "host:port", "http://host:port" or "https://host:port".

import * as grpc from '@grpc/grpc-js';
import { H2Channel } from '../transport/channel.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import type { ConclaveError } from '../errors/base.js';

export interface TlsOptions {
  /** PEM CA certificate(s) to verify the server; default: Node's root store. */
  ca?: string | Buffer;
  /** PEM client certificate, for servers with --client-cert-auth. */
  cert?: string | Buffer;
  /** PEM private key of the client certificate. */
  key?: string | Buffer;
  /** Host name to verify the server certificate against, when it differs from the endpoint host. */
  serverName?: string;
}

export interface EndpointAddress {
  /** "host:port" as dialed. */
  address: string;
  secure: boolean;
}

/** Parses "host:port", "http://host:port" or "https://host:port" (a trailing path is ignored). */
export function parseEndpoint(input: string, defaultSecure: boolean): EndpointAddress {
  const s = input.trim();
  const m = /^(https?|unixs?):\/\/(.+)$/i.exec(s);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    const rest = m[2]!.replace(/\/.*$/, '');
    if (!rest) throw new TypeError(`invalid endpoint ${JSON.stringify(input)}`);
    return { address: rest, secure: scheme === 'https' || scheme === 'unixs' };
  }
  if (!s || /\s/.test(s)) throw new TypeError(`invalid endpoint ${JSON.stringify(input)}`);
  return { address: s, secure: defaultSecure };
}

function toBuf(v: string | Buffer | undefined): Buffer | null {
  if (v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

export function channelCredentials(secure: boolean, tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!secure) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(toBuf(tls?.ca), toBuf(tls?.key), toBuf(tls?.cert));
}

export interface EndpointOptions {
  tls?: TlsOptions;
  breaker?: CircuitBreakerOptions;
  /**
   * Extra grpc-js channel options (override the defaults below). They apply to the grpc-js channel,
   * which now carries lease keepalive and snapshot streams only; unary calls and watches use
   * H2Channel and are not affected.
   */
  channelOptions?: grpc.ChannelOptions;
}

export const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // each Client owns its connections: closing one client never affects another
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  // detect dead peers on open streams (etcd's default --grpc-keepalive-min-time is 5s)
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

export class Endpoint {
  readonly address: string;
  readonly secure: boolean;
  /** The grpc-js channel: streaming calls other than Watch. */
  readonly grpc: grpc.Client;
  /** Unary calls (and health probes) and the Watch stream. */
  readonly h2: H2Channel;
  readonly breaker: CircuitBreaker;
  /** A call or probe has succeeded since the endpoint last failed. */
  connected = false;
  lastError: ConclaveError | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  probing = false;
  closed = false;

  constructor(addr: EndpointAddress, opts: EndpointOptions) {
    this.address = addr.address;
    this.secure = addr.secure;
    const channelOptions: grpc.ChannelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...opts.channelOptions };
    if (addr.secure && opts.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = opts.tls.serverName;
    this.grpc = new grpc.Client(addr.address, channelCredentials(addr.secure, opts.tls), channelOptions);
    this.h2 = new H2Channel(addr.address, addr.secure, opts.tls);
    this.breaker = new CircuitBreaker(opts.breaker);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.grpc.close();
    this.h2.close();
  }
}
