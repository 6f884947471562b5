// Codec benchmark: the generated static codecs against protobufjs (reflection + runtime codegen,
// the codec behind @grpc/proto-loader) on the messages of the server's hot paths.
// Run: node --import tsx packages/api/bench/codec.ts

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  decodeMessage,
  encodeMessage,
  etcdserverpb,
  type MessageCodec,
  mvccpb,
  type PartialMessage,
} from '../src/index.js';

const protoRoot = resolve(fileURLToPath(import.meta.url), '../../proto');
const root = new protobuf.Root();
root.resolvePath = (_o, t) => join(protoRoot, t);
root.loadSync(['etcdserverpb/rpc.proto']);

function time(label: string, n: number, fn: () => void): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(48)} ${ns.toFixed(0).padStart(7)} ns/op`);
  return ns;
}

function bench<T>(name: string, codec: MessageCodec<T>, value: PartialMessage<T>, n: number): void {
  const T = root.lookupType(codec.typeName);
  const bytes = encodeMessage(codec, value);
  const pjsObj = T.decode(bytes);
  const a = time(`${name} encode (generated)`, n, () => encodeMessage(codec, value));
  const b = time(`${name} encode (protobufjs)`, n, () => T.encode(pjsObj).finish());
  const c = time(`${name} decode (generated)`, n, () => decodeMessage(codec, bytes));
  const d = time(`${name} decode (protobufjs)`, n, () => T.decode(bytes));
  console.log(
    `${name}: ${bytes.length} bytes; encode ${(b / a).toFixed(2)}x, decode ${(d / c).toFixed(2)}x faster than protobufjs\n`,
  );
}

const header = { clusterId: 0xcdf818194e3a8c32n, memberId: 0x8e9e05c52164694dn, revision: 123456, raftTerm: 3 };
const kv = (i: number) => ({
  key: Buffer.from(`key-${i}`),
  value: Buffer.alloc(256, 1),
  createRevision: 1000 + i,
  modRevision: 2000 + i,
  version: 3,
});

bench(
  'PutRequest(8B key, 256B value)',
  etcdserverpb.PutRequest,
  { key: Buffer.from('key-0001'), value: Buffer.alloc(256, 7) },
  300_000,
);
bench('PutResponse', etcdserverpb.PutResponse, { header }, 300_000);
bench('RangeRequest', etcdserverpb.RangeRequest, { key: Buffer.from('key-0001') }, 300_000);
bench('RangeResponse(1 kv)', etcdserverpb.RangeResponse, { header, kvs: [kv(1)], count: 1 }, 300_000);
bench(
  'RangeResponse(100 kvs)',
  etcdserverpb.RangeResponse,
  { header, kvs: Array.from({ length: 100 }, (_, i) => kv(i)), count: 100 },
  10_000,
);
bench(
  'TxnRequest(1 compare, 1 put)',
  etcdserverpb.TxnRequest,
  {
    compare: [{ key: Buffer.from('k'), target: 1, result: 0, createRevision: 0 }],
    success: [{ requestPut: { key: Buffer.from('k'), value: Buffer.alloc(64) } }],
  },
  300_000,
);
bench(
  'WatchResponse(10 events)',
  etcdserverpb.WatchResponse,
  {
    header,
    watchId: 1,
    events: Array.from({ length: 10 }, (_, i) => ({ type: mvccpb.Event_EventType.PUT, kv: kv(i) })),
  },
  50_000,
);
