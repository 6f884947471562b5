// Floods of frames that cost the member work or memory without doing anything useful, over cleartext
// and TLS: PINGs, SETTINGS, empty frames and rapid reset are rate-limited (GOAWAY ENHANCE_YOUR_CALM),
// a client that sends requests but never reads the answers is no longer read from (its output used
// to pile up: +1.1 GiB for a PING flood, +653 MiB for 7 M streams), streams beyond
// --max-concurrent-streams are refused, and a request trickled in 10-byte DATA frames is assembled in
// linear time. Meanwhile a probe client on its own connection keeps being answered.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMessage, etcdserverpb } from '@conclave/api';
import { Flag, FrameType, H2Error, Setting } from '@conclave/h2';
import {
  CLIENT_START,
  frame,
  grpcMessage,
  MODES,
  RawH2,
  requestHeaders,
  settingsFrame,
  suiteTarget,
  type Target,
  underAttack,
} from './harness.js';

/**
 * Writes `n` copies of `unit` in batches, waiting for the socket when it is full. Returns false when
 * the member stopped reading (the socket stayed full for 2 s), true when everything was written.
 */
async function flood(c: RawH2, unit: (i: number) => Buffer, n: number): Promise<boolean> {
  const batch = 1000;
  for (let i = 0; i < n && !c.closed; i += batch) {
    const parts: Buffer[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) parts.push(unit(j));
    if (!c.write(Buffer.concat(parts)) && !(await writable(c, 2000))) return false;
    // The attack shares this process with nothing that matters, but it yields now and then anyway.
    await new Promise((r) => setImmediate(r));
  }
  return true;
}

/** Resolves true when the socket drained or closed, false when it did not within `ms`. */
function writable(c: RawH2, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      c.sock.off('drain', yes);
      c.sock.off('close', yes);
      resolve(ok);
    };
    const yes = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    c.sock.once('drain', yes);
    c.sock.once('close', yes);
  });
}

/**
 * On a fresh connection: writes `start`, then `n` frames made by `unit` (given the frame's number);
 * the member must answer GOAWAY ENHANCE_YOUR_CALM.
 */
async function calmedDown(
  t: Target,
  start: (c: RawH2) => Buffer,
  unit: (c: RawH2, i: number) => Buffer,
  n: number,
): Promise<void> {
  const c = await RawH2.connect(t);
  try {
    c.write(start(c));
    await flood(c, (i) => unit(c, i), n);
    assert.equal(await c.goAwayCode(10_000), H2Error.ENHANCE_YOUR_CALM);
  } finally {
    c.close();
  }
}

const ping = (): Buffer => frame(FrameType.PING, 0, 0, Buffer.alloc(8));
const clientStart = (): Buffer => CLIENT_START;
const unknownMethod = (c: RawH2, sid: number): Buffer => c.headers(sid, requestHeaders('/nope.Nope/Nope'), true);

for (const mode of MODES) {
  describe(`floods (${mode})`, () => {
    const t = suiteTarget(mode);

    test('PING flood: GOAWAY ENHANCE_YOUR_CALM', () => underAttack(t, () => calmedDown(t, clientStart, ping, 200_000)));

    test('PING flood from a client that never reads: memory flat, the member closes the connection', async () => {
      await underAttack(t, async () => {
        const c = await RawH2.connect(t, { read: false });
        try {
          c.write(CLIENT_START);
          await flood(c, ping, 200_000);
          // Reading again, the client finds the connection closed (it was told to calm down).
          c.sock.resume();
          assert.ok(await c.closedWithin(10_000));
        } finally {
          c.close();
        }
      });
    });

    test('SETTINGS flood: GOAWAY ENHANCE_YOUR_CALM', () =>
      underAttack(t, () =>
        calmedDown(t, clientStart, () => settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65_535]]), 50_000),
      ));

    test('empty DATA frames: GOAWAY ENHANCE_YOUR_CALM', () =>
      underAttack(t, () =>
        calmedDown(
          t,
          (c) => Buffer.concat([CLIENT_START, c.headers(1, requestHeaders('/etcdserverpb.KV/Range'), false)]),
          () => frame(FrameType.DATA, 0, 1),
          50_000,
        ),
      ));

    test('1,000,000 requests from a client that never reads the answers: it is no longer read from, memory flat', async () => {
      await underAttack(t, async () => {
        const c = await RawH2.connect(t, { read: false });
        try {
          c.write(CLIENT_START);
          const all = await flood(c, (i) => unknownMethod(c, 1 + 2 * i), 1_000_000);
          assert.equal(all, false, 'the member stopped reading this client');
        } finally {
          c.close();
        }
      });
    });

    test('rapid reset on 4 connections: GOAWAY ENHANCE_YOUR_CALM on each, others still answered', async () => {
      await underAttack(t, async () => {
        const range = grpcMessage(encodeMessage(etcdserverpb.RangeRequest, { key: Buffer.from('k') }));
        const cancel = Buffer.alloc(4);
        cancel.writeUInt32BE(H2Error.CANCEL);
        const resetRequest = (c: RawH2, i: number): Buffer => {
          const sid = 1 + 2 * i;
          return Buffer.concat([
            c.headers(sid, requestHeaders('/etcdserverpb.KV/Range'), false),
            frame(FrameType.DATA, 0, sid, range),
            frame(FrameType.RST_STREAM, 0, sid, cancel),
          ]);
        };
        await Promise.all(Array.from({ length: 4 }, () => calmedDown(t, clientStart, resetRequest, 100_000)));
      });
    });

    test('a 1.9 MB request in 10-byte DATA frames is assembled in linear time', async () => {
      await underAttack(t, async () => {
        const c = await RawH2.connect(t);
        try {
          const msg = grpcMessage(
            encodeMessage(etcdserverpb.RangeRequest, {
              key: Buffer.from('k'),
              rangeEnd: Buffer.alloc(1_900_000, 0x7a),
            }),
          );
          c.write(Buffer.concat([CLIENT_START, c.headers(1, requestHeaders('/etcdserverpb.KV/Range'), false)]));
          const start = performance.now();
          await flood(
            c,
            (i) => {
              const off = i * 10;
              const last = off + 10 >= msg.length;
              return frame(FrameType.DATA, last ? Flag.END_STREAM : 0, 1, msg.subarray(off, off + 10));
            },
            Math.ceil(msg.length / 10),
          );
          const res = await c.until((f) => f.type === FrameType.HEADERS && f.sid === 1, 20_000);
          assert.ok(res, c.describe());
          const took = performance.now() - start;
          assert.ok(took < 10_000, `answered ${Math.round(took)} ms after the first frame`);
        } finally {
          c.close();
        }
      });
    });
  });
}

describe('--max-concurrent-streams', () => {
  const t = suiteTarget('cleartext', ['--max-concurrent-streams', '10']);

  test('advertised in SETTINGS; the 11th open stream is refused with REFUSED_STREAM; the 10 go on', async () => {
    const c = await RawH2.connect(t);
    try {
      c.write(CLIENT_START);
      assert.equal((await c.serverSettings()).get(Setting.MAX_CONCURRENT_STREAMS), 10);
      const req = grpcMessage(encodeMessage(etcdserverpb.RangeRequest, { key: Buffer.from('k') }));
      for (let i = 0; i < 11; i++) c.write(c.headers(1 + 2 * i, requestHeaders('/etcdserverpb.KV/Range'), false));
      assert.equal(await c.resetCode(21), H2Error.REFUSED_STREAM);
      for (let i = 0; i < 10; i++) c.write(frame(FrameType.DATA, Flag.END_STREAM, 1 + 2 * i, req));
      await c.until((f) => f.type === FrameType.HEADERS && f.sid === 19 && (f.flags & Flag.END_STREAM) !== 0);
      const answered = new Set(
        c.frames.filter((f) => f.type === FrameType.HEADERS && f.flags & Flag.END_STREAM).map((f) => f.sid),
      );
      assert.deepEqual(
        [...answered].sort((a, b) => a - b),
        [1, 3, 5, 7, 9, 11, 13, 15, 17, 19],
      );
    } finally {
      c.close();
    }
  });
});
