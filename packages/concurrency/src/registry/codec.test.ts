import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyValue } from '@conclave/client';
import {
  decodeInstance,
  dialAddress,
  encodeInstance,
  instanceKey,
  validateInstance,
  type ServiceInstance,
} from './codec.js';

const kv = (key: string, value: string): KeyValue => new KeyValue(Buffer.from(key), Buffer.from(value), 1n, 1n, 1n, 0n);

test("instances are stored as etcd naming/endpoints' JSON under <prefix><service>/<id> and read back", () => {
  const inst: ServiceInstance = { service: 'api', id: 'a1', address: '10.0.0.1', port: 8080, metadata: { zone: 'x' } };
  assert.equal(instanceKey('svc/', inst), 'svc/api/a1');
  const value = encodeInstance(inst);
  const json = JSON.parse(value) as { Op: number; Addr: string; Metadata: Record<string, unknown> };
  assert.equal(json.Op, 0);
  assert.equal(json.Addr, '10.0.0.1:8080');
  assert.deepEqual(decodeInstance(kv('svc/api/a1', value), 'api', 'svc/api/'), inst);
});

test('endpoints written by Go services, IPv6, and values that are not endpoints', () => {
  assert.deepEqual(decodeInstance(kv('api/go', '{"Op":0,"Addr":"10.1.1.1:9000","Metadata":{"w":1}}'), 'api', 'api/'), {
    service: 'api',
    id: 'go',
    address: '10.1.1.1',
    port: 9000,
    metadata: { w: 1 },
  });
  assert.deepEqual(decodeInstance(kv('api/u', '{"Op":0,"Addr":"unix:///tmp/s.sock"}'), 'api', 'api/'), {
    service: 'api',
    id: 'u',
    address: 'unix:///tmp/s.sock',
  });
  assert.deepEqual(decodeInstance(kv('api/v6', '{"Op":0,"Addr":"[::1]:80"}'), 'api', 'api/'), {
    service: 'api',
    id: 'v6',
    address: '::1',
    port: 80,
  });
  assert.equal(dialAddress({ service: 's', id: 'i', address: '::1', port: 80 }), '[::1]:80');
  assert.equal(decodeInstance(kv('api/x', 'not json'), 'api', 'api/'), undefined);
  assert.equal(decodeInstance(kv('api/x', '{"Op":1,"Addr":"a:1"}'), 'api', 'api/'), undefined);
  assert.equal(
    decodeInstance(kv('api/v2/x', '{"Op":0,"Addr":"a:1"}'), 'api', 'api/'),
    undefined,
    "a nested service's key",
  );
});

test('instance validation', () => {
  assert.throws(() => validateInstance({ service: '', id: 'a', address: 'h' }), TypeError);
  assert.throws(() => validateInstance({ service: 's', id: 'a/b', address: 'h' }), TypeError);
  assert.throws(() => validateInstance({ service: 's', id: 'a', address: 'h', port: 70000 }), TypeError);
  validateInstance({ service: 's', id: 'a', address: 'h', port: 1 });
});
