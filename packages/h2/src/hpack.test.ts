import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
import {
  EOS,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanDecodedMax,
  huffmanEncode,
} from './huffman-table.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A block holding one indexed field; used to read the dynamic table through the public API. */
const indexed = (index: number): Buffer => (index < 127 ? Buffer.of(0x80 | index) : Buffer.of(0xff, index - 127));

/** The decoder's dynamic table, newest first, probed by indexing 62, 63, ... until one is out of range. */
function dynamicTable(d: HpackDecoder): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (let i = 62; ; i++) {
    let h: string[];
    try {
      h = d.decode(indexed(i));
    } catch (e) {
      assert.ok(e instanceof HpackError);
      return entries;
    }
    entries.push([h[0]!, h[1]!]);
  }
}

const tableSize = (t: Array<[string, string]>): number => t.reduce((n, [k, v]) => n + 32 + k.length + v.length, 0);
const pairs = (flat: string[]): Array<[string, string]> =>
  Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);

/** Deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('Huffman table: the canonical rebuild gives the RFC 7541 Appendix B codes', () => {
  assert.deepEqual([HUFFMAN_CODES[32], HUFFMAN_LENGTHS[32]], [0b010100, 6]);
  assert.deepEqual([HUFFMAN_CODES[48], HUFFMAN_LENGTHS[48]], [0b00000, 5]);
  assert.deepEqual([HUFFMAN_CODES[97], HUFFMAN_LENGTHS[97]], [0b00011, 5]);
  assert.deepEqual([HUFFMAN_CODES[EOS], HUFFMAN_LENGTHS[EOS]], [0x3fffffff, 30]);
  assert.deepEqual([HUFFMAN_CODES[0], HUFFMAN_LENGTHS[0]], [0x1ff8, 13]);
  assert.deepEqual([HUFFMAN_CODES[255], HUFFMAN_LENGTHS[255]], [0x3ffffee, 26]);
  // A complete prefix code: the Kraft sum is exactly 1.
  assert.equal(
    Array.from(HUFFMAN_LENGTHS).reduce((s, l) => s + 2 ** -l, 0),
    1,
  );
});

test('Huffman: every octet value and random strings survive encode then decode', () => {
  const rnd = prng(7);
  const samples = [Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''), ''];
  for (let i = 0; i < 300; i++)
    samples.push(
      Array.from({ length: Math.floor(rnd() * 40) }, () => String.fromCharCode(Math.floor(rnd() * 256))).join(''),
    );
  for (const s of samples) {
    const coded = huffmanEncode(s);
    const out = Buffer.alloc(huffmanDecodedMax(coded.length));
    const n = huffmanDecode(coded, 0, coded.length, out);
    assert.equal(out.toString('latin1', 0, n), s);
  }
  assert.equal(huffmanEncode('www.example.com').toString('hex'), 'f1e3c2e5f23a6ba0ab90f4ff');
});

test('RFC 7541 C.2: single literal representations', () => {
  const d1 = new HpackDecoder();
  assert.deepEqual(d1.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), [
    'custom-key',
    'custom-header',
  ]);
  assert.deepEqual(dynamicTable(d1), [['custom-key', 'custom-header']]);
  assert.equal(tableSize(dynamicTable(d1)), 55);

  const d2 = new HpackDecoder();
  assert.deepEqual(d2.decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [':path', '/sample/path']);
  assert.deepEqual(dynamicTable(d2), []);

  const d3 = new HpackDecoder();
  assert.deepEqual(d3.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), ['password', 'secret']);
  assert.deepEqual(dynamicTable(d3), []);

  const d4 = new HpackDecoder();
  assert.deepEqual(d4.decode(hex('82')), [':method', 'GET']);
  assert.deepEqual(dynamicTable(d4), []);
});

/** Per block of an RFC example: the decoded headers, then the dynamic table (newest first) and its size. */
type Expected = Array<[string[], Array<[string, string]>, number]>;
const AUTHORITY = [':authority', 'www.example.com'] as [string, string];
const REQUESTS: Expected = [
  [[':method', 'GET', ':scheme', 'http', ':path', '/', ...AUTHORITY], [AUTHORITY], 57],
  [
    [':method', 'GET', ':scheme', 'http', ':path', '/', ...AUTHORITY, 'cache-control', 'no-cache'],
    [['cache-control', 'no-cache'], AUTHORITY],
    110,
  ],
  [
    [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ...AUTHORITY, 'custom-key', 'custom-value'],
    [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], AUTHORITY],
    164,
  ],
];

function checkSequence(d: HpackDecoder, blocks: string[], expected: Expected): void {
  blocks.forEach((b, i) => {
    const [headers, table, size] = expected[i]!;
    assert.deepEqual(d.decode(hex(b)), headers, `block ${i + 1}`);
    assert.deepEqual(dynamicTable(d), table, `table after block ${i + 1}`);
    assert.equal(tableSize(table), size);
  });
}

test('RFC 7541 C.3: requests without Huffman, the dynamic table carried over', () => {
  checkSequence(
    new HpackDecoder(),
    [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ],
    REQUESTS,
  );
});

test('RFC 7541 C.4: requests with Huffman', () => {
  checkSequence(
    new HpackDecoder(),
    [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ],
    REQUESTS,
  );
});

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESPONSES: Expected = [
  [
    [':status', '302', 'cache-control', 'private', 'date', DATE1, 'location', LOCATION],
    [
      ['location', LOCATION],
      ['date', DATE1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    222,
  ],
  [
    [':status', '307', 'cache-control', 'private', 'date', DATE1, 'location', LOCATION],
    [
      [':status', '307'],
      ['location', LOCATION],
      ['date', DATE1],
      ['cache-control', 'private'],
    ],
    222,
  ],
  [
    [
      ':status',
      '200',
      'cache-control',
      'private',
      'date',
      DATE2,
      'location',
      LOCATION,
      'content-encoding',
      'gzip',
      'set-cookie',
      COOKIE,
    ],
    [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE2],
    ],
    215,
  ],
];

test('RFC 7541 C.5: responses without Huffman in a 256-octet table, with evictions', () => {
  checkSequence(
    new HpackDecoder(256),
    [
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ],
    RESPONSES,
  );
});

test('RFC 7541 C.6: responses with Huffman in a 256-octet table, with evictions', () => {
  checkSequence(
    new HpackDecoder(256),
    [
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ],
    RESPONSES,
  );
});

test('malformed blocks throw HpackError', () => {
  const bad: Array<[string, string]> = [
    ['ff', 'integer cut after a full prefix'],
    ['ff80', 'integer cut inside its continuation octets'],
    ['ff ffffffffffff7f', 'integer with too many continuation octets'],
    ['80', 'index 0'],
    ['be', 'index 62 with an empty dynamic table'],
    ['7e 00', 'literal name index beyond the dynamic table'],
    ['c0', 'index 64 (7-bit prefix) beyond the static table'],
    ['40', 'literal with a new name but no name'],
    ['40 0a 61', 'name string shorter than its length'],
    ['01 05 616263', 'value string shorter than its length'],
    ['01 82 1fff', 'Huffman padding longer than 7 bits'],
    ['01 81 ff', 'Huffman padding of exactly 8 bits'],
    ['01 81 18', 'Huffman padding not all ones'],
    ['01 84 ffffffff', 'EOS inside a Huffman string'],
    ['01 85 ffffffff 1f', 'EOS followed by more symbols'],
    ['82 20', 'table size update after a field'],
    ['3f e2 1f', 'table size update to 4097, above the 4096 we advertise'],
  ];
  for (const [h, why] of bad) assert.throws(() => new HpackDecoder().decode(hex(h)), HpackError, why);
  // The neighbours of those cases are fine.
  assert.deepEqual(new HpackDecoder().decode(hex('01 81 1f')), [':authority', 'a']);
  assert.deepEqual(new HpackDecoder().decode(hex('01 80')), [':authority', '']);
  assert.deepEqual(new HpackDecoder().decode(hex('20 3f e1 1f 82')), [':method', 'GET']);
  assert.deepEqual(new HpackDecoder().decode(hex('')), []);
  assert.throws(
    () => new HpackDecoder(256).decode(hex('3f e2 01')),
    HpackError,
    'size update to 257 above a limit of 256',
  );
});

test('decoder: an entry larger than the whole table empties it and is not added (RFC 7541 4.4)', () => {
  const d = new HpackDecoder();
  d.decode(hex('3f21 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // size 64, then a 55-octet entry
  assert.deepEqual(dynamicTable(d), [['custom-key', 'custom-header']]);
  const big = 'v'.repeat(23); // 32 + 10 + 23 = 65 octets
  assert.deepEqual(d.decode(Buffer.concat([hex('4117'), Buffer.from(big)])), [':authority', big]);
  assert.deepEqual(dynamicTable(d), []);
});

test('encoder: the hot gRPC headers cost 2 octets and 1 octet the second time', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const head = [':status', '200', 'content-type', 'application/grpc'];
  const trailers = ['grpc-status', '0'];
  for (let i = 0; i < 3; i++) {
    const h = e.encode(head);
    const t = e.encode(trailers);
    if (i > 0) {
      assert.equal(h.length, 2);
      assert.equal(t.length, 1);
    }
    assert.deepEqual(d.decode(h), head);
    assert.deepEqual(d.decode(t), trailers);
  }
  // A second value under a name keeps the first one's entry.
  assert.deepEqual(d.decode(e.encode(['grpc-status', '5'])), ['grpc-status', '5']);
  assert.equal(e.encode(trailers).length, 1);
  // Values that do not repeat stay out of the table.
  const msg = ['grpc-status', '5', 'grpc-message', 'key not found', 'content-length', '12', 'x-long', 'v'.repeat(65)];
  assert.deepEqual(d.decode(e.encode(msg)), msg);
  assert.deepEqual(dynamicTable(d), [
    ['grpc-status', '5'],
    ['grpc-status', '0'],
    ['content-type', 'application/grpc'],
  ]);
});

test('encoder: random header lists round-trip through one decoder, across table size changes', () => {
  const rnd = prng(42);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const str = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('');
  const names = [
    ':status',
    'content-type',
    'grpc-status',
    'grpc-message',
    'date',
    'content-length',
    'set-cookie',
    'authorization',
    'user-agent',
    'x-a',
    'x-b',
    'grpc-encoding',
    str(5),
    str(12),
  ];
  const values = ['', '0', '200', 'application/grpc', 'identity', 'x'.repeat(64), 'y'.repeat(65), str(3), str(20)];
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  let blocks = 0;
  for (let i = 0; i < 400; i++) {
    // A small table first, so that later growth of the tables happens after evictions.
    if (i === 0) e.setMaxTableSize(256);
    if (i === 50) e.setMaxTableSize(4096);
    if (i === 150) e.setMaxTableSize(0);
    if (i === 200) e.setMaxTableSize(4096);
    if (i === 300) {
      e.setMaxTableSize(100);
      e.setMaxTableSize(1000);
    }
    if (i === 350) e.setMaxTableSize(4096);
    const headers: string[] = [];
    for (let n = Math.floor(rnd() * 12); n > 0; n--) {
      const r = rnd();
      headers.push(
        r < 0.1 ? str(1 + Math.floor(rnd() * 10)) : pick(names),
        r < 0.7 ? pick(values) : str(Math.floor(rnd() * 100)),
      );
    }
    const block = e.encode(headers);
    if (i === 150) assert.equal(block[0], 0x20, 'size update to 0 first');
    if (i === 200) assert.deepEqual([...block.subarray(0, 3)], [0x3f, 0xe1, 0x1f], 'size update to 4096 first');
    if (i === 300)
      assert.deepEqual(
        [...block.subarray(0, 5)],
        [0x3f, 0x45, 0x3f, 0xc9, 0x07],
        'the smaller size, then the final one',
      );
    if (i > 150 && i < 200) assert.deepEqual(dynamicTable(d), []);
    assert.deepEqual(d.decode(block), headers, `block ${i}`);
    blocks++;
  }
  assert.equal(blocks, 400);
  assert.ok(dynamicTable(d).length > 10, 'the table is in use again after the size changes');
  // An unchanged size needs no update.
  e.setMaxTableSize(4096);
  assert.equal(e.encode([':status', '200'])[0], 0x88);
});

/** The complete frames in a client's bytes, after the 24-octet preface. */
function frames(bytes: Buffer): Array<{ type: number; flags: number; payload: Buffer }> {
  const out: Array<{ type: number; flags: number; payload: Buffer }> = [];
  for (let p = 24; p + 9 <= bytes.length; ) {
    const len = bytes.readUIntBE(p, 3);
    if (p + 9 + len > bytes.length) break;
    out.push({ type: bytes[p + 3]!, flags: bytes[p + 4]!, payload: bytes.subarray(p + 9, p + 9 + len) });
    p += 9 + len;
  }
  return out;
}

/** The header blocks: HEADERS fragments (minus padding and priority) joined with their CONTINUATIONs. */
function headerBlocks(bytes: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let pending: Buffer[] | null = null;
  for (const { type, flags, payload } of frames(bytes)) {
    if (type === 1) {
      let start = 0;
      let end = payload.length;
      if (flags & 0x08) {
        start = 1;
        end -= payload[0]!;
      }
      if (flags & 0x20) start += 5;
      pending = [payload.subarray(start, end)];
    } else if (type === 9 && pending) pending.push(payload);
    else continue;
    if (flags & 0x04) {
      blocks.push(Buffer.concat(pending));
      pending = null;
    }
  }
  return blocks;
}

const frame = (type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
};

test('decodes the header blocks nghttp2 (the node:http2 client) sends', async () => {
  const rnd = prng(99);
  const alnum = (n: number): string =>
    Array.from(
      { length: n },
      () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(rnd() * 62)],
    ).join('');
  const token = alnum(100);
  const requests = [
    { 'x-token': token },
    { 'x-token': token },
    { 'x-token': alnum(100), 'x-big': alnum(30000) }, // past the 16 KiB frame size: HEADERS + CONTINUATION
  ];
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let sawAll = (): void => {};
  const done = new Promise<void>((r) => (sawAll = r));
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.write(frame(4, 0, 0));
    sock.on('data', (c: Buffer) => {
      received.push(c);
      if (headerBlocks(Buffer.concat(received)).length >= requests.length) sawAll();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  // Padding too, so the frame walk has to honour PADDED.
  const client = http2.connect(`http://127.0.0.1:${port}`, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
  client.on('error', () => {});
  try {
    for (const extra of requests) {
      const req = client.request({
        ':method': 'POST',
        ':path': '/etcdserverpb.KV/Range',
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '5000m',
        authorization: 'sometoken',
        ...extra,
      });
      req.on('error', () => {});
      req.end();
    }
    await done;
  } finally {
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
  const bytes = Buffer.concat(received);
  assert.equal(bytes.subarray(0, 24).toString('latin1'), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const blocks = headerBlocks(bytes);
  const d = new HpackDecoder();
  requests.forEach((extra, i) => {
    const h = Object.fromEntries(pairs(d.decode(blocks[i]!)));
    assert.equal(h[':method'], 'POST');
    assert.equal(h[':scheme'], 'http');
    assert.equal(h[':authority'], `127.0.0.1:${port}`);
    assert.equal(h[':path'], '/etcdserverpb.KV/Range');
    assert.equal(h['content-type'], 'application/grpc');
    assert.equal(h.te, 'trailers');
    assert.equal(h['grpc-timeout'], '5000m');
    assert.equal(h.authorization, 'sometoken');
    for (const [k, v] of Object.entries(extra)) assert.equal(h[k], v, k);
  });
  // Huffman-coded literals the first time, then mostly dynamic table references (nghttp2 never
  // indexes :path and sends authorization never-indexed, so those two are literals every time).
  assert.ok(blocks[1]!.length * 3 < blocks[0]!.length, `block sizes ${blocks[0]!.length}, ${blocks[1]!.length}`);
  const seen = frames(bytes);
  assert.ok(
    seen.some((f) => f.type === 1 && f.flags & 0x08),
    'a padded HEADERS frame',
  );
  assert.ok(
    seen.some((f) => f.type === 9),
    'a CONTINUATION frame',
  );
});

test('node:http2 accepts the header blocks the encoder produces, dynamic table references included', async () => {
  const e = new HpackEncoder();
  const response = [':status', '200', 'content-type', 'application/grpc', 'grpc-status', '0'];
  const sent: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let bytes = Buffer.alloc(0);
    let answered = 0;
    sock.write(Buffer.concat([frame(4, 0, 0), frame(4, 1, 0)]));
    sock.on('data', (c: Buffer) => {
      bytes = Buffer.concat([bytes, c]);
      const blocks = headerBlocks(bytes);
      for (; answered < blocks.length; answered++) {
        const block = e.encode(response);
        sent.push(block.length);
        sock.write(frame(1, 0x05, 2 * answered + 1, block));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  client.on('error', () => {});
  try {
    for (let i = 0; i < 2; i++) {
      const req = client.request(
        { ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc' },
        { endStream: true },
      );
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        req.on('response', resolve);
        req.on('error', reject);
      });
      assert.equal(req.id, 2 * i + 1);
      assert.equal(headers[':status'], 200);
      assert.equal(headers['content-type'], 'application/grpc');
      assert.equal(headers['grpc-status'], '0');
    }
  } finally {
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
  // :status 200 is static; the second time the other two are dynamic table references.
  assert.deepEqual(sent, [34, 3]);
});

test('header-list limit: a bomb of references to a large entry is cut at the limit, the table stays in step', () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  // One literal with incremental indexing of a 4,000-octet value, then 10,000 references to it (62).
  const big = 'x'.repeat(4000);
  const literal = (name: string, value: string): Buffer => {
    const lenBytes = (n: number): number[] => (n < 127 ? [n] : [127, ...encodeRest(n - 127)]);
    const encodeRest = (n: number): number[] => {
      const out: number[] = [];
      while (n >= 128) {
        out.push((n & 0x7f) | 0x80);
        n = Math.floor(n / 128);
      }
      out.push(n);
      return out;
    };
    return Buffer.concat([
      Buffer.from([0x40, ...lenBytes(name.length)]),
      Buffer.from(name, 'latin1'),
      Buffer.from(lenBytes(value.length)),
      Buffer.from(value, 'latin1'),
    ]);
  };
  const bomb = Buffer.concat([literal('a', big), Buffer.alloc(10_000, 0x80 | 62)]);
  const out = dec.decode(bomb, 64 * 1024);
  assert.equal(dec.oversized, true);
  // Within the limit: 16 fields of 4,033 octets (RFC 9113 §6.5.2 size) fit in 64 KiB.
  assert.equal(out.length / 2, 16);
  assert.deepEqual(dynamicTable(dec), [['a', big]]);
  // The next block decodes normally and resets the flag.
  assert.deepEqual(dec.decode(enc.encode([':method', 'GET'])), [':method', 'GET']);
  assert.equal(dec.oversized, false);
  // Without a limit every field comes back.
  assert.equal(new HpackDecoder().decode(bomb.subarray(0, 4010)).length / 2, 4010 - literal('a', big).length + 1);
});
