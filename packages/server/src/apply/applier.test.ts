// Applier: refused membership changes are remembered for replays only while Raft may re-deliver them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openFixture } from '../../testing/mvcc-fixture.js';
import { Membership } from '../etcdserver/membership.js';
import { createLogger } from '../log/index.js';
import { encodeConfChange } from '../raft/codec.js';
import { ConfChangeType, type Entry, EntryType } from '../raft/types.js';
import { type Backend, META } from '../storage/backend/index.js';
import { Applier } from './applier.js';
import type { ApplyTargets } from './dispatch.js';

/** An applier over `backend` whose membership changes are recorded in `handed` (node IDs given to Raft). */
function applierOn(backend: Backend, handed: bigint[], firstLogIndex?: () => number): Applier {
  return new Applier({
    backend,
    membership: new Membership(backend),
    targets: {} as ApplyTargets,
    authorize: () => {},
    logger: createLogger({ level: 'error', write: () => {} }),
    applyConfChange: (cc) => {
      handed.push(cc.nodeId);
      return { voters: [], learners: [] };
    },
    firstLogIndex,
    initialMembers: new Map(),
  });
}

test('refused changes (MemberRemove of an unknown ID, repeated) are kept only above the first log index', async () => {
  const fx = await openFixture();
  try {
    let first = 1;
    const handed: bigint[] = [];
    const applier = applierOn(fx.backend, handed, () => first);
    const remove = (index: number): Entry => ({
      term: 1,
      index,
      type: EntryType.ConfChange,
      data: encodeConfChange({
        type: ConfChangeType.RemoveNode,
        nodeId: 99n,
        context: new Uint8Array(),
        id: BigInt(index),
      }),
    });
    const stored = (): number[] => JSON.parse(fx.backend.getMeta(META.rejectedConfChanges)!.toString('utf8'));
    for (let i = 1; i <= 50; i++) {
      const out = applier.applyEntries([remove(i)]);
      assert.equal(out.get(BigInt(i))?.ok, false);
      if (i % 10 === 0) first = i - 2; // a snapshot compacted the log below i - 2
    }
    assert.deepEqual(stored(), [38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
    applier.applyEntries([remove(51)]);
    assert.deepEqual(stored(), [48, 49, 50, 51]);
    // every refusal reached Raft as a no-op (node ID 0), and a replay of a remembered one does too
    assert.deepEqual(
      handed.filter((id) => id !== 0n),
      [],
    );
    const replay = applierOn(fx.backend, handed);
    handed.length = 0;
    replay.applyEntries([remove(49)]);
    assert.deepEqual(handed, [0n]);
  } finally {
    await fx.close();
  }
});
