import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeMessage,
} from './codec.js';
import { ConfChangeType, EntryType, MessageType, message } from './types.js';

test('entry round-trips with large indexes and payloads', () => {
  const e = { term: 2 ** 40 + 3, index: 2 ** 52 + 1, type: EntryType.ConfChange, data: new Uint8Array([1, 2, 3, 250]) };
  assert.deepEqual(decodeEntry(encodeEntry(e)), e);
});

test('hard state round-trips a uint64 vote', () => {
  const hs = { term: 7, vote: 0xfedcba9876543210n, commit: 123456789 };
  assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
});

test('message round-trips entries, snapshot and context', () => {
  const m = message({
    type: MessageType.App,
    to: 1n,
    from: 0xffffffffffffffffn,
    term: 5,
    logTerm: 4,
    index: 99,
    commit: 98,
    reject: true,
    rejectHint: 97,
    entries: [{ term: 5, index: 100, type: EntryType.Normal, data: new Uint8Array([9]) }],
    snapshot: {
      metadata: { index: 50, term: 3, confState: { voters: [1n, 2n], learners: [3n] } },
      data: new Uint8Array([7, 7]),
    },
    context: new Uint8Array([4, 2]),
  });
  assert.deepEqual(decodeMessage(encodeMessage(m)), m);
});

test('conf change round-trips', () => {
  const cc = { type: ConfChangeType.AddLearnerNode, nodeId: 42n, id: 2n ** 63n, context: new Uint8Array([1]) };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
});

test('truncated input throws RangeError', () => {
  const b = encodeHardState({ term: 1, vote: 2n, commit: 3 });
  assert.throws(() => decodeHardState(b.subarray(0, b.length - 1)), RangeError);
});
