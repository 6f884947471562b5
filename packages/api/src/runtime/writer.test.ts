import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, encodeMessage } from './message.js';
import { Writer } from './writer.js';
import { LeaseKeepAliveRequest, PutRequest, WatchResponse } from '../gen/etcdserverpb.js';

// Regressions for the writer's memo of recent 64-bit varints (found by the Watch and Lease work):
// its initial sentinel (-1n) made the real value -1 encode as nothing, and memoized bytes were a
// view of the reused buffer, so a later message could repeat bytes overwritten meanwhile.

test('int64 -1 encodes as ten bytes even before any other large value', () => {
  const w = new Writer(16);
  w.int64(-1);
  assert.equal(w.finish().toString('hex'), 'ffffffffffffffffff01');
  assert.equal(decodeMessage(WatchResponse, encodeMessage(WatchResponse, { watchId: -1 })).watchId, -1n);
});

test('a repeated large value encodes the same wherever it lands in the reused buffer', () => {
  const id = 3777009389621822475n;
  for (let i = 0; i < 3; i++) {
    assert.equal(
      decodeMessage(
        PutRequest,
        encodeMessage(PutRequest, { key: Buffer.from('k1'), value: Buffer.from('v'), lease: id }),
      ).lease,
      id,
    );
    assert.equal(decodeMessage(LeaseKeepAliveRequest, encodeMessage(LeaseKeepAliveRequest, { ID: id })).ID, id);
  }
});
