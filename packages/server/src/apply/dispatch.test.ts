import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestKind, type InternalRequest } from '../etcdserver/raft-request.js';
import type { Entry } from '../raft/types.js';
import { applyRequest, type ApplyTargets } from './dispatch.js';

/** Targets that accept any call and record which state was reached (the alarm checks aside). */
function recordingTargets(used: string[]): ApplyTargets {
  const any = (): unknown =>
    new Proxy(() => {}, {
      get: (_t, p) => (p === 'then' ? undefined : p === Symbol.toPrimitive ? () => 0 : any()),
      apply: () => any(),
    });
  return new Proxy({} as ApplyTargets, {
    get: (_t, p) => {
      if (p === 'capped' || p === 'corrupt') return () => false;
      if (p === 'quotaAvailable') return () => true;
      used.push(String(p));
      return any();
    },
  });
}

test('every request kind has its apply function; an unknown kind is refused', () => {
  const entry = { index: 1, term: 1 } as Entry;
  for (const [name, kind] of Object.entries(RequestKind)) {
    const used: string[] = [];
    const body =
      kind === RequestKind.MemberAttributes
        ? Buffer.from(JSON.stringify({ id: '1', name: 'm', clientURLs: [] }))
        : new Uint8Array(0);
    const req: InternalRequest = { kind, id: 1n, username: '', authRevision: 0, body };
    try {
      applyRequest(recordingTargets(used), req, entry);
    } catch (err) {
      assert.doesNotMatch(String(err), /unknown raft request kind/, name);
    }
    assert.ok(used.length > 0, `${name} reaches the state it changes`);
  }
  const unknown = { kind: 99 as RequestKind, id: 1n, username: '', authRevision: 0, body: new Uint8Array(0) };
  assert.throws(() => applyRequest(recordingTargets([]), unknown, entry), /unknown raft request kind 99/);
});
