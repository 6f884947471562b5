// The HPACK bomb: a ~144 KB header block that references one 4,000-octet dynamic-table entry 140,000
// times (560 MB decoded). It used to kill the member on the HTTP path (RangeError joining repeated
// headers) and was accepted on the gRPC path. Now the request gets 431 (RFC 9113 §10.5.1) within the
// advertised SETTINGS_MAX_HEADER_LIST_SIZE, the connection stays usable (the HPACK tables stay in
// step), memory stays flat and other clients are answered meanwhile.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Flag, FrameType, HpackDecoder, Setting } from '@conclave/h2';
import {
  type ProbeReport,
  CLIENT_START,
  frame,
  MODES,
  probe,
  PROBE_BOUND_MS,
  RSS_BOUND_MIB,
  RawH2,
  requestHeaders,
  suiteTarget,
} from './harness.js';

function hpackInt(prefix: number, mask: number, n: number): number[] {
  if (n < mask) return [prefix | n];
  const out = [prefix | mask];
  n -= mask;
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A header block of literals without indexing: it leaves the server's dynamic table as it is. */
function plainBlock(headers: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const [n, v] = [Buffer.from(headers[i]!), Buffer.from(headers[i + 1]!)];
    parts.push(Buffer.from([0x00, ...hpackInt(0, 0x7f, n.length)]), n, Buffer.from(hpackInt(0, 0x7f, v.length)), v);
  }
  return Buffer.concat(parts);
}

/** Literal with incremental indexing (new name) of `value`, then `refs` references to it (index 62). */
function bombBlock(head: Buffer, refs: number): Buffer {
  const value = 'v'.repeat(4000);
  const literal = Buffer.concat([
    Buffer.from([0x40, ...hpackInt(0, 0x7f, 5)]),
    Buffer.from('x-big'),
    Buffer.from(hpackInt(0, 0x7f, value.length)),
    Buffer.from(value),
  ]);
  return Buffer.concat([head, literal, Buffer.alloc(refs, 0x80 | 62)]);
}

/** HEADERS + CONTINUATION frames carrying `block`. */
function headerFrames(sid: number, block: Buffer, endStream: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < block.length; off += 16_384) {
    const chunk = block.subarray(off, off + 16_384);
    const last = off + 16_384 >= block.length;
    const first = off === 0;
    parts.push(
      frame(
        first ? FrameType.HEADERS : FrameType.CONTINUATION,
        (first && endStream ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0),
        sid,
        chunk,
      ),
    );
  }
  return Buffer.concat(parts);
}

for (const mode of MODES) {
  describe(`HPACK bomb (${mode})`, () => {
    const t = suiteTarget(mode);

    for (const [what, path, ct] of [
      ['HTTP (/health)', '/health', 'text/plain'],
      ['gRPC', '/etcdserverpb.KV/Range', 'application/grpc'],
    ] as const) {
      test(`${what}: 431, the connection stays usable, memory and other clients unaffected`, async () => {
        const rss0 = t.rssMiB();
        const p = await probe(t);
        const c = await RawH2.connect(t);
        const dec = new HpackDecoder();
        let report: ProbeReport;
        try {
          c.write(CLIENT_START);
          assert.equal((await c.serverSettings()).get(Setting.MAX_HEADER_LIST_SIZE), 64 * 1024);

          for (let i = 0; i < 5; i++) {
            const sid = 1 + 2 * i;
            c.write(headerFrames(sid, bombBlock(plainBlock(requestHeaders(path, ct)), 140_000), true));
            const res = await c.until((f) => f.type === FrameType.HEADERS && f.sid === sid);
            assert.ok(res, `an answer on stream ${sid}: ${c.describe()}`);
            assert.deepEqual(dec.decode(res.payload).slice(0, 2), [':status', '431']);
          }
          // The tables are in step: a normal request on the same connection is answered.
          const version = plainBlock([':method', 'GET', ':scheme', 'http', ':path', '/version', ':authority', 'x']);
          c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 11, version));
          const ok = await c.until((f) => f.type === FrameType.HEADERS && f.sid === 11);
          assert.deepEqual(dec.decode(ok!.payload).slice(0, 2), [':status', '200']);
        } finally {
          c.close();
          report = await p.stop();
        }
        assert.ok(t.alive(), 'the member lives');
        assert.deepEqual(report.failures, []);
        assert.ok(
          report.maxMs < PROBE_BOUND_MS,
          `probe answered within ${PROBE_BOUND_MS} ms (slowest ${report.maxMs} ms)`,
        );
        assert.ok(t.rssMiB() - rss0 < RSS_BOUND_MIB, `RSS grew ${t.rssMiB() - rss0} MiB`);
      });
    }
  });
}
