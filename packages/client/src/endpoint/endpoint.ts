// One endpoint = one server address: one transport (a single connection carrying every call:
// unary, Watch, LeaseKeepAlive, Snapshot; the client's own HTTP/2 transport, or grpc-js) and a
// circuit breaker.
// Endpoints are given as "host:port", "http://host:port" or "https://host:port".

import type * as grpc from '@grpc/grpc-js';
import { GrpcJsTransport } from '../transport/grpc-js-transport.js';
import { H2Transport } from '../transport/h2-transport.js';
import { splitHostPort } from '../transport/address.js';
import type { Transport, TransportKind } from '../transport/transport.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
import type { ConclaveError } from '../errors/base.js';
import { invalid } from '../util/validate.js';

/** TLS for every endpoint (the `tls` client option). */
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

/** @hidden A parsed endpoint. */
export interface EndpointAddress {
  /** "host:port" as dialed. */
  address: string;
  secure: boolean;
}

/**
 * Parses one endpoint: "host:port", "[v6]:port", "http://host:port" or "https://host:port" (a
 * trailing path is ignored). Throws a TypeError saying what is wrong (a missing or bad port, an
 * unsupported scheme, spaces, several endpoints in one string).
 */
export function parseEndpoint(input: string, defaultSecure: boolean): EndpointAddress {
  if (typeof input !== 'string') invalid('endpoint', 'a string "host:port" or "http(s)://host:port"', input);
  const s = input.trim();
  const bad: (why: string) => never = (why) => {
    throw new TypeError(`invalid endpoint ${JSON.stringify(input)}: ${why}`);
  };
  if (s.includes(',')) bad('one endpoint per entry (split "a:2379,b:2379" into ["a:2379", "b:2379"])');
  let rest = s;
  let secure = defaultSecure;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(s);
  if (m) {
    const scheme = m[1]!.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') bad(`scheme ${scheme}:// is not supported (use http:// or https://)`);
    secure = scheme === 'https';
    rest = m[2]!.replace(/\/.*$/, '');
  }
  if (!rest) bad('no host');
  if (/\s/.test(rest)) bad('contains spaces');
  const { host, port } = splitHostPort(rest);
  if (!host) bad('no host');
  if (port === undefined) bad('no port (write host:port)');
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    bad(`port ${JSON.stringify(port)} is not 1..65535`);
  return { address: rest, secure };
}

/**
 * The endpoint list of the client options: an array of endpoints, or one string; entries joined with
 * commas (as etcdctl's --endpoints takes them) are split. Throws a TypeError for anything else.
 */
export function endpointList(v: unknown, where: string): string[] {
  const items = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(items)) invalid(where, 'an array of "host:port" strings', v);
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') invalid(`${where}[]`, 'a string "host:port" or "http(s)://host:port"', item);
    for (const part of item.split(',')) {
      const t = part.trim();
      if (t) out.push(t);
    }
  }
  if (out.length === 0) throw new TypeError(`${where} must list at least one endpoint`);
  return out;
}

/** @hidden How endpoints are dialed. */
export interface EndpointOptions {
  tls?: TlsOptions;
  breaker?: CircuitBreakerOptions;
  /** Which transport carries the endpoint's calls (default 'h2', the client's own). */
  transport?: TransportKind;
  /** Extra grpc-js channel options (`transport: 'grpc-js'` only). */
  channelOptions?: grpc.ChannelOptions;
}

/** @hidden One server address: its transport and circuit breaker. */
export class Endpoint {
  readonly address: string;
  readonly secure: boolean;
  /** The connection every call to this endpoint goes through. */
  readonly transport: Transport;
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
    this.transport =
      opts.transport === 'grpc-js'
        ? new GrpcJsTransport(addr.address, addr.secure, opts.tls, opts.channelOptions)
        : new H2Transport(addr.address, addr.secure, opts.tls);
    this.breaker = new CircuitBreaker(opts.breaker);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.transport.close();
  }
}
