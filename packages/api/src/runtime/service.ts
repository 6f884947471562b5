// Service and method descriptors emitted by the generator, and an adapter to @grpc/grpc-js's
// ServiceDefinition shape (structurally typed, so this package does not depend on grpc-js).

import { decodeMessage, encodeMessage, type MessageCodec, type PartialMessage } from './message.js';

/** One gRPC method of a generated service: its path, whether each side streams, and the codecs of its request and response. */
export interface MethodDescriptor<Req, Res, RS extends boolean = boolean, SS extends boolean = boolean> {
  /** gRPC path, e.g. "/etcdserverpb.KV/Range". */
  readonly path: string;
  /** Fully-qualified service name, e.g. "etcdserverpb.KV". */
  readonly service: string;
  /** Method name as in the .proto file, e.g. "Range". */
  readonly name: string;
  /** Whether the client sends a stream of requests. */
  readonly requestStream: RS;
  /** Whether the server answers with a stream of responses. */
  readonly responseStream: SS;
  /** Codec of the request message. */
  readonly requestType: MessageCodec<Req>;
  /** Codec of the response message. */
  readonly responseType: MessageCodec<Res>;
}

/** Builds a method descriptor (the generated services call this for each rpc). */
export function method<Req, Res, RS extends boolean, SS extends boolean>(
  service: string,
  name: string,
  requestStream: RS,
  responseStream: SS,
  requestType: MessageCodec<Req>,
  responseType: MessageCodec<Res>,
): MethodDescriptor<Req, Res, RS, SS> {
  return { path: `/${service}/${name}`, service, name, requestStream, responseStream, requestType, responseType };
}

/** A generated service: its method descriptors by method name (e.g. `etcdserverpb.KVService`). */
// biome-ignore lint/suspicious/noExplicitAny: methods of any message types (with unknown, codecs that take a message as a parameter would not fit)
export type ServiceDescriptor = Readonly<Record<string, MethodDescriptor<any, any, boolean, boolean>>>;

/** The request message type of a method descriptor. */
export type RequestOf<M> = M extends MethodDescriptor<infer Req, infer _Res, boolean, boolean> ? Req : never;
/** The response message type of a method descriptor. */
export type ResponseOf<M> = M extends MethodDescriptor<infer _Req, infer Res, boolean, boolean> ? Res : never;

/** A method in the shape of @grpc/grpc-js's `MethodDefinition`, so generated services can be served or called with grpc-js. */
export interface GrpcMethodDefinition<Req, Res> {
  /** gRPC path, e.g. "/etcdserverpb.KV/Range". */
  path: string;
  /** Whether the client streams. */
  requestStream: boolean;
  /** Whether the server streams. */
  responseStream: boolean;
  /** Encodes a request. */
  requestSerialize: (value: PartialMessage<Req>) => Buffer;
  /** Decodes a request. */
  requestDeserialize: (bytes: Buffer) => Req;
  /** Encodes a response. */
  responseSerialize: (value: PartialMessage<Res>) => Buffer;
  /** Decodes a response. */
  responseDeserialize: (bytes: Buffer) => Res;
  /** The method name as in the .proto file. */
  originalName: string;
}

/** The @grpc/grpc-js ServiceDefinition for a generated service (method keys keep their proto names). */
export function grpcServiceDefinition<S extends ServiceDescriptor>(
  service: S,
): { [K in keyof S]: GrpcMethodDefinition<RequestOf<S[K]>, ResponseOf<S[K]>> } {
  const out: Record<string, GrpcMethodDefinition<unknown, unknown>> = {};
  for (const [key, m] of Object.entries(service)) {
    out[key] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: (v) => encodeMessage(m.requestType, v),
      requestDeserialize: (b) => decodeMessage(m.requestType, b),
      responseSerialize: (v) => encodeMessage(m.responseType, v),
      responseDeserialize: (b) => decodeMessage(m.responseType, b),
      originalName: key.charAt(0).toLowerCase() + key.slice(1),
    };
  }
  return out as { [K in keyof S]: GrpcMethodDefinition<RequestOf<S[K]>, ResponseOf<S[K]>> };
}
