// A gRPC server on node:http2: method registry, dispatch of HTTP/2 streams to handlers, and the
// HTTP/1.1 / non-gRPC HTTP/2 fallback for the JSON gateway and /health, /version, /metrics.

import http from 'node:http';
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import {
  GrpcCode,
  GrpcStatusError,
  type MessageCodec,
  type MethodDescriptor,
  type PartialMessage,
  type RequestOf,
  type ResponseOf,
  type ServiceDescriptor,
} from '@conclave/api';
import { GrpcCall, encodeGrpcMessage } from './grpc-call.js';
import type { CallContext, ServerCall } from './call.js';

/** A response whose protobuf body is already encoded (e.g. stored KeyValues spliced into a RangeResponse). */
export class RawResponse {
  constructor(readonly bytes: Uint8Array) {}
}

export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<PartialMessage<Res> | RawResponse> | PartialMessage<Res> | RawResponse;
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
}

export type HttpFallback = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

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
}

export class GrpcServer {
  private readonly methods = new Map<string, Registered>();
  private readonly services = new Set<string>();
  readonly h2: http2.Http2Server;
  readonly h1: http.Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  interceptor: Interceptor | null = null;

  constructor(private readonly opts: GrpcServerOptions) {
    this.h2 = http2.createServer({
      settings: { maxConcurrentStreams: 4294967295, initialWindowSize: 1 << 20 },
      maxSessionMemory: 64,
    });
    this.h2.on('session', (s: http2.ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => {});
      // Larger connection window: many concurrent streams share it.
      s.on('connect', () => {
        try {
          s.setLocalWindowSize(16 << 20);
        } catch {
          /* session already gone */
        }
      });
    });
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.h1 = http.createServer((req, res) => opts.http(req, res));
    this.h1.keepAliveTimeout = 30_000;
  }

  addService<S extends ServiceDescriptor>(service: S, handlers: ServiceHandlers<S>): void {
    for (const key of Object.keys(service)) {
      const desc = service[key] as MethodDescriptor<unknown, unknown>;
      const handler = (handlers as Record<string, (...args: never[]) => unknown>)[key];
      if (!handler) throw new Error(`no handler for ${desc.path}`);
      this.methods.set(desc.path, { desc, handler });
      this.services.add(desc.service);
    }
  }

  /** The registered method for a gRPC path (used by the JSON gateway). */
  lookup(path: string): Registered | undefined {
    return this.methods.get(path);
  }

  /** Registers one method's handler (used for services implemented only in part elsewhere). */
  addMethod<M extends MethodDescriptor<any, any, boolean, boolean>>(desc: M, handler: HandlerFor<M>): void {
    this.methods.set(desc.path, { desc: desc as MethodDescriptor<unknown, unknown>, handler: handler as (...args: never[]) => unknown });
    this.services.add(desc.service);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const ct = headers['content-type'];
    if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) {
      this.httpOverH2(stream, headers);
      return;
    }
    const path = headers[':path'] ?? '';
    const reg = this.methods.get(path);
    if (!reg) {
      const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
      const msg = m && this.services.has(m[1]!) ? `unknown method ${m[2]} for service ${m[1]}` : `unknown service ${m ? m[1] : path}`;
      stream.on('error', () => {});
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(GrpcCode.UNIMPLEMENTED), 'grpc-message': encodeGrpcMessage(msg) },
        { endStream: true },
      );
      return;
    }
    const socket = stream.session?.socket as TLSSocket | undefined;
    let cn: string | undefined;
    // session.socket is a Proxy whose `in` looks at the session, not the socket: test the method itself.
    if (socket && typeof socket.getPeerCertificate === 'function' && socket.authorized) {
      cn = socket.getPeerCertificate()?.subject?.CN as string | undefined;
    }
    const { desc } = reg;
    const call = new GrpcCall(stream, headers, desc.requestType, desc.responseType, this.opts.maxRecvBytes, cn);
    if (desc.requestStream) {
      try {
        this.interceptor?.(desc.path, undefined, call);
      } catch (e) {
        call.finish(e);
        return;
      }
      (reg.handler as BidiHandler<unknown, unknown>)(call);
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
        (reg.handler as ServerStreamHandler<unknown, unknown>)(req, call);
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
      if (!got) call.finish(new GrpcStatusError(GrpcCode.INTERNAL, 'grpc: client streaming ended without a message for a unary call'));
    };
  }

  /** Non-gRPC HTTP/2 requests go through the compatibility API to the same HTTP handler. */
  private httpOverH2(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const req = new (http2 as unknown as { Http2ServerRequest: new (...a: unknown[]) => http2.Http2ServerRequest }).Http2ServerRequest(
      stream,
      headers,
      undefined,
      [],
    );
    const res = new (http2 as unknown as { Http2ServerResponse: new (...a: unknown[]) => http2.Http2ServerResponse }).Http2ServerResponse(stream);
    this.opts.http(req, res);
  }

  /** Closes all HTTP/2 sessions and HTTP/1 connections. */
  closeConnections(): void {
    for (const s of this.sessions) s.destroy();
    this.h1.closeAllConnections();
  }
}

function respondUnary(call: GrpcCall<unknown, unknown>, res: unknown): void {
  if (res instanceof RawResponse) call.sendRaw(res.bytes);
  else call.send(res as PartialMessage<unknown>);
  call.finish();
}

export type { CallContext, ServerCall, MessageCodec, RequestOf, ResponseOf };
