// Connection errors of RFC 9113 §3.4, §4–6 and RFC 7541, each arriving in the first read of a fresh
// connection (preface, SETTINGS and the bad frame in one write: the case that crashed the member), on
// a cleartext and a TLS client URL. Each must get GOAWAY with the RFC's error code, and the member
// must go on serving.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { Flag, FrameType, H2Error, PREFACE, Setting } from '@conclave/h2';
import { CLIENT_START, frame, MODES, RawH2, requestHeaders, settingsFrame, suiteTarget } from './harness.js';

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const F = FrameType;
const EH = Flag.END_HEADERS;

/** A valid header block for stream `sid` (a fresh encoder: the first block of the connection). */
const block = (c: RawH2): Buffer => c.encoder.encode(requestHeaders('/etcdserverpb.KV/Range'));
/** HEADERS opening stream 1 with a valid block (`flags`), then the frames `then`. */
const opened = (c: RawH2, flags: number, ...then: Buffer[]): Buffer =>
  Buffer.concat([frame(F.HEADERS, flags, 1, block(c)), ...then]);
/** A whole request's header block on stream 1 made of these bytes. */
const headerBlock = (...bytes: number[]): Buffer => frame(F.HEADERS, EH | Flag.END_STREAM, 1, Buffer.from(bytes));

/**
 * The error code the member must answer with, the case, and the bytes sent after the preface and the
 * client's SETTINGS (with RAW: the whole first write).
 */
type Case = [code: H2Error, name: string, bytes: (c: RawH2) => Buffer, raw?: typeof RAW];
const RAW = 'raw';
const {
  PROTOCOL_ERROR: PROTOCOL,
  FRAME_SIZE_ERROR: FRAME_SIZE,
  FLOW_CONTROL_ERROR: FLOW_CONTROL,
  COMPRESSION_ERROR: COMPRESSION,
  ENHANCE_YOUR_CALM: CALM,
} = H2Error;

const CASES: Case[] = [
  [PROTOCOL, '§3.4 bad connection preface', () => Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'), RAW],
  [
    PROTOCOL,
    '§3.4 first frame is not SETTINGS',
    () => Buffer.concat([PREFACE, frame(F.PING, 0, 0, Buffer.alloc(8))]),
    RAW,
  ],
  [
    FRAME_SIZE,
    '§4.2 frame longer than SETTINGS_MAX_FRAME_SIZE (16 MiB length)',
    () => Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]),
  ],
  [COMPRESSION, '§4.3 header block with HPACK index 0', () => headerBlock(0x80)],
  [COMPRESSION, '§4.3 header block indexing beyond the dynamic table', () => headerBlock(0xbe)],
  [
    COMPRESSION,
    'RFC 7541 §6.3 table size update above SETTINGS_HEADER_TABLE_SIZE',
    () => headerBlock(0x3f, 0xe2, 0x1f),
  ],
  [
    COMPRESSION,
    'RFC 7541 §5.2 Huffman string with EOS',
    () => headerBlock(0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61),
  ],
  [COMPRESSION, 'RFC 7541 §5.1 integer overflow', () => headerBlock(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)],
  [
    PROTOCOL,
    '§4.3 header block interrupted by another frame',
    (c) => opened(c, 0, frame(F.PING, 0, 0, Buffer.alloc(8))),
  ],
  [PROTOCOL, '§6.10 CONTINUATION on another stream', (c) => opened(c, 0, frame(F.CONTINUATION, EH, 3))],
  [PROTOCOL, '§6.10 CONTINUATION without HEADERS', () => frame(F.CONTINUATION, EH, 1, Buffer.from([0x82]))],
  [
    CALM,
    '§6.10 flood of empty CONTINUATION frames',
    (c) => opened(c, 0, ...Array.from({ length: 2000 }, () => frame(F.CONTINUATION, 0, 1))),
  ],
  [PROTOCOL, '§6.1 DATA on stream 0', () => frame(F.DATA, 0, 0, Buffer.from('x'))],
  [PROTOCOL, '§5.1 DATA on an idle stream', () => frame(F.DATA, 0, 1, Buffer.from('x'))],
  [
    PROTOCOL,
    '§6.1 DATA padding longer than the payload',
    (c) => opened(c, EH, frame(F.DATA, Flag.PADDED, 1, Buffer.from([5, 0]))),
  ],
  [PROTOCOL, '§6.2 HEADERS on stream 0', (c) => frame(F.HEADERS, EH, 0, block(c))],
  [PROTOCOL, '§5.1.1 HEADERS on an even stream', (c) => frame(F.HEADERS, EH, 2, block(c))],
  [
    PROTOCOL,
    '§6.2 HEADERS padding longer than the payload',
    () => frame(F.HEADERS, EH | Flag.PADDED, 1, Buffer.from([10, 0x82])),
  ],
  [PROTOCOL, '§6.3 PRIORITY on stream 0', () => frame(F.PRIORITY, 0, 0, Buffer.alloc(5))],
  [PROTOCOL, '§6.4 RST_STREAM on stream 0', () => frame(F.RST_STREAM, 0, 0, u32(0))],
  [FRAME_SIZE, '§6.4 RST_STREAM of 3 octets', (c) => opened(c, EH, frame(F.RST_STREAM, 0, 1, Buffer.alloc(3)))],
  [PROTOCOL, '§6.4 RST_STREAM on an idle stream', () => frame(F.RST_STREAM, 0, 5, u32(8))],
  [PROTOCOL, '§6.5 SETTINGS on a stream', () => frame(F.SETTINGS, 0, 1)],
  [FRAME_SIZE, '§6.5 SETTINGS of 5 octets', () => frame(F.SETTINGS, 0, 0, Buffer.alloc(5))],
  [FRAME_SIZE, '§6.5 SETTINGS ACK with a payload', () => frame(F.SETTINGS, Flag.ACK, 0, Buffer.alloc(6))],
  [PROTOCOL, '§6.5.2 ENABLE_PUSH of 2', () => settingsFrame([[Setting.ENABLE_PUSH, 2]])],
  [
    FLOW_CONTROL,
    '§6.5.2 INITIAL_WINDOW_SIZE above 2^31-1',
    () => settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]),
  ],
  [PROTOCOL, '§6.5.2 MAX_FRAME_SIZE below 16384', () => settingsFrame([[Setting.MAX_FRAME_SIZE, 100]])],
  [PROTOCOL, '§6.5.2 MAX_FRAME_SIZE above 2^24-1', () => settingsFrame([[Setting.MAX_FRAME_SIZE, 2 ** 24]])],
  [PROTOCOL, '§6.7 PING on a stream', () => frame(F.PING, 0, 1, Buffer.alloc(8))],
  [FRAME_SIZE, '§6.7 PING of 7 octets', () => frame(F.PING, 0, 0, Buffer.alloc(7))],
  [PROTOCOL, '§6.8 GOAWAY on a stream', () => frame(F.GOAWAY, 0, 1, Buffer.alloc(8))],
  [FRAME_SIZE, '§6.9 WINDOW_UPDATE of 3 octets', () => frame(F.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))],
  [PROTOCOL, '§6.9 WINDOW_UPDATE of 0 on the connection', () => frame(F.WINDOW_UPDATE, 0, 0, u32(0))],
  [FLOW_CONTROL, '§6.9.1 connection window above 2^31-1', () => frame(F.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))],
  [PROTOCOL, '§5.1 WINDOW_UPDATE on an idle stream', () => frame(F.WINDOW_UPDATE, 0, 7, u32(10))],
  [PROTOCOL, '§8.4 PUSH_PROMISE from a client', () => frame(F.PUSH_PROMISE, EH, 1, Buffer.alloc(4))],
];

for (const mode of MODES) {
  describe(`connection errors in the first read (${mode})`, () => {
    const t = suiteTarget(mode);

    for (const [code, name, bytes, raw] of CASES) {
      test(`${name} → GOAWAY ${H2Error[code]}`, async () => {
        const c = await RawH2.connect(t);
        try {
          const body = bytes(c);
          c.write(raw ? body : Buffer.concat([CLIENT_START, body]));
          assert.equal(await c.goAwayCode(), code, `frames received: ${c.describe()}`);
          assert.ok(await c.closedWithin(3000), 'the server closes the connection after GOAWAY');
        } finally {
          c.close();
        }
        assert.ok(t.alive(), 'the member process lives');
      });
    }

    test('the member still serves', async () => {
      const cl = t.client();
      try {
        await cl.unary(etcdserverpb.KVService.Put, { key: Buffer.from('after'), value: Buffer.from('ok') });
        const r = await cl.unary(etcdserverpb.KVService.Range, { key: Buffer.from('after') });
        assert.equal(Buffer.from(r.kvs[0]!.value).toString(), 'ok');
      } finally {
        cl.close();
      }
    });
  });
}
