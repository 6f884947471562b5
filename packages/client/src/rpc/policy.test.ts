import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdErrors, GrpcCode } from '@conclave/api';
import { errorFromStatus } from '../errors/map.js';
import { isEndpointFailure, isNeverSent, mayRetry } from './policy.js';

const U = GrpcCode.UNAVAILABLE;
const etcd = (n: keyof typeof EtcdErrors) =>
  errorFromStatus({ code: EtcdErrors[n].code, details: EtcdErrors[n].message });

test('a call is "never sent" only for grpc-js pre-transport failures without response headers', () => {
  assert.equal(isNeverSent(U, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1', false), true);
  assert.equal(isNeverSent(U, 'Channel closed before call started', false), true);
  assert.equal(isNeverSent(U, 'Name resolution failed for target dns:nowhere:1', false), true);
  assert.equal(isNeverSent(U, 'Stream refused by server', false), true);
  assert.equal(isNeverSent(U, 'Picked subchannel 127.0.0.1:2379 is unhealthy', false), true);
  // the request may have reached the server
  assert.equal(isNeverSent(U, 'Connection dropped', false), false);
  assert.equal(isNeverSent(U, 'read ECONNRESET', false), false);
  assert.equal(isNeverSent(U, 'etcdserver: no leader', false), false);
  assert.equal(isNeverSent(U, 'No connection established', true), false);
  assert.equal(isNeverSent(GrpcCode.DEADLINE_EXCEEDED, 'No connection established', false), false);
});

test('writes retry only when provably not applied; reads retry on any unavailability', () => {
  const dropped = errorFromStatus({ code: U, details: 'Connection dropped' });
  const noLeader = etcd('NoLeader');
  const timeout = etcd('TimeoutDueToLeaderFail');
  const proposalDropped = errorFromStatus({ code: GrpcCode.UNKNOWN, details: 'raft proposal dropped' });
  const compacted = etcd('Compacted');
  const deadline = errorFromStatus({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  const sent = { neverSent: false, cappedDeadline: false };
  const unsent = { neverSent: true, cappedDeadline: false };

  for (const e of [dropped, noLeader, timeout]) {
    assert.equal(mayRetry('write', e, sent), false, e.message);
    assert.equal(mayRetry('read', e, sent), true, e.message);
    assert.equal(mayRetry('idempotent', e, sent), true, e.message);
  }
  assert.equal(mayRetry('write', dropped, unsent), true);
  assert.equal(mayRetry('write', proposalDropped, sent), true);
  assert.equal(mayRetry('write', etcd('Unhealthy'), sent), true);
  assert.equal(mayRetry('write', etcd('NotSupportedForLearner'), sent), true);
  // "no leader" comes from the hasleader check before the handler only when hasleader was sent
  assert.equal(mayRetry('write', noLeader, { ...sent, requireLeader: true }), true);
  assert.equal(mayRetry('read', compacted, sent), false);
  assert.equal(mayRetry('write', compacted, sent), false);
  // an attempt stopped by its own per-attempt cap is retried (reads); the call's own deadline is not
  assert.equal(mayRetry('read', deadline, { neverSent: false, cappedDeadline: true }), true);
  assert.equal(mayRetry('read', deadline, sent), false);
  assert.equal(mayRetry('write', deadline, { neverSent: false, cappedDeadline: true }), false);
});

test('endpoint health counts unavailability and per-attempt timeouts, not request errors', () => {
  const sent = { neverSent: false, cappedDeadline: false };
  assert.equal(isEndpointFailure(errorFromStatus({ code: U, details: 'Connection dropped' }), sent), true);
  assert.equal(isEndpointFailure(etcd('NoLeader'), sent), true);
  assert.equal(isEndpointFailure(etcd('Compacted'), sent), false);
  assert.equal(
    isEndpointFailure(errorFromStatus({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'x' }), {
      neverSent: false,
      cappedDeadline: true,
    }),
    true,
  );
});
