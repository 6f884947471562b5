import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError, ConclaveError, UnavailableError } from '@conclave/client';
import { SessionExpiredError } from './errors.js';
import { abortedError, retrying } from './async.js';

const unavailable = () => new UnavailableError({ message: 'down', code: 'Unavailable', retriable: true });

test('retrying repeats a step while it fails with a retriable error', async () => {
  let n = 0;
  const v = await retrying(async () => {
    if (++n < 3) throw unavailable();
    return 'ok';
  }, undefined);
  assert.equal(v, 'ok');
  assert.equal(n, 3);
});

test('retrying stops at a non-retriable error, at the deadline, and when the signal aborts', async () => {
  let n = 0;
  const fatal = new ConclaveError({ message: 'no', code: 'X', retriable: false });
  await assert.rejects(
    retrying(async () => {
      n++;
      throw fatal;
    }, undefined),
    (e: unknown) => e === fatal,
  );
  assert.equal(n, 1);
  const t0 = performance.now();
  await assert.rejects(
    retrying(async () => Promise.reject(unavailable()), undefined, 150),
    UnavailableError,
  );
  assert.ok(performance.now() - t0 < 1500);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(
    retrying(async () => Promise.reject(unavailable()), ac.signal),
    AbortedError,
  );
});

test('an abort whose reason is a ConclaveError (a session loss) surfaces as that error', () => {
  const ac = new AbortController();
  const lost = new SessionExpiredError(1n, 'expired');
  ac.abort(lost);
  assert.equal(abortedError(ac.signal), lost);
  const plain = new AbortController();
  plain.abort('bye');
  const e = abortedError(plain.signal);
  assert.ok(e instanceof AbortedError && e.cause === 'bye');
});
