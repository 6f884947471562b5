// A gRPC server on our own HTTP/2 connections (h2/): method registry, dispatch of request streams
// to handlers, and the HTTP/1.1 / non-gRPC HTTP/2 fallback for the JSON gateway and /health,
// /version, /metrics.

import http from 'node:http';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  GrpcCode,
  GrpcStatusError,
  type MethodDescriptor,
  type PartialMessage,
  type ServiceDescriptor,
} from '@conclave/api';
import { GrpcCall, encodeGrpcMessage, newCallStats, type CallStats } from './grpc-call.js';
import type { CallContext, ServerCall } from './call.js';
import { H2Connection } from './h2/connection.js';
import { ETCD_KEEPALIVE, type KeepaliveOptions } from './h2/keepalive.js';
import { DEFAULT_LIMITS, type H2Limits } from './h2/limits.js';
import { H2HttpRequest, H2HttpResponse } from './h2/http-adapter.js';
import type { H2Stream } from './h2/stream.js';
import { StreamedResponse } from './streamed-response.js';

const TRAILERS_ONLY = [':status', '200', 'content-type', 'application/grpc'] as const;

/** A response whose protobuf body is already encoded (e.g. stored KeyValues spliced into a RangeResponse). */
export class RawResponse {
  constructor(readonly bytes: Uint8Array) {}
}

export type UnaryHandler<Req, Res> = (
  req: Req,
  ctx: CallContext,
) =>
  | Promise<PartialMessage<Res> | RawResponse | StreamedResponse>
  | PartialMessage<Res>
  | RawResponse
  | StreamedResponse;
export type ServerStreamHandler<Req, Res> = (req: Req, call: ServerCall<Req, Res>) => void;
export type BidiHandler<Req, Res> = (call: ServerCall<Req, Res>) => void;

type HandlerFor<M> =
  M extends MethodDescriptor<infer Req, infer Res, infer RS, infer SS>
    ? RS extends true
      ? BidiHandler<Req, Res>
      : SS extends true
        ? ServerStreamHandler<Req, Res>
        : UnaryHandler<Req, Res>
    : never;

export type ServiceHandlers<S extends ServiceDescriptor> = { [K in keyof S]: HandlerFor<S[K]> };

export interface Registered {
  desc: MethodDescriptor<unknown, unknown>;
  handler: (...args: never[]) => unknown;
  /** The method's call counters. */
  stats: CallStats;
}

export type HttpFallback = (
  req: http.IncomingMessage | H2HttpRequest,
  res: http.ServerResponse | H2HttpResponse,
) => void;

/**
 * Runs before every handler (etcd's interceptors): throw to fail the call. `req` is the request of a
 * unary or server-streaming call, undefined for a client stream (checked when the stream opens).
 */
export type Interceptor = (path: string, req: unknown, call: CallContext) => void;

export interface GrpcServerOptions {
  /** Largest request message accepted (etcd: --max-request-bytes + 512 KiB). */
  maxRecvBytes: number;
  /** Handles everything that is not gRPC (HTTP/1.1, or HTTP/2 without a gRPC content-type). */
  http: HttpFallback;
  /** Connection limits (defaults: h2/limits.ts). */
  limits?: Partial<H2Limits>;
  /**
   * grpc-go's server keepalive, on cleartext connections (default: etcd's flags at their defaults).
   * As in etcd, TLS connections go without: etcd serves gRPC over TLS through Go's net/http, whose
   * HTTP/2 server has neither the ping policy nor the server pings.
   */
  keepalive?: KeepaliveOptions;
  /** A bug surfaced by a connection's input (the connection or request was closed): for the log. */
  onError?: (err: unknown) => void;
  /** The counters each registered method's calls bump (metrics); plain unexported counters if absent. */
  callStats?: (desc: MethodDescriptor<unknown, unknown>) => CallStats;
}

export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly services = new Set<string>();
  readonly h1: http.Server;
  private readonly connections = new Set<H2Connection>();
  private readonly h1Sockets = new Set<net.Socket>();
  interceptor: Interceptor | null = null;
  private draining = false;
  private readonly limits: H2Limits;

  constructor(private readonly opts: GrpcServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    // connectionsCheckingInterval: how often Node enforces headersTimeout (default 30 s, which let a
    // half-sent request head live 27 s past a 10 s limit)
    this.h1 = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => this.serveHttp(req, res));
    this.h1.keepAliveTimeout = 30_000;
    // Slow or silent HTTP/1.1 clients: the request head must arrive within this time. Request bodies
    // have no time limit (gateway watch requests stream), only the size limit of the gateway.
    this.h1.headersTimeout = 10_000;
    this.h1.requestTimeout = 0;
    // The listeners hand sockets to this server with emit('connection'); it never listens itself.
    // Node starts its connection tracking (closeIdleConnections, the headers timeout) on 'listening'.
    this.h1.emit('listening');
    this.h1.on('connection', (sock: net.Socket) => {
      if (this.draining) {
        sock.destroy();
        return;
      }
      this.h1Sockets.add(sock);
      sock.once('close', () => this.h1Sockets.delete(sock));
    });
  }

  addService<S extends ServiceDescriptor>(service: S, handlers: ServiceHandlers<S>): void {
    for (const key of Object.keys(service)) {
      const desc = service[key] as MethodDescriptor<unknown, unknown>;
      const handler = (handlers as Record<string, (...args: never[]) => unknown>)[key];
      if (!handler) throw new Error(`no handler for ${desc.path}`);
      this.methods.set(desc.path, { desc, handler, stats: this.statsFor(desc) });
      this.services.add(desc.service);
    }
  }

  /** The largest request message accepted (the gateway applies it to request bodies). */
  get maxRecvBytes(): number {
    return this.opts.maxRecvBytes;
  }

  /** The stream limit of a connection (the JSON gateway bounds its calls by it, as etcd's does). */
  get maxConcurrentStreams(): number {
    return this.limits.maxConcurrentStreams;
  }

  /** The registered method for a gRPC path (used by the JSON gateway). */
  lookup(path: string): Registered | undefined {
    return this.methods.get(path);
  }

  /** Registers one method's handler (used for services implemented only in part elsewhere). */
  addMethod<M extends ServiceDescriptor[string]>(desc: M, handler: HandlerFor<M>): void {
    const d = desc as MethodDescriptor<unknown, unknown>;
    this.methods.set(desc.path, {
      desc: d,
      handler: handler as (...args: never[]) => unknown,
      stats: this.statsFor(d),
    });
    this.services.add(desc.service);
  }

  private statsFor(desc: MethodDescriptor<unknown, unknown>): CallStats {
    return this.opts.callStats?.(desc) ?? newCallStats();
  }

  /** Serves HTTP/2 on `socket`; `head` holds bytes already read from it (the sniffed preface). */
  serveHttp2(socket: net.Socket, head: Buffer | null): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    let cn: string | undefined | null = null;
    // onClose may run inside the constructor (a bad preface in `head`): it gets the connection as
    // an argument instead of closing over a variable that is not assigned yet.
    const conn = new H2Connection(socket, head, {
      onStream: (stream) => {
        if (cn === null) cn = peerCommonName(socket);
        this.onStream(stream, cn);
      },
      onClose: (c) => this.connections.delete(c),
      onError: (err) => this.opts.onError?.(err),
      limits: this.limits,
      ...((socket as TLSSocket).encrypted ? {} : { keepalive: this.opts.keepalive ?? ETCD_KEEPALIVE }),
    });
    if (!conn.isClosed) this.connections.add(conn);
  }

  /** A plain HTTP request: a handler that throws answers 500 (or cuts a started response), never the process. */
  private serveHttp(req: http.IncomingMessage | H2HttpRequest, res: http.ServerResponse | H2HttpResponse): void {
    try {
      this.opts.http(req, res);
    } catch (err) {
      this.opts.onError?.(err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Internal Server Error\n');
      } else res.destroy();
    }
  }

  private onStream(stream: H2Stream, cn: string | undefined): void {
    const ct = stream.header('content-type');
    if (ct === undefined || !ct.startsWith('application/grpc')) {
      this.serveHttp(new H2HttpRequest(stream), new H2HttpResponse(stream));
      return;
    }
    const path = stream.header(':path') ?? '';
    const reg = this.methods.get(path);
    if (!reg) {
      const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
      const msg =
        m && this.services.has(m[1]!)
          ? `unknown method ${m[2]} for service ${m[1]}`
          : `unknown service ${m ? m[1] : path}`;
      stream.respond(
        [
          ':status',
          '200',
          'content-type',
          'application/grpc',
          'grpc-status',
          String(GrpcCode.UNIMPLEMENTED),
          'grpc-message',
          encodeGrpcMessage(msg),
        ],
        true,
      );
      return;
    }
    const enc = stream.header('grpc-encoding');
    if (enc !== undefined && enc !== 'identity' && enc !== 'gzip') {
      // As grpc-go: only gzip has a decompressor (etcd 3.5; 3.4 has none).
      stream.respond(
        [
          ...TRAILERS_ONLY,
          'grpc-status',
          String(GrpcCode.UNIMPLEMENTED),
          'grpc-message',
          encodeGrpcMessage(`grpc: Decompressor is not installed for grpc-encoding "${enc}"`),
        ],
        true,
      );
      return;
    }
    const { desc } = reg;
    const call = new GrpcCall(stream, desc.requestType, desc.responseType, this.opts.maxRecvBytes, cn, reg.stats);
    if (desc.requestStream) {
      try {
        this.interceptor?.(desc.path, undefined, call);
      } catch (e) {
        call.finish(e);
        return;
      }
      try {
        (reg.handler as BidiHandler<unknown, unknown>)(call);
      } catch (e) {
        call.finish(e); // a handler bug fails its call, not the process
      }
      return;
    }
    let got = false;
    call.onMessage = (req) => {
      if (got) {
        call.finish(new GrpcStatusError(GrpcCode.INTERNAL, 'grpc: too many messages for a unary call'));
        return;
      }
      got = true;
      try {
        this.interceptor?.(desc.path, req, call);
      } catch (e) {
        call.finish(e);
        return;
      }
      if (desc.responseStream) {
        try {
          (reg.handler as ServerStreamHandler<unknown, unknown>)(req, call);
        } catch (e) {
          call.finish(e);
        }
        return;
      }
      let out: unknown;
      try {
        out = (reg.handler as UnaryHandler<unknown, unknown>)(req, call);
      } catch (e) {
        call.finish(e);
        return;
      }
      if (out instanceof Promise) {
        out.then(
          (res) => respondUnary(call, res),
          (e: unknown) => call.finish(e),
        );
      } else {
        respondUnary(call, out);
      }
    };
    call.onHalfClose = () => {
      if (!got)
        call.finish(
          new GrpcStatusError(GrpcCode.INTERNAL, 'grpc: client streaming ended without a message for a unary call'),
        );
    };
  }

  /** Closes all HTTP/2 and HTTP/1 connections at once. */
  closeConnections(): void {
    for (const c of this.connections) c.destroy();
    for (const s of this.h1Sockets) s.destroy();
  }

  /**
   * Graceful stop: GOAWAY NO_ERROR on every HTTP/2 connection (each closes when its open streams
   * have ended), idle HTTP/1.1 keep-alive connections closed at once and busy ones as soon as their
   * response is done; whatever is still open after `graceMs` is cut. Resolves when all are closed.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    for (const c of this.connections) c.drain();
    const deadline = Date.now() + graceMs;
    while (this.connections.size + this.h1Sockets.size > 0 && Date.now() < deadline) {
      this.h1.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closeConnections();
  }
}

/** Common name of a verified TLS client certificate. */
function peerCommonName(socket: net.Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
  return tls.getPeerCertificate()?.subject?.CN as string | undefined;
}

function respondUnary(call: GrpcCall<unknown, unknown>, res: unknown): void {
  if (res instanceof StreamedResponse) {
    call.sendStreamed(res.body).then(
      () => call.finish(),
      (e: unknown) => call.finish(e),
    );
    return;
  }
  if (res instanceof RawResponse) call.sendRaw(res.bytes);
  else call.send(res as PartialMessage<unknown>);
  call.finish();
}

export type { CallContext, ServerCall };
export { StreamedResponse };
