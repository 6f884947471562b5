// Typed errors: a class per etcd error and per gRPC status category, all extending ConclaveError.

export * from './base.js';
export * from './etcd.js';
export { errorFromStatus, toConclaveError, statusMessage } from './map.js';
