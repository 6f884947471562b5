import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdErrors, GrpcCode, type EtcdErrorName } from '@conclave/api';
import {
  ConclaveError,
  DeadlineExceededError,
  FailedPreconditionError,
  PermissionDeniedError,
  UnavailableError,
  UnknownError,
  UnimplementedError,
} from './base.js';
import {
  CompactedError,
  InvalidAuthTokenError,
  LeaseNotFoundError,
  NoLeaderError,
  ProposalDroppedError,
  RequestTimeoutError,
  RequestTooLargeError,
  WatchCanceledError,
} from './etcd.js';
import { errorFromStatus, statusMessage, toConclaveError } from './map.js';

test('every entry of the etcd error table maps to its own class and code', () => {
  for (const name of Object.keys(EtcdErrors) as EtcdErrorName[]) {
    const { code, message } = EtcdErrors[name];
    const err = errorFromStatus({ code, details: message }, '127.0.0.1:2379');
    assert.ok(err instanceof ConclaveError, name);
    assert.equal(err.code, name);
    assert.equal(err.grpcCode, code);
    assert.equal(err.endpoint, '127.0.0.1:2379');
    assert.ok(err.message.startsWith(message), name);
    assert.equal(err.name, err.constructor.name === 'AbortedError' ? 'AbortError' : err.constructor.name);
    // UNAVAILABLE errors of the table are all retriable
    if (code === GrpcCode.UNAVAILABLE) assert.ok(err.retriable && err instanceof UnavailableError, name);
  }
});

test('specific classes, categories and retriability', () => {
  const st = (name: EtcdErrorName): ConclaveError =>
    errorFromStatus({ code: EtcdErrors[name].code, details: EtcdErrors[name].message });
  assert.ok(st('Compacted') instanceof CompactedError);
  assert.equal(st('Compacted').retriable, false);
  assert.ok(st('LeaseNotFound') instanceof LeaseNotFoundError);
  assert.ok(st('NoLeader') instanceof NoLeaderError);
  assert.ok(st('NoLeader') instanceof UnavailableError);
  assert.ok(st('PermissionDenied') instanceof PermissionDeniedError);
  assert.ok(st('InvalidAuthToken') instanceof InvalidAuthTokenError);
  assert.equal(st('InvalidAuthToken').retriable, true);
  assert.ok(st('TimeoutDueToLeaderFail') instanceof RequestTimeoutError);
  assert.equal(st('TimeoutDueToLeaderFail').code, 'TimeoutDueToLeaderFail');
  assert.ok(st('RoleNotFound') instanceof FailedPreconditionError);
  assert.ok(st('WatchCanceled') instanceof WatchCanceledError);
});

test('messages outside the table get the class of their gRPC code', () => {
  const dropped = errorFromStatus({ code: GrpcCode.UNAVAILABLE, details: 'Connection dropped' }, 'h:1');
  assert.ok(dropped instanceof UnavailableError);
  assert.equal(dropped.code, 'Unavailable');
  assert.equal(dropped.retriable, true);
  assert.match(dropped.message, /UNAVAILABLE: Connection dropped \(h:1\)/);
  const dl = errorFromStatus({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  assert.ok(dl instanceof DeadlineExceededError && dl.retriable);
  assert.ok(
    errorFromStatus({ code: GrpcCode.UNIMPLEMENTED, details: 'unknown service etcdserverpb.Watch' }) instanceof
      UnimplementedError,
  );
  assert.ok(errorFromStatus({ code: 99, details: 'odd' }) instanceof UnknownError);
  const big = errorFromStatus({
    code: GrpcCode.RESOURCE_EXHAUSTED,
    details: 'grpc: received message larger than max (3000000 vs. 2097152)',
  });
  assert.ok(big instanceof RequestTooLargeError);
  const drop = errorFromStatus({ code: GrpcCode.UNKNOWN, details: 'raft proposal dropped' });
  assert.ok(drop instanceof ProposalDroppedError && drop.retriable);
});

test('Go status wrappers in watch cancel reasons are unwrapped', () => {
  const text = 'rpc error: code = PermissionDenied desc = etcdserver: permission denied';
  assert.equal(statusMessage(text), 'etcdserver: permission denied');
  assert.ok(errorFromStatus({ code: GrpcCode.UNKNOWN, details: text }) instanceof PermissionDeniedError);
});

test('toConclaveError wraps anything and keeps typed errors', () => {
  const e = errorFromStatus({ code: EtcdErrors.NoLeader.code, details: EtcdErrors.NoLeader.message });
  assert.equal(toConclaveError(e), e);
  const raw = Object.assign(new Error('14 UNAVAILABLE: x'), { code: 14, details: 'x' });
  const m = toConclaveError(raw);
  assert.ok(m instanceof UnavailableError);
  assert.equal(m.cause, raw);
  const plain = toConclaveError(new TypeError('boom'));
  assert.ok(plain instanceof UnknownError);
  assert.equal(plain.message, 'boom');
});
