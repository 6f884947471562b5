/**
 * @conclave/api — the etcd v3 wire contract shared by Conclave's server and client:
 * generated message types and static protobuf codecs for etcdserverpb, mvccpb, authpb, v3lockpb,
 * v3electionpb and grpc.health.v1; service/method descriptors (with a @grpc/grpc-js adapter);
 * and the etcd error table (gRPC status code + exact message).
 *
 * @module @conclave/api
 */

/** The etcd v3 client API (proto package `etcdserverpb`): messages, enums and the KV, Watch, Lease, Cluster, Maintenance and Auth services. */
export * as etcdserverpb from './gen/etcdserverpb.js';
/** Stored data (proto package `mvccpb`): `KeyValue` and watch `Event`. */
export * as mvccpb from './gen/mvccpb.js';
/** Auth records (proto package `authpb`): `User`, `Role`, `Permission`, `UserAddOptions`. */
export * as authpb from './gen/authpb.js';
/** The Lock service (proto package `v3lockpb`): `Lock` and `Unlock`. */
export * as v3lockpb from './gen/v3lockpb.js';
/** The Election service (proto package `v3electionpb`): `Campaign`, `Proclaim`, `Leader`, `Observe`, `Resign`. */
export * as v3electionpb from './gen/v3electionpb.js';
/** The standard gRPC health service (proto package `grpc.health.v1`), which etcd registers too. */
export * as healthpb from './gen/grpc-health-v1.js';

export { Writer, sharedWriter } from './runtime/writer.js';
export { Reader, DecodeError } from './runtime/reader.js';
export {
  encodeMessage,
  decodeMessage,
  encodeMessageInto,
  type MessageCodec,
  type PartialMessage,
} from './runtime/message.js';
export { JsonDecodeError } from './runtime/json.js';
export { decodeFirstValue, JsonNumber } from './runtime/go-json.js';
export {
  method,
  grpcServiceDefinition,
  type MethodDescriptor,
  type ServiceDescriptor,
  type GrpcMethodDefinition,
  type RequestOf,
  type ResponseOf,
} from './runtime/service.js';
export * from './errors.js';
