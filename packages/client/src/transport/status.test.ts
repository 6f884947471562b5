import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcCode } from '@conclave/api';
import { H2Error } from '@conclave/h2';
import { grpcTimeout, statusForReset, statusFromFields } from './status.js';
import { splitHostPort } from './address.js';

test('grpc-timeout: milliseconds rounded up, larger units past 8 digits', () => {
  assert.equal(grpcTimeout(0.2), '1m');
  assert.equal(grpcTimeout(123.4), '124m');
  assert.equal(grpcTimeout(99_999_999), '99999999m');
  assert.equal(grpcTimeout(100_000_000), '100000S');
});

test('status from trailers, trailers-only responses and HTTP statuses', () => {
  const head = [':status', '200', 'content-type', 'application/grpc'];
  const st = statusFromFields(head, [
    'grpc-status',
    '11',
    'grpc-message',
    'etcdserver: mvcc: required revision is a future revision',
    'x-extra',
    'v',
  ]);
  assert.equal(st.code, GrpcCode.OUT_OF_RANGE);
  assert.equal(st.details, 'etcdserver: mvcc: required revision is a future revision');
  assert.equal(statusFromFields(head, ['grpc-status', '3', 'grpc-message', 'a%20b%25%E2%9C%93']).details, 'a b%✓');
  assert.equal(statusFromFields([':status', '200', 'grpc-status', '14', 'grpc-message', 'down'], null).details, 'down');
  assert.equal(statusFromFields(head, []).code, GrpcCode.UNKNOWN);
  const cases: Array<[number, number]> = [
    [503, GrpcCode.UNAVAILABLE],
    [502, GrpcCode.UNAVAILABLE],
    [504, GrpcCode.UNAVAILABLE],
    [429, GrpcCode.UNAVAILABLE],
    [401, GrpcCode.UNAUTHENTICATED],
    [403, GrpcCode.PERMISSION_DENIED],
    [404, GrpcCode.UNIMPLEMENTED],
    [500, GrpcCode.UNKNOWN],
  ];
  for (const [http, code] of cases) {
    const s = statusFromFields([':status', String(http)], null);
    assert.equal(s.code, code, `HTTP ${http}`);
    assert.equal(s.details, `Received HTTP status code ${http}`);
  }
});

test('RST_STREAM codes', () => {
  assert.deepEqual(statusForReset(H2Error.REFUSED_STREAM), {
    code: GrpcCode.UNAVAILABLE,
    details: 'Stream refused by server',
  });
  assert.equal(statusForReset(H2Error.CANCEL).code, GrpcCode.CANCELLED);
  assert.equal(statusForReset(H2Error.PROTOCOL_ERROR).code, GrpcCode.INTERNAL);
});

test('host and port of an endpoint address', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:2379'), { host: '127.0.0.1', port: '2379' });
  assert.deepEqual(splitHostPort('[::1]:2379'), { host: '::1', port: '2379' });
  assert.deepEqual(splitHostPort('example.com'), { host: 'example.com', port: undefined });
});
