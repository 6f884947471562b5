// etcd's JSON gateway: POST /v3/<service>/<method> with a proto3-JSON body, answered by the same
// handlers as gRPC. Streams (watch, lease keep-alive, snapshot, election observe) answer with
// newline-delimited {"result": …} objects; errors use grpc-gateway's shape.

import type http from 'node:http';
import type { H2HttpRequest, H2HttpResponse } from '../grpc/h2/http-adapter.js';
import {
  decodeFirstValue,
  GrpcCode,
  GrpcStatusError,
  Reader,
  type MessageCodec,
  type PartialMessage,
} from '@conclave/api';
import {
  RawResponse,
  StreamedResponse,
  type BidiHandler,
  type GrpcServer,
  type Registered,
  type ServerStreamHandler,
  type UnaryHandler,
} from '../grpc/grpc-server.js';
import type { ServerCall } from '../grpc/call.js';
import { collectBody } from '../grpc/streamed-response.js';
import { GatewaySlots } from './gateway-slots.js';

type Req = http.IncomingMessage | H2HttpRequest;
type Res = http.ServerResponse | H2HttpResponse;

const ROUTES: Record<string, string> = {
  'kv/range': '/etcdserverpb.KV/Range',
  'kv/put': '/etcdserverpb.KV/Put',
  'kv/deleterange': '/etcdserverpb.KV/DeleteRange',
  'kv/txn': '/etcdserverpb.KV/Txn',
  'kv/compaction': '/etcdserverpb.KV/Compact',
  watch: '/etcdserverpb.Watch/Watch',
  'lease/grant': '/etcdserverpb.Lease/LeaseGrant',
  'lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  'kv/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  'lease/keepalive': '/etcdserverpb.Lease/LeaseKeepAlive',
  'lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  'kv/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  'lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  'kv/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  'cluster/member/add': '/etcdserverpb.Cluster/MemberAdd',
  'cluster/member/remove': '/etcdserverpb.Cluster/MemberRemove',
  'cluster/member/update': '/etcdserverpb.Cluster/MemberUpdate',
  'cluster/member/list': '/etcdserverpb.Cluster/MemberList',
  'cluster/member/promote': '/etcdserverpb.Cluster/MemberPromote',
  'maintenance/alarm': '/etcdserverpb.Maintenance/Alarm',
  'maintenance/status': '/etcdserverpb.Maintenance/Status',
  'maintenance/defragment': '/etcdserverpb.Maintenance/Defragment',
  'maintenance/hash': '/etcdserverpb.Maintenance/Hash',
  'maintenance/hashkv': '/etcdserverpb.Maintenance/HashKV',
  'maintenance/snapshot': '/etcdserverpb.Maintenance/Snapshot',
  'maintenance/transfer-leadership': '/etcdserverpb.Maintenance/MoveLeader',
  'auth/enable': '/etcdserverpb.Auth/AuthEnable',
  'auth/disable': '/etcdserverpb.Auth/AuthDisable',
  'auth/status': '/etcdserverpb.Auth/AuthStatus',
  'auth/authenticate': '/etcdserverpb.Auth/Authenticate',
  'auth/user/add': '/etcdserverpb.Auth/UserAdd',
  'auth/user/get': '/etcdserverpb.Auth/UserGet',
  'auth/user/list': '/etcdserverpb.Auth/UserList',
  'auth/user/delete': '/etcdserverpb.Auth/UserDelete',
  'auth/user/changepw': '/etcdserverpb.Auth/UserChangePassword',
  'auth/user/grant': '/etcdserverpb.Auth/UserGrantRole',
  'auth/user/revoke': '/etcdserverpb.Auth/UserRevokeRole',
  'auth/role/add': '/etcdserverpb.Auth/RoleAdd',
  'auth/role/get': '/etcdserverpb.Auth/RoleGet',
  'auth/role/list': '/etcdserverpb.Auth/RoleList',
  'auth/role/delete': '/etcdserverpb.Auth/RoleDelete',
  'auth/role/grant': '/etcdserverpb.Auth/RoleGrantPermission',
  'auth/role/revoke': '/etcdserverpb.Auth/RoleRevokePermission',
  'lock/lock': '/v3lockpb.Lock/Lock',
  'lock/unlock': '/v3lockpb.Lock/Unlock',
  'election/campaign': '/v3electionpb.Election/Campaign',
  'election/proclaim': '/v3electionpb.Election/Proclaim',
  'election/leader': '/v3electionpb.Election/Leader',
  'election/observe': '/v3electionpb.Election/Observe',
  'election/resign': '/v3electionpb.Election/Resign',
};

/** grpc-gateway's mapping of gRPC codes to HTTP statuses. */
const HTTP_STATUS: Record<number, number> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 408,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.UNAUTHENTICATED]: 401,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 400,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
};

function statusOf(err: unknown): { code: number; message: string } {
  if (err instanceof GrpcStatusError) return { code: err.code, message: err.message };
  return { code: GrpcCode.UNKNOWN, message: err instanceof Error ? err.message : String(err) };
}

/** The gateway route for a request path, or undefined. Accepts /v3/, /v3beta/ and /v3alpha/ prefixes; no trailing slash (etcd: 404). */
export function gatewayRoute(path: string): string | undefined {
  const m = /^\/v3(?:beta|alpha)?\/(.+)$/.exec(path);
  return m ? ROUTES[m[1]!] : undefined;
}

/**
 * Splits a text stream into consecutive JSON objects (separated by whitespace or nothing). Each chunk
 * is scanned once, with the scanning state carried over: the cost is linear in the input however it
 * is chunked (re-scanning the buffer per chunk cost 43 CPU-s for an unterminated 16 MiB body).
 */
export class JsonStreamSplitter {
  private depth = 0;
  private inStr = false;
  private escaped = false;
  /** The pieces of the object being read, from its opening brace. */
  private parts: string[] = [];
  private size = 0;

  /** @param maxBytes the largest object accepted (a longer one throws TooLargeError) */
  constructor(private readonly maxBytes: number) {}

  push(chunk: string): unknown[] {
    const out: unknown[] = [];
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inStr) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inStr = false;
        continue;
      }
      if (c === 0x22) this.inStr = true;
      else if (c === 0x7b) {
        if (this.depth === 0) start = i;
        this.depth++;
      } else if (c === 0x7d && this.depth > 0) {
        this.depth--;
        if (this.depth === 0 && start >= 0) {
          this.parts.push(chunk.slice(start, i + 1));
          const text = this.parts.join('');
          this.parts = [];
          this.size = 0;
          start = -1;
          out.push(decodeFirstValue(text));
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      this.size += chunk.length - start;
      if (this.size > this.maxBytes) throw new TooLargeError(this.maxBytes);
      this.parts.push(chunk.slice(start));
    }
    return out;
  }
}

/** A gateway request body beyond the gRPC receive limit (what etcd's gateway would get from gRPC). */
class TooLargeError extends GrpcStatusError {
  constructor(max: number) {
    super(GrpcCode.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${max + 1} vs. ${max})`);
  }
}

class GatewayCall<Rq, Rs> implements ServerCall<Rq, Rs> {
  onMessage: (req: Rq) => void = () => {};
  onHalfClose: () => void = () => {};
  onDone: () => void = () => {};
  private finished = false;
  private started = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly req: Req,
    private readonly res: Res,
    private readonly resType: MessageCodec<Rs>,
    private readonly streaming: boolean,
  ) {
    res.on('close', () => {
      if (!this.finished) {
        this.finished = true;
        this.controller.abort();
        this.onDone();
      }
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }
  onCancel(cb: (reason: unknown) => void): void {
    const signal = this.controller.signal;
    if (signal.aborted) cb(signal.reason);
    else signal.addEventListener('abort', () => cb(signal.reason), { once: true });
  }
  get peer(): string {
    return `${this.req.socket?.remoteAddress ?? ''}:${this.req.socket?.remotePort ?? ''}`;
  }
  get peerCommonName(): string | undefined {
    return undefined;
  }
  get isFinished(): boolean {
    return this.finished;
  }

  metadata(key: string): string | undefined {
    if (key === 'token') {
      const auth = this.req.headers['authorization'];
      if (typeof auth === 'string') return auth.replace(/^Bearer\s+/i, '');
    }
    const v = this.req.headers[key];
    return Array.isArray(v) ? v[0] : v;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'application/json' });
  }

  send(msg: PartialMessage<Rs>): boolean {
    if (this.finished) return false;
    this.start();
    const json = this.resType.toJSON(msg);
    const body = this.streaming ? `${JSON.stringify({ result: json })}\n` : JSON.stringify(json);
    return (this.res as http.ServerResponse).write(body);
  }

  onDrain(cb: () => void): void {
    (this.res as http.ServerResponse).once('drain', cb);
  }

  finish(err?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (err !== undefined) {
      const { code, message } = statusOf(err);
      if (!this.started) {
        this.res.writeHead(HTTP_STATUS[code] ?? 500, { 'content-type': 'application/json' });
        this.res.end(JSON.stringify({ error: message, message, code }));
      } else {
        this.res.end(
          `${JSON.stringify({ error: { grpc_code: code, http_code: HTTP_STATUS[code] ?? 500, message, http_status: '' } })}\n`,
        );
      }
    } else {
      this.start();
      this.res.end();
    }
    this.controller.abort();
    this.onDone();
  }
}

/** Serves one gateway request. */
export function serveGateway(grpc: GrpcServer, rpcPath: string, req: Req, res: Res): void {
  const reg = grpc.lookup(rpcPath);
  if (!reg) {
    res.writeHead(501, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'Not Implemented', message: 'Not Implemented', code: GrpcCode.UNIMPLEMENTED }));
    return;
  }
  // etcd's gateway opens a gRPC stream per call: at most --max-concurrent-streams run, the rest wait
  const withdraw = slotsOf(grpc).take((release) => {
    res.once('close', release);
    res.once('finish', release);
    serveCall(grpc, reg, req, res);
  });
  res.once('close', withdraw);
}

const slots = new WeakMap<GrpcServer, GatewaySlots>();

function slotsOf(grpc: GrpcServer): GatewaySlots {
  let s = slots.get(grpc);
  if (!s) slots.set(grpc, (s = new GatewaySlots(grpc.maxConcurrentStreams)));
  return s;
}

function serveCall(grpc: GrpcServer, reg: Registered, req: Req, res: Res): void {
  const { desc } = reg;
  const streaming = desc.requestStream || desc.responseStream;
  const call = new GatewayCall<unknown, unknown>(req, res, desc.responseType, streaming);
  const maxBytes = grpc.maxRecvBytes;
  const splitter = new JsonStreamSplitter(maxBytes);
  const decode = (json: unknown): unknown => desc.requestType.fromJSON(json);

  if (desc.requestStream) {
    req.setEncoding('utf8');
    (reg.handler as BidiHandler<unknown, unknown>)(call);
    req.on('data', (chunk: string) => {
      try {
        for (const obj of splitter.push(chunk)) call.onMessage(decode(obj));
      } catch (e) {
        call.finish(
          e instanceof GrpcStatusError ? e : new GrpcStatusError(GrpcCode.INVALID_ARGUMENT, (e as Error).message),
        );
        req.destroy();
      }
    });
    req.on('end', () => call.onHalfClose());
    return;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxBytes) {
      // The body is not kept beyond the limit; the answer goes out at once.
      tooLarge = true;
      chunks.length = 0;
      call.finish(new TooLargeError(maxBytes));
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) return;
    let msg: unknown;
    try {
      // As grpc-gateway: the first JSON value, read by Go's rules (an empty body is an empty request)
      msg = decode(decodeFirstValue(Buffer.concat(chunks)) ?? {});
    } catch (e) {
      call.finish(new GrpcStatusError(GrpcCode.INVALID_ARGUMENT, (e as Error).message));
      return;
    }
    if (desc.responseStream) {
      (reg.handler as ServerStreamHandler<unknown, unknown>)(msg, call);
      return;
    }
    Promise.resolve()
      .then(() => (reg.handler as UnaryHandler<unknown, unknown>)(msg, call))
      .then(
        (out) => {
          if (out instanceof RawResponse || out instanceof StreamedResponse) {
            // JSON is built from the message: a streamed body is gathered first (see docs/benchmarks.md)
            const bytes = out instanceof RawResponse ? out.bytes : collectBody(out.body);
            call.send(desc.responseType.decode(new Reader(bytes), bytes.length) as PartialMessage<unknown>);
          } else {
            call.send(out as PartialMessage<unknown>);
          }
          call.finish();
        },
        (e: unknown) => call.finish(e),
      );
  });
}
