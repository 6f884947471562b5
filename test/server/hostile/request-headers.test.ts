// Malformed requests (RFC 9113 §8.2–8.3): uppercase or invalid field names, bad values,
// connection-specific fields, TE other than "trailers", unknown, repeated or late pseudo-headers,
// missing or empty :path, pseudo-headers in trailers. Each gets RST_STREAM PROTOCOL_ERROR on its
// stream (a stream error, §8.1.1), no handler runs, and the connection goes on: a valid request after
// it is answered. The cases etcd 3.4 (grpc-go's HTTP/2 server) refuses the same way run against it
// too; it ignores the others (no answer within 5 s to connection-specific fields, TE: gzip, a value
// with leading whitespace, a missing :method or :scheme; an answer despite a missing or empty
// :path), where Conclave follows the RFC.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Flag, FrameType, H2Error } from '@conclave/h2';
import { startServer } from '../../helpers/process.js';
import { CLIENT_START, frame, RawH2, requestHeaders, startTarget, type Target } from './harness.js';

const PATH = '/etcdserverpb.KV/Range';
const base = requestHeaders(PATH);
/** The base request with `name` set to `value` (replaced where present, else appended). */
const withField = (name: string, value: string): string[] => {
  const out = [...base];
  const i = out.findIndex((v, j) => j % 2 === 0 && v === name);
  if (i >= 0) out[i + 1] = value;
  else out.push(name, value);
  return out;
};
const without = (name: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i < base.length; i += 2) if (base[i] !== name) out.push(base[i]!, base[i + 1]!);
  return out;
};

const CASES: Array<[string, string[], boolean]> = [
  ['uppercase field name', withField('X-Upper', '1'), true],
  ['field name with a space', withField('bad name', '1'), true],
  ['field value with a line feed', withField('x-v', 'a\nb'), true],
  ['field value with leading whitespace', withField('x-v', ' a'), false],
  ['connection: keep-alive', withField('connection', 'keep-alive'), false],
  ['transfer-encoding: chunked', withField('transfer-encoding', 'chunked'), false],
  ['upgrade: h2c', withField('upgrade', 'h2c'), false],
  ['keep-alive', withField('keep-alive', '5'), false],
  ['proxy-connection', withField('proxy-connection', 'keep-alive'), false],
  ['te: gzip', withField('te', 'gzip'), false],
  ['unknown pseudo-header :foo', [':foo', 'x', ...base], true],
  ['response pseudo-header :status', [':status', '200', ...base], true],
  ['pseudo-header after a regular field', [...base, ':authority', 'late'], true],
  ['repeated :path', [':path', PATH, ...base], true],
  ['repeated :method', [':method', 'POST', ...base], true],
  ['missing :method', without(':method'), false],
  ['missing :scheme', without(':scheme'), false],
  ['missing :path', without(':path'), false],
  ['empty :path', withField(':path', ''), false],
];

/** Range request body (an empty RangeRequest: key "" is refused by the server, but it answers). */
const EMPTY_MESSAGE = Buffer.from([0, 0, 0, 0, 0]);

async function check(t: Target, headers: string[]): Promise<void> {
  const c = await RawH2.connect(t);
  try {
    c.write(Buffer.concat([CLIENT_START, frame(FrameType.SETTINGS, Flag.ACK, 0), c.headers(1, headers, true)]));
    assert.equal(await c.resetCode(1), H2Error.PROTOCOL_ERROR, `frames received: ${c.describe()}`);
    // The connection is still good: a valid request on the next stream gets its response headers.
    c.write(Buffer.concat([c.headers(3, base, false), frame(FrameType.DATA, Flag.END_STREAM, 3, EMPTY_MESSAGE)]));
    const answer = await c.until((f) => f.sid === 3 && f.type === FrameType.HEADERS);
    assert.ok(answer, `stream 3 answered; frames received: ${c.describe()}`);
    assert.equal(c.frames.filter((f) => f.type === FrameType.GOAWAY).length, 0, 'no GOAWAY');
  } finally {
    c.close();
  }
}

for (const kind of ['conclave', 'etcd'] as const) {
  describe(`malformed requests against ${kind}`, () => {
    let t: Target;
    before(async () => {
      if (kind === 'conclave') t = await startTarget('cleartext');
      else {
        const srv = await startServer('etcd');
        const port = Number(srv.endpoint.split(':').pop());
        t = { mode: 'cleartext', srv, host: '127.0.0.1', port, stop: () => srv.stop() } as Target;
      }
    });
    after(() => t?.stop());

    for (const [name, headers, etcdToo] of CASES) {
      if (kind === 'etcd' && !etcdToo) continue;
      test(`${name} → RST_STREAM PROTOCOL_ERROR, the connection goes on`, () => check(t, headers));
    }

    test('pseudo-header in trailers → RST_STREAM PROTOCOL_ERROR', async () => {
      const c = await RawH2.connect(t);
      try {
        c.write(
          Buffer.concat([
            CLIENT_START,
            frame(FrameType.SETTINGS, Flag.ACK, 0),
            c.headers(1, base, false),
            c.headers(1, [':path', '/x'], true),
          ]),
        );
        assert.equal(await c.resetCode(1), H2Error.PROTOCOL_ERROR, `frames received: ${c.describe()}`);
      } finally {
        c.close();
      }
    });
  });
}
