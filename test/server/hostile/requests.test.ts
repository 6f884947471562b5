// Request bodies built to exhaust the stack or the CPU, against a running member: a Txn nested
// thousands deep (it answered UNKNOWN "Maximum call stack size exceeded"), over gRPC and the JSON
// gateway. Nesting is bounded as etcd bounds it (each level's Txn budget is what its parent left,
// etcd's checkTxnRequest): "too many operations in txn request"; deeper than the decoders go, the
// request is refused as malformed. The member serves on.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { encodeMessage, etcdserverpb, GrpcCode, type PartialMessage } from '@conclave/api';
import { CallError, callError, type RawClient } from '../../helpers/grpc.js';
import { suiteTarget } from './harness.js';

function nested(depth: number): PartialMessage<etcdserverpb.TxnRequest> {
  let t: PartialMessage<etcdserverpb.TxnRequest> = {
    success: [{ requestPut: { key: Buffer.from('deep'), value: Buffer.from('v') } }],
  };
  for (let i = 0; i < depth; i++) t = { success: [{ requestTxn: t }] };
  return t;
}

/** A Txn nested `depth` deep, encoded by hand (the generated encoder would itself run out of stack). */
function deepTxnBytes(depth: number): Buffer {
  const len = (n: number): Buffer => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  let txn = Buffer.from(encodeMessage(etcdserverpb.TxnRequest, nested(0)));
  for (let i = 0; i < depth; i++) {
    const op = Buffer.concat([Buffer.from([0x22]), len(txn.length), txn]); // RequestOp.request_txn
    txn = Buffer.concat([Buffer.from([0x12]), len(op.length), op]); // TxnRequest.success
  }
  return txn;
}

function rawTxn(c: RawClient, body: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    c.client.makeUnaryRequest(
      etcdserverpb.KVService.Txn.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      (err: grpc.ServiceError | null, res?: Buffer) =>
        err ? reject(new CallError(err.code, err.details)) : resolve(res),
    );
  });
}

describe('deeply nested requests', () => {
  const t = suiteTarget('cleartext');

  test('a Txn within the budget works; deeper ones get etcd\'s "too many operations in txn request"', async () => {
    const c = t.client();
    try {
      const ok = await c.unary(etcdserverpb.KVService.Txn, nested(100));
      assert.equal(ok.succeeded, true);
      for (const depth of [128, 300]) {
        const e = await callError(() => c.unary(etcdserverpb.KVService.Txn, nested(depth)));
        assert.equal(e.code, GrpcCode.INVALID_ARGUMENT);
        assert.equal(e.details, 'etcdserver: too many operations in txn request');
      }
      const deep = await callError(() => rawTxn(c, deepTxnBytes(5000)));
      assert.equal(deep.code, GrpcCode.INTERNAL);
      assert.equal(deep.details, 'grpc: error unmarshalling request: protobuf: exceeded maximum recursion depth');
      assert.ok(t.alive());
      const r = await c.unary(etcdserverpb.KVService.Range, { key: Buffer.from('deep') });
      assert.equal(r.kvs.length, 1);
    } finally {
      c.close();
    }
  });

  test('gateway: JSON nested beyond the reader\'s depth gets "exceeded max depth"', async () => {
    const body = `{"success":[${'{"request_txn":{"success":['.repeat(2000)}${']}}'.repeat(2000)}]}`;
    const res = await fetch(`http://${t.srv.endpoint}/v3/kv/txn`, { method: 'POST', body });
    assert.equal(res.status, 400);
    const j = (await res.json()) as { message: string; code: number };
    assert.equal(j.code, GrpcCode.INVALID_ARGUMENT);
    assert.equal(j.message, 'exceeded max depth');
  });

  test('gateway: an unterminated 16 MiB /v3/watch body is refused at the request limit, in linear time', async () => {
    const start = performance.now();
    const res = await fetch(`http://${t.srv.endpoint}/v3/watch`, {
      method: 'POST',
      body: `{"create_request":{"key":"${'a'.repeat(16 << 20)}`,
    });
    const text = await res.text();
    assert.match(text, /received message larger than max/);
    assert.ok(performance.now() - start < 10_000, `took ${Math.round(performance.now() - start)} ms`);
    assert.ok(t.alive());
  });
});
