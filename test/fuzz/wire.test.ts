// Fuzzing what a member reads off the network (issue 13): the HTTP/2 frame parser and connection
// (with gRPC calls behind it, so gRPC message framing too), the HPACK decoder, the protobuf decoders
// of the requests a client sends, and the gateway's JSON stream reader. Inputs are random bytes and
// mutations of valid ones. Each parser may refuse its input only with its own error (HpackError,
// DecodeError, JsonDecodeError, a gRPC status); the connection must never let anything escape
// (nor report an internal error): a protocol error ends it with GOAWAY.
//
// Seeded and replayable: the seed is printed; FUZZ_SEED=<seed> replays a run (fast-check also prints
// the seed and path of a failure), FUZZ_RUNS sets the cases per target (default 1500, about a second
// each; `npm run fuzz` runs 100,000).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DecodeError,
  decodeFirstValue,
  decodeMessage,
  encodeMessage,
  etcdserverpb,
  GrpcStatusError,
  JsonDecodeError,
  type MessageCodec,
} from '@conclave/api';
import { Flag, FrameType, HpackDecoder, HpackEncoder, HpackError, PREFACE } from '@conclave/h2';
import { JsonStreamSplitter } from '../../packages/server/src/http/gateway.js';
import { H2Connection } from '../../packages/server/src/grpc/h2/connection.js';
import { GrpcCall } from '../../packages/server/src/grpc/grpc-call.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = process.env.FUZZ_SEED === undefined ? Date.now() ^ (process.pid << 8) : Number(process.env.FUZZ_SEED);
console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${RUNS} runs per target`);
const params = (offset: number): fc.Parameters<unknown> => ({ seed: SEED + offset, numRuns: RUNS });

/** Bytes: random, or a valid input with a few bytes flipped, cut or spliced. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const flip = fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
    .map(([b, edits]) => {
      const out = Uint8Array.from(b);
      for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
      return out;
    });
  const cut = fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, b.length === 0 ? 0 : n % b.length));
  const splice = fc.tuple(valid, fc.uint8Array({ maxLength: 16 }), fc.nat()).map(([b, extra, at]) => {
    const i = b.length === 0 ? 0 : at % b.length;
    return Uint8Array.from([...b.subarray(0, i), ...extra, ...b.subarray(i)]);
  });
  return fc.oneof(fc.uint8Array({ maxLength: 256 }), flip, cut, splice, valid);
}

// ---- HPACK ----

const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const headerList = fc.array(
  fc.tuple(fc.oneof(headerName, fc.constantFrom(':path', ':method', 'content-type')), fc.string({ maxLength: 40 })),
  {
    maxLength: 12,
  },
);

test('HPACK: any header block decodes or throws HpackError; valid blocks round-trip', () => {
  const encoded = headerList.map((list) => new HpackEncoder().encode(list.flat()));
  fc.assert(
    fc.property(fc.array(mutated(encoded), { minLength: 1, maxLength: 4 }), (blocks) => {
      // One decoder across blocks, as on a connection: the dynamic table carries over.
      const d = new HpackDecoder();
      for (const block of blocks) {
        try {
          const out = d.decode(block, 64 << 10);
          assert.ok(Array.isArray(out) && out.length % 2 === 0);
          for (const s of out) assert.equal(typeof s, 'string');
        } catch (e) {
          if (!(e instanceof HpackError)) throw e;
          return; // a connection ends at its first COMPRESSION_ERROR
        }
      }
    }),
    params(1),
  );
  fc.assert(
    fc.property(fc.array(headerList, { minLength: 1, maxLength: 4 }), (lists) => {
      const enc = new HpackEncoder();
      const dec = new HpackDecoder();
      for (const list of lists) assert.deepEqual(dec.decode(enc.encode(list.flat())), list.flat());
    }),
    params(2),
  );
});

// ---- protobuf ----

const CODECS: Array<[string, MessageCodec<unknown>, fc.Arbitrary<Record<string, unknown>>]> = [
  [
    'RangeRequest',
    etcdserverpb.RangeRequest as MessageCodec<unknown>,
    fc.record({ key: fc.uint8Array({ maxLength: 8 }), limit: fc.bigInt(0n, 1000n), revision: fc.bigInt(-5n, 100n) }),
  ],
  [
    'PutRequest',
    etcdserverpb.PutRequest as MessageCodec<unknown>,
    fc.record({ key: fc.uint8Array({ maxLength: 8 }), value: fc.uint8Array({ maxLength: 32 }), prevKv: fc.boolean() }),
  ],
  [
    'TxnRequest',
    etcdserverpb.TxnRequest as MessageCodec<unknown>,
    fc.record({
      compare: fc.array(fc.record({ key: fc.uint8Array({ maxLength: 4 }), version: fc.bigInt(0n, 9n) }), {
        maxLength: 2,
      }),
      success: fc.array(fc.record({ requestPut: fc.record({ key: fc.uint8Array({ maxLength: 4 }) }) }), {
        maxLength: 2,
      }),
      failure: fc.array(
        fc.record({ requestTxn: fc.record({ success: fc.constant([{ requestRange: { key: Buffer.from('k') } }]) }) }),
        { maxLength: 2 },
      ),
    }),
  ],
  [
    'WatchRequest',
    etcdserverpb.WatchRequest as MessageCodec<unknown>,
    fc.record({
      createRequest: fc.record({
        key: fc.uint8Array({ maxLength: 8 }),
        startRevision: fc.bigInt(0n, 50n),
        filters: fc.array(fc.constantFrom(0, 1), { maxLength: 2 }),
      }),
    }),
  ],
  [
    'AuthenticateRequest',
    etcdserverpb.AuthenticateRequest as MessageCodec<unknown>,
    fc.record({ name: fc.string({ maxLength: 8 }), password: fc.string({ maxLength: 8 }) }),
  ],
];

test('protobuf: request decoders return a message or throw DecodeError', () => {
  CODECS.forEach(([name, codec, arb], i) => {
    const valid = arb.map((m) => encodeMessage(codec, m as never));
    fc.assert(
      fc.property(mutated(valid), (bytes) => {
        try {
          decodeMessage(codec, bytes);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw new Error(`${name}: ${String(e)}`);
        }
      }),
      params(10 + i),
    );
  });
  // Nesting without end: a Txn in a Txn 5,000 levels deep is refused, not a stack overflow.
  const field = (no: number, body: Buffer): Buffer => {
    const len: number[] = [];
    for (let n = body.length; ; n >>>= 7) {
      if (n < 0x80) {
        len.push(n);
        break;
      }
      len.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([Buffer.from([(no << 3) | 2, ...len]), body]);
  };
  let deep: Buffer = Buffer.alloc(0);
  // TxnRequest.success (2) holds a RequestOp whose request_txn (4) holds the next TxnRequest.
  for (let i = 0; i < 5000; i++) deep = field(2, field(4, deep));
  assert.throws(() => decodeMessage(etcdserverpb.TxnRequest, deep), DecodeError);
});

// ---- gateway JSON ----

const jsonValue = fc.json({ maxDepth: 4 });

test('gateway JSON: the stream splitter finds every object however the text is chunked; any text is read or refused', () => {
  fc.assert(
    fc.property(
      fc.array(fc.dictionary(fc.string({ maxLength: 6 }), jsonValue, { maxKeys: 4 }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (objs, cuts) => {
        const text = objs.map((o) => JSON.stringify(o)).join('\n');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const s = new JsonStreamSplitter(1 << 20);
        const got: unknown[] = [];
        let prev = 0;
        for (const c of [...at, text.length]) {
          got.push(...s.push(text.slice(prev, c)));
          prev = c;
        }
        assert.equal(got.length, objs.length);
      },
    ),
    params(20),
  );
  const textual = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc
      .array(fc.constantFrom('{', '}', '"', '\\', ':', ',', '[', ']', 'a', '1', ' ', 'null', 'true', '"k"'), {
        maxLength: 200,
      })
      .map((a) => a.join('')),
  );
  fc.assert(
    fc.property(fc.array(textual, { minLength: 1, maxLength: 4 }), (chunks) => {
      const s = new JsonStreamSplitter(4096);
      try {
        for (const c of chunks) s.push(c);
      } catch (e) {
        if (!(e instanceof JsonDecodeError || e instanceof GrpcStatusError || e instanceof SyntaxError)) throw e;
      }
      try {
        decodeFirstValue(chunks.join(''));
      } catch (e) {
        if (!(e instanceof JsonDecodeError || e instanceof SyntaxError)) throw e;
      }
    }),
    params(21),
  );
});

// ---- HTTP/2 connection + gRPC framing ----

/** Enough of a net.Socket for H2Connection: records what it writes and whether it was ended. */
class FakeSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  written: Buffer[] = [];
  ended = false;
  write(b: Buffer): boolean {
    this.written.push(b);
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.ended = true;
    this.emit('close');
    return this;
  }
}

function frame(type: number, flags: number, sid: number, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(sid >>> 0, 5);
  return Buffer.concat([h, payload]);
}

const GRPC_HEADERS = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/etcdserverpb.KV/Put',
  ':authority',
  'x',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
];

/** A frame a client could send: mostly well-formed ones on small stream ids, some of anything. */
const frameArb = fc.oneof(
  // HEADERS of a gRPC request (HPACK from a fresh encoder: static and literal fields only).
  fc
    .tuple(
      fc.integer({ min: 0, max: 7 }).map((i) => 2 * i + 1),
      fc.boolean(),
    )
    .map(([sid, end]) =>
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | (end ? Flag.END_STREAM : 0),
        sid,
        new HpackEncoder().encode(GRPC_HEADERS),
      ),
    ),
  // DATA carrying gRPC messages: a valid PutRequest, or a prefix with any flag and length.
  fc
    .tuple(
      fc.integer({ min: 0, max: 7 }).map((i) => 2 * i + 1),
      fc.boolean(),
      fc.oneof(
        fc.uint8Array({ maxLength: 8 }).map((k) => {
          const body = encodeMessage(etcdserverpb.PutRequest, { key: k, value: k });
          const p = Buffer.alloc(5);
          p.writeUInt32BE(body.length, 1);
          return Buffer.concat([p, body]);
        }),
        fc
          .tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.uint8Array({ maxLength: 32 }))
          .map(([flag, len, rest]) => {
            const p = Buffer.alloc(5);
            p[0] = flag;
            p.writeUInt32BE(len % 5000, 1);
            return Buffer.concat([p, rest]);
          }),
      ),
    )
    .map(([sid, end, payload]) => frame(FrameType.DATA, end ? Flag.END_STREAM : 0, sid, payload)),
  fc
    .tuple(
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 17 }),
      fc.uint8Array({ maxLength: 24 }),
    )
    .map(([type, flags, sid, payload]) => frame(type, flags, sid, payload)),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
);

test('HTTP/2 + gRPC framing: no frame sequence throws out of a connection or surfaces an internal error', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(frameArb, { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      async (frames, cuts) => {
        const sock = new FakeSocket();
        const errors: unknown[] = [];
        const conn = new H2Connection(sock as unknown as net.Socket, null, {
          onStream: (s) => {
            const call = new GrpcCall(s, etcdserverpb.PutRequest, etcdserverpb.PutResponse, 4096, undefined);
            call.onMessage = () => {
              call.send({});
              call.finish();
            };
          },
          onError: (e) => errors.push(e),
        });
        // The client's bytes, cut at random points into separate reads.
        const bytes = Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, new Uint8Array(0)), ...frames]);
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const c of [...at, bytes.length]) {
          sock.emit('data', bytes.subarray(prev, c));
          prev = c;
        }
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(errors, [], 'no internal error');
        conn.destroy();
      },
    ),
    { ...params(30), numRuns: Math.max(1, Math.floor(RUNS / 2)) },
  );
});
