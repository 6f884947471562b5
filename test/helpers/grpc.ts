// A raw @grpc/grpc-js client for tests: calls any etcd v3 method by its descriptor, with the
// generated codecs, and reports errors with their gRPC status code and message untouched.

import * as grpc from '@grpc/grpc-js';
import {
  decodeMessage,
  encodeMessage,
  etcdserverpb,
  type mvccpb,
  GRPC_CODE_NAMES,
  type MessageCodec,
  type MethodDescriptor,
  type PartialMessage,
} from '@conclave/api';

export interface CallOptions {
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

/** A failed call: the status code and the message exactly as the server sent them. */
export class CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${GRPC_CODE_NAMES[code] ?? code}: ${details}`);
  }
}

export interface RawClientOptions {
  credentials?: grpc.ChannelCredentials;
  /** Channel options, e.g. { 'grpc.ssl_target_name_override': 'localhost' }. */
  channel?: grpc.ChannelOptions;
}

export class RawClient {
  readonly client: grpc.Client;

  constructor(
    readonly endpoint: string,
    opts: RawClientOptions = {},
  ) {
    this.client = new grpc.Client(endpoint, opts.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...opts.channel,
    });
  }

  /** A unary call by its descriptor (or by a raw path with codecs, for methods a server may not know). */
  unary<Req, Res>(
    m: MethodDescriptor<Req, Res, false, false>,
    req: PartialMessage<Req>,
    opts: CallOptions = {},
  ): Promise<Res> {
    return this.call(m.path, m.requestType, m.responseType, req, opts);
  }

  call<Req, Res>(
    path: string,
    reqType: MessageCodec<Req>,
    resType: MessageCodec<Res>,
    req: PartialMessage<Req>,
    opts: CallOptions = {},
  ): Promise<Res> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        (v: PartialMessage<Req>) => encodeMessage(reqType, v),
        (b: Buffer) => decodeMessage(resType, b),
        req,
        md,
        { deadline: Date.now() + (opts.timeoutMs ?? 10_000) },
        (err: grpc.ServiceError | null, res?: Res) => {
          if (err) reject(new CallError(err.code, err.details));
          else resolve(res!);
        },
      );
    });
  }

  /** A unary call with a raw request body (e.g. malformed protobuf); resolves with the raw response body. */
  callBytes(path: string, body: Buffer, opts: CallOptions = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + (opts.timeoutMs ?? 10_000) },
        (err: grpc.ServiceError | null, res?: Buffer) => {
          if (err) reject(new CallError(err.code, err.details));
          else resolve(res!);
        },
      );
    });
  }

  /** Put of UTF-8 key and value; resolves with the response (header.revision = the put's revision). */
  put(key: string, value: string | Uint8Array, opts: CallOptions = {}): Promise<etcdserverpb.PutResponse> {
    return this.unary(
      etcdserverpb.KVService.Put,
      { key: Buffer.from(key), value: typeof value === 'string' ? Buffer.from(value) : value },
      opts,
    );
  }

  /** The value of one key (undefined when absent), optionally at a revision. */
  async get(key: string, revision = 0, opts: CallOptions = {}): Promise<mvccpb.KeyValue | undefined> {
    const r = await this.unary(etcdserverpb.KVService.Range, { key: Buffer.from(key), revision }, opts);
    return r.kvs[0];
  }

  /** Every key in the store, and the header's revision. */
  async all(revision = 0): Promise<{ kvs: mvccpb.KeyValue[]; revision: number }> {
    const r = await this.unary(
      etcdserverpb.KVService.Range,
      { key: Buffer.from([0]), rangeEnd: Buffer.from([0]), revision },
      { timeoutMs: 30_000 },
    );
    return { kvs: r.kvs, revision: Number(r.header?.revision ?? 0) };
  }

  close(): void {
    this.client.close();
  }
}

/** Runs `fn`, expecting it to fail with a CallError; returns it. */
export async function callError(fn: () => Promise<unknown>): Promise<CallError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CallError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}
