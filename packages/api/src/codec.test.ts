// Round-trips of the generated codecs, and byte-for-byte agreement with protobufjs (an independent
// implementation reading the same .proto files), so wire compatibility does not rest on our codec alone.

import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import {
  decodeMessage,
  encodeMessage,
  etcdserverpb,
  mvccpb,
  DecodeError,
  type MessageCodec,
  type PartialMessage,
} from './index.js';

const protoRoot = resolve(fileURLToPath(import.meta.url), '../../proto');

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(protoRoot, target);
  root.loadSync(['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], {
    keepCase: true,
  });
  return root;
}
const root = loadRoot();

/** Converts our decoded object to protobufjs's (keepCase, longs as strings, bytes as Buffers) shape. */
function viaProtobufjs(typeName: string, bytes: Uint8Array): unknown {
  const T = root.lookupType(typeName);
  return T.toObject(T.decode(bytes), { longs: String, bytes: Array, enums: Number, defaults: false, oneofs: false });
}

function check<T>(codec: MessageCodec<T>, value: PartialMessage<T>): T {
  const ours = encodeMessage(codec, value);
  const decoded = decodeMessage(codec, ours);
  // Encode → decode → encode is stable.
  assert.deepEqual(encodeMessage(codec, decoded as PartialMessage<T>), ours);
  // protobufjs reads our bytes to the same JSON, and its encoding of the same content decodes to ours.
  const T = root.lookupType(codec.typeName);
  const theirs = T.encode(T.fromObject(T.toObject(T.decode(ours)))).finish();
  assert.deepEqual(decodeMessage(codec, theirs), decoded);
  assert.deepEqual(viaProtobufjs(codec.typeName, theirs), viaProtobufjs(codec.typeName, ours));
  return decoded;
}

const b = (s: string) => Buffer.from(s);

test('KeyValue round-trips, including int64 extremes and binary bytes', () => {
  const kv = check(mvccpb.KeyValue, {
    key: new Uint8Array([0, 255, 1]),
    createRevision: 2n,
    modRevision: 9007199254740993n,
    version: 1n,
    value: b('v'),
    lease: -5n,
  });
  assert.equal(kv.lease, -5n);
  assert.equal(kv.modRevision, 9007199254740993n);
});

test('RangeRequest with enums and every option', () => {
  const r = check(etcdserverpb.RangeRequest, {
    key: b('a'),
    rangeEnd: b('z'),
    limit: 10,
    revision: 3,
    sortOrder: etcdserverpb.RangeRequest_SortOrder.DESCEND,
    sortTarget: etcdserverpb.RangeRequest_SortTarget.MOD,
    serializable: true,
    keysOnly: true,
    countOnly: true,
    minModRevision: 1,
    maxModRevision: 2,
    minCreateRevision: 3,
    maxCreateRevision: 4,
  });
  assert.equal(r.limit, 10n);
  assert.equal(r.sortTarget, 3);
});

test('ResponseHeader with uint64 IDs above 2^63', () => {
  const h = check(etcdserverpb.ResponseHeader, {
    clusterId: 0xcdf818194e3a8c32n,
    memberId: 0x8e9e05c52164694dn,
    revision: 1,
    raftTerm: 2,
  });
  assert.equal(h.clusterId, 0xcdf818194e3a8c32n);
});

test('Txn with nested oneofs, compare target unions and range_end = 64', () => {
  const t = check(etcdserverpb.TxnRequest, {
    compare: [
      {
        result: etcdserverpb.Compare_CompareResult.EQUAL,
        target: etcdserverpb.Compare_CompareTarget.VERSION,
        key: b('k'),
        version: 0,
      },
      {
        result: etcdserverpb.Compare_CompareResult.NOT_EQUAL,
        target: etcdserverpb.Compare_CompareTarget.VALUE,
        key: b('k'),
        value: b(''),
        rangeEnd: b('l'),
      },
    ],
    success: [
      { requestPut: { key: b('k'), value: b('v') } },
      { requestTxn: { success: [{ requestRange: { key: b('x') } }] } },
    ],
    failure: [{ requestDeleteRange: { key: b('k'), prevKv: true } }],
  });
  // A oneof member set to its default value is still present.
  assert.equal(t.compare[0]!.version, 0n);
  assert.equal(t.compare[1]!.value?.length, 0);
  assert.equal(t.compare[1]!.version, undefined);
  assert.ok(t.success[1]!.requestTxn);
});

test('repeated packed enums (watch filters) and large events list', () => {
  const w = check(etcdserverpb.WatchRequest, {
    createRequest: {
      key: b('a'),
      filters: [etcdserverpb.WatchCreateRequest_FilterType.NOPUT, 1],
      prevKv: true,
      watchId: 7,
      fragment: true,
    },
  });
  assert.deepEqual(w.createRequest?.filters, [0, 1]);
  const events = Array.from({ length: 300 }, (_, i) => ({
    type: (i % 2) as 0 | 1,
    kv: { key: b(`k${i}`), modRevision: i + 2, value: Buffer.alloc(i) },
  }));
  const r = check(etcdserverpb.WatchResponse, { header: { revision: 400 }, watchId: -1, events });
  assert.equal(r.watchId, -1n);
  assert.equal(r.events.length, 300);
});

test('strings: ASCII, multi-byte and long', () => {
  const names = ['root', 'ü-ser', 'x'.repeat(300), '日本語'];
  for (const name of names) assert.equal(check(etcdserverpb.AuthUserAddRequest, { name, password: 'p' }).name, name);
});

test('unknown fields are skipped; truncated input throws DecodeError', () => {
  const bytes = encodeMessage(etcdserverpb.PutRequest, { key: b('k'), value: b('v') });
  const withUnknown = Buffer.concat([bytes, Buffer.from([0xf8, 0x07, 0x01])]); // field 127, varint 1
  assert.deepEqual(decodeMessage(etcdserverpb.PutRequest, withUnknown).key, b('k'));
  assert.throws(() => decodeMessage(etcdserverpb.PutRequest, bytes.subarray(0, bytes.length - 1)), DecodeError);
});

test('JSON mapping uses proto names, int64 as strings, base64 bytes, enum names', () => {
  const json = etcdserverpb.RangeResponse.toJSON({
    header: { clusterId: 1n, revision: 5n },
    kvs: [{ key: b('foo'), value: b('bar'), modRevision: 5n, createRevision: 5n, version: 1n }],
    count: 1n,
  });
  assert.deepEqual(json, {
    header: { cluster_id: '1', revision: '5' },
    kvs: [{ key: 'Zm9v', create_revision: '5', mod_revision: '5', version: '1', value: 'YmFy' }],
    count: '1',
  });
  const ev = mvccpb.Event.toJSON({ type: 1, kv: { key: b('a') } });
  assert.equal(ev['type'], 'DELETE');
  const req = etcdserverpb.RangeRequest.fromJSON({ key: 'Zm9v', range_end: 'Zm9w', sortOrder: 'DESCEND', limit: '2' });
  assert.deepEqual(req.key, b('foo'));
  assert.equal(req.sortOrder, 2);
  assert.equal(req.limit, 2n);
});

test('JSON bytes are standard padded base64, rejected as Go does', () => {
  assert.deepEqual(etcdserverpb.RangeRequest.fromJSON({ key: 'Zm9vYg==' }).key, b('foob'));
  assert.throws(
    () => etcdserverpb.RangeRequest.fromJSON({ key: 'not base64!!' }),
    /illegal base64 data at input byte 3/,
  );
  assert.throws(() => etcdserverpb.RangeRequest.fromJSON({ key: 'Zm9vY' }), /illegal base64 data at input byte 4/);
  assert.throws(() => etcdserverpb.RangeRequest.fromJSON({ key: 'Zm9v_w==' }), /illegal base64 data at input byte 4/);
});
