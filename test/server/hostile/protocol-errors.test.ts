// Connection errors of RFC 9113 §3.4, §4–6 and RFC 7541, each arriving in the first read of a fresh
// connection (preface, SETTINGS and the bad frame in one write: the case that crashed the member), on
// a cleartext and a TLS client URL. Each must get GOAWAY with the RFC's error code, and the member
// must go on serving.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { Flag, FrameType, H2Error, PREFACE, Setting } from '@conclave/h2';
import {
  CLIENT_START,
  frame,
  MODES,
  RawH2,
  requestHeaders,
  settingsFrame,
  startTarget,
  type Target,
} from './harness.js';

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const HEADERS_ONLY = FrameType.HEADERS;
const EH = Flag.END_HEADERS;

/** A valid header block for stream `sid` (a fresh encoder: the first block of the connection). */
const block = (c: RawH2): Buffer => c.encoder.encode(requestHeaders('/etcdserverpb.KV/Range'));

interface Case {
  name: string;
  /** Bytes after the preface and the client's SETTINGS (or the whole first write with `raw`). */
  bytes: (c: RawH2) => Buffer;
  raw?: boolean;
  code: H2Error;
}

const CASES: Case[] = [
  {
    name: '§3.4 bad connection preface',
    raw: true,
    bytes: () => Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§3.4 first frame is not SETTINGS',
    raw: true,
    bytes: () => Buffer.concat([PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§4.2 frame longer than SETTINGS_MAX_FRAME_SIZE (16 MiB length)',
    bytes: () => Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§4.3 header block with HPACK index 0',
    bytes: () => frame(HEADERS_ONLY, EH | Flag.END_STREAM, 1, Buffer.from([0x80])),
    code: H2Error.COMPRESSION_ERROR,
  },
  {
    name: '§4.3 header block indexing beyond the dynamic table',
    bytes: () => frame(HEADERS_ONLY, EH | Flag.END_STREAM, 1, Buffer.from([0xbe])),
    code: H2Error.COMPRESSION_ERROR,
  },
  {
    name: 'RFC 7541 §6.3 table size update above SETTINGS_HEADER_TABLE_SIZE',
    bytes: () => frame(HEADERS_ONLY, EH | Flag.END_STREAM, 1, Buffer.from([0x3f, 0xe2, 0x1f])),
    code: H2Error.COMPRESSION_ERROR,
  },
  {
    name: 'RFC 7541 §5.2 Huffman string with EOS',
    bytes: () =>
      frame(HEADERS_ONLY, EH | Flag.END_STREAM, 1, Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61])),
    code: H2Error.COMPRESSION_ERROR,
  },
  {
    name: 'RFC 7541 §5.1 integer overflow',
    bytes: () =>
      frame(HEADERS_ONLY, EH | Flag.END_STREAM, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])),
    code: H2Error.COMPRESSION_ERROR,
  },
  {
    name: '§4.3 header block interrupted by another frame',
    bytes: (c) => Buffer.concat([frame(HEADERS_ONLY, 0, 1, block(c)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.10 CONTINUATION on another stream',
    bytes: (c) => Buffer.concat([frame(HEADERS_ONLY, 0, 1, block(c)), frame(FrameType.CONTINUATION, EH, 3)]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.10 CONTINUATION without HEADERS',
    bytes: () => frame(FrameType.CONTINUATION, EH, 1, Buffer.from([0x82])),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.10 flood of empty CONTINUATION frames',
    bytes: (c) =>
      Buffer.concat([
        frame(HEADERS_ONLY, 0, 1, block(c)),
        ...Array.from({ length: 2000 }, () => frame(FrameType.CONTINUATION, 0, 1)),
      ]),
    code: H2Error.ENHANCE_YOUR_CALM,
  },
  {
    name: '§6.1 DATA on stream 0',
    bytes: () => frame(FrameType.DATA, 0, 0, Buffer.from('x')),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§5.1 DATA on an idle stream',
    bytes: () => frame(FrameType.DATA, 0, 1, Buffer.from('x')),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.1 DATA padding longer than the payload',
    bytes: (c) =>
      Buffer.concat([frame(HEADERS_ONLY, EH, 1, block(c)), frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([5, 0]))]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.2 HEADERS on stream 0',
    bytes: (c) => frame(HEADERS_ONLY, EH, 0, block(c)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§5.1.1 HEADERS on an even stream',
    bytes: (c) => frame(HEADERS_ONLY, EH, 2, block(c)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.2 HEADERS padding longer than the payload',
    bytes: () => frame(HEADERS_ONLY, EH | Flag.PADDED, 1, Buffer.from([10, 0x82])),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.3 PRIORITY on stream 0',
    bytes: () => frame(FrameType.PRIORITY, 0, 0, Buffer.alloc(5)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.4 RST_STREAM on stream 0',
    bytes: () => frame(FrameType.RST_STREAM, 0, 0, u32(0)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.4 RST_STREAM of 3 octets',
    bytes: (c) =>
      Buffer.concat([frame(HEADERS_ONLY, EH, 1, block(c)), frame(FrameType.RST_STREAM, 0, 1, Buffer.alloc(3))]),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§6.4 RST_STREAM on an idle stream',
    bytes: () => frame(FrameType.RST_STREAM, 0, 5, u32(8)),
    code: H2Error.PROTOCOL_ERROR,
  },
  { name: '§6.5 SETTINGS on a stream', bytes: () => frame(FrameType.SETTINGS, 0, 1), code: H2Error.PROTOCOL_ERROR },
  {
    name: '§6.5 SETTINGS of 5 octets',
    bytes: () => frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§6.5 SETTINGS ACK with a payload',
    bytes: () => frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6)),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§6.5.2 ENABLE_PUSH of 2',
    bytes: () => settingsFrame([[Setting.ENABLE_PUSH, 2]]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.5.2 INITIAL_WINDOW_SIZE above 2^31-1',
    bytes: () => settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]),
    code: H2Error.FLOW_CONTROL_ERROR,
  },
  {
    name: '§6.5.2 MAX_FRAME_SIZE below 16384',
    bytes: () => settingsFrame([[Setting.MAX_FRAME_SIZE, 100]]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.5.2 MAX_FRAME_SIZE above 2^24-1',
    bytes: () => settingsFrame([[Setting.MAX_FRAME_SIZE, 2 ** 24]]),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.7 PING on a stream',
    bytes: () => frame(FrameType.PING, 0, 1, Buffer.alloc(8)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.7 PING of 7 octets',
    bytes: () => frame(FrameType.PING, 0, 0, Buffer.alloc(7)),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§6.8 GOAWAY on a stream',
    bytes: () => frame(FrameType.GOAWAY, 0, 1, Buffer.alloc(8)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.9 WINDOW_UPDATE of 3 octets',
    bytes: () => frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(3)),
    code: H2Error.FRAME_SIZE_ERROR,
  },
  {
    name: '§6.9 WINDOW_UPDATE of 0 on the connection',
    bytes: () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§6.9.1 connection window above 2^31-1',
    bytes: () => frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)),
    code: H2Error.FLOW_CONTROL_ERROR,
  },
  {
    name: '§5.1 WINDOW_UPDATE on an idle stream',
    bytes: () => frame(FrameType.WINDOW_UPDATE, 0, 7, u32(10)),
    code: H2Error.PROTOCOL_ERROR,
  },
  {
    name: '§8.4 PUSH_PROMISE from a client',
    bytes: () => frame(FrameType.PUSH_PROMISE, EH, 1, Buffer.alloc(4)),
    code: H2Error.PROTOCOL_ERROR,
  },
];

for (const mode of MODES) {
  describe(`connection errors in the first read (${mode})`, () => {
    let t: Target;
    before(async () => {
      t = await startTarget(mode);
    });
    after(() => t?.stop());

    for (const k of CASES) {
      test(`${k.name} → GOAWAY ${H2Error[k.code]}`, async () => {
        const c = await RawH2.connect(t);
        try {
          const body = k.bytes(c);
          c.write(k.raw ? body : Buffer.concat([CLIENT_START, body]));
          assert.equal(await c.goAwayCode(), k.code, `frames received: ${c.describe()}`);
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
