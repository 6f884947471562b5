// Service and method descriptors emitted by the generator, and an adapter to @grpc/grpc-js's
// ServiceDefinition shape (structurally typed, so this package does not depend on grpc-js).

import { decodeMessage, encodeMessage, type MessageCodec, type PartialMessage } from './message.js';

export interface MethodDescriptor<Req, Res, RS extends boolean = boolean, SS extends boolean = boolean> {
  /** gRPC path, e.g. "/etcdserverpb.KV/Range". */
  readonly path: string;
  readonly service: string;
  readonly name: string;
  readonly requestStream: RS;
  readonly responseStream: SS;
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
}

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

// biome-ignore lint/suspicious/noExplicitAny: methods of any message types (with unknown, codecs that take a message as a parameter would not fit)
export type ServiceDescriptor = Readonly<Record<string, MethodDescriptor<any, any, boolean, boolean>>>;

export type RequestOf<M> = M extends MethodDescriptor<infer Req, infer _Res, boolean, boolean> ? Req : never;
export type ResponseOf<M> = M extends MethodDescriptor<infer _Req, infer Res, boolean, boolean> ? Res : never;

export interface GrpcMethodDefinition<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: PartialMessage<Req>) => Buffer;
  requestDeserialize: (bytes: Buffer) => Req;
  responseSerialize: (value: PartialMessage<Res>) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
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
