import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcCode } from '@conclave/api';
import type { H2Output, SendingStream } from '@conclave/h2';
import { BidiStream } from './h2-stream.js';
import type { CallStatus } from './transport.js';

const HEAD = [':status', '200', 'content-type', 'application/grpc'];
const OK_TRAILERS = ['grpc-status', '0'];

function frame(msg: Buffer): Buffer {
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  msg.copy(b, 5);
  return b;
}

function stream(): { s: BidiStream; got: Buffer[]; ends: CallStatus[] } {
  const got: Buffer[] = [];
  const ends: CallStatus[] = [];
  const s = new BidiStream([], { onMessage: (m) => got.push(Buffer.from(m)), onEnd: (st) => ends.push(st) });
  s.onFields(HEAD, false);
  return { s, got, ends };
}

test('response messages are parsed whatever the DATA frame boundaries', () => {
  const msgs = [
    Buffer.from('a'),
    Buffer.alloc(0),
    Buffer.alloc(70_000, 7),
    Buffer.from('hello world'),
    Buffer.alloc(3, 1),
  ];
  const wire = Buffer.concat(msgs.map(frame));
  // every single split point, and splits into three parts around the prefixes
  const cuts: number[][] = [];
  for (let i = 0; i <= wire.length; i += i < 40 || i > wire.length - 40 ? 1 : 997) cuts.push([i]);
  for (let i = 0; i < 12; i++) for (let j = i; j < 12; j++) cuts.push([i, j]);
  cuts.push([6, 7, 8, 9, 10, 11, 12, 13, 14, 60_000, 70_010]);
  for (const cut of cuts) {
    const { s, got, ends } = stream();
    let prev = 0;
    for (const c of [...cut, wire.length]) {
      s.onData(wire.subarray(prev, c));
      prev = c;
    }
    assert.equal(got.length, msgs.length, `cut at ${cut.join(',')}`);
    got.forEach((m, i) => assert.ok(m.equals(msgs[i]!), `message ${i}, cut at ${cut.join(',')}`));
    assert.equal(s.onFields(OK_TRAILERS, true), true);
    assert.deepEqual(
      ends.map((e) => e.code),
      [GrpcCode.OK],
    );
  }
});

test('trailers after a partial message, compressed messages, malformed trailers', () => {
  let t = stream();
  t.s.onData(frame(Buffer.from('abcdef')).subarray(0, 7));
  t.s.onFields(OK_TRAILERS, true);
  assert.equal(t.ends[0]!.code, GrpcCode.INTERNAL);
  assert.match(t.ends[0]!.details, /truncated/);

  t = stream();
  const c = frame(Buffer.from('x'));
  c[0] = 1;
  t.s.onData(c);
  assert.equal(t.ends[0]!.code, GrpcCode.INTERNAL);
  assert.match(t.ends[0]!.details, /compress/);
  t.s.onData(frame(Buffer.from('y')));
  assert.equal(t.got.length, 0);

  t = stream();
  assert.equal(t.s.onFields(['grpc-status', '0'], false), true);
  assert.equal(t.ends[0]!.details, 'Received malformed trailers');

  // trailers-only response: the status, no message
  const ends: CallStatus[] = [];
  const s = new BidiStream([], { onMessage: () => assert.fail(), onEnd: (st) => ends.push(st) });
  assert.equal(s.onFields([':status', '200', 'grpc-status', '16', 'grpc-message', 'bad%20token'], true), true);
  assert.deepEqual([ends[0]!.code, ends[0]!.details], [GrpcCode.UNAUTHENTICATED, 'bad token']);
});

test('writes go out as the windows allow; half-close follows the last message', () => {
  const frames: { len: number; end: boolean }[] = [];
  const out = {
    sendWindow: 10,
    data(s: SendingStream, data: Buffer, off: number, end: boolean): number {
      const want = data.length - off;
      const n = Math.max(0, Math.min(want, s.sendWindow, this.sendWindow));
      if (n === 0) {
        if (want === 0 && end) frames.push({ len: 0, end: true });
        return 0;
      }
      frames.push({ len: n, end: end && n === want });
      s.sendWindow -= n;
      this.sendWindow -= n;
      return n;
    },
  };
  const { s } = stream();
  s.sendWindow = 100;
  s.write(Buffer.alloc(4));
  s.write(Buffer.alloc(4));
  s.end();
  s.write(Buffer.alloc(4)); // after end(): ignored
  const o = out as unknown as H2Output;
  assert.equal(s.pump(o), false);
  assert.deepEqual(frames, [
    { len: 9, end: false },
    { len: 1, end: false },
  ]);
  out.sendWindow = 100;
  assert.equal(s.pump(o), true);
  assert.deepEqual(frames.slice(2), [{ len: 8, end: true }]);
  assert.equal(s.pump(o), true);
  assert.equal(frames.length, 3);
  // half-close with nothing queued: an empty DATA frame with END_STREAM
  const t = stream();
  t.s.end();
  t.s.pump(o);
  assert.deepEqual(frames.slice(3), [{ len: 0, end: true }]);
});
