// Fixtures for the tests of the bbolt writer and reader (packages/server/src/storage/bbolt): building
// a file from in-memory buckets, and the Go referee (test/go/boltcheck, the real go.etcd.io/bbolt
// library, built by `npm test` into node_modules/.cache/conclave-go). Seeded randomness comes from
// packages/server/testing/random.ts.

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BoltWriter,
  type BoltWriterOptions,
  type BucketInput,
} from '../../../packages/server/src/storage/bbolt/writer.js';
import { mulberry32 } from '../../../packages/server/testing/random.js';

export const BOLTCHECK = join(import.meta.dirname, '../../../node_modules/.cache/conclave-go/boltcheck');

export function haveBoltcheck(): boolean {
  return existsSync(BOLTCHECK);
}

/** Runs boltcheck; returns its stdout (throws with its output when it fails and `mayFail` is not set). */
export function boltcheck(args: string[], input?: string, mayFail = false): { code: number; out: string } {
  const r = spawnSync(BOLTCHECK, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && !mayFail) throw new Error(`boltcheck ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

export type Model = Map<string, Array<[Buffer, Buffer]>>;

/** Buckets (name → sorted entries) as writer inputs. */
export function inputs(model: Model): BucketInput[] {
  return [...model].map(([name, entries]) => ({
    name: Buffer.from(name),
    entries: () => entries.map(([key, value]) => ({ key, value })),
  }));
}

/** Runs both passes and returns the whole file. */
export function writeAll(
  buckets: readonly BucketInput[],
  opts?: BoltWriterOptions,
): { file: Buffer; chunks: Buffer[] } {
  const w = new BoltWriter(buckets, opts);
  for (const _ of w.plan());
  const chunks: Buffer[] = [];
  for (const c of w.chunks()) chunks.push(Buffer.from(c));
  const file = Buffer.concat(chunks);
  if (file.length !== w.byteSize) throw new Error(`wrote ${file.length} bytes, planned ${w.byteSize}`);
  return { file, chunks };
}

export function writeFile(path: string, model: Model, opts?: BoltWriterOptions): Buffer {
  const { file } = writeAll(inputs(model), opts);
  writeFileSync(path, file);
  return file;
}

/** A random model: `buckets` buckets with random keys (sorted, unique) and values of mixed sizes. */
export function randomModel(seed: number, buckets = 6): Model {
  const r = mulberry32(seed);
  const model: Model = new Map();
  const names = new Set<string>();
  while (names.size < buckets) names.add(`b${Math.floor(r() * 1e6).toString(36)}`);
  for (const name of [...names].sort()) {
    const kind = r();
    const n = kind < 0.2 ? 0 : kind < 0.4 ? 1 + Math.floor(r() * 8) : Math.floor(r() * 3000);
    const keys = new Map<string, Buffer>();
    while (keys.size < n) {
      const klen = r() < 0.01 ? 1000 + Math.floor(r() * 4000) : 1 + Math.floor(r() * 40);
      const k = Buffer.alloc(klen);
      for (let i = 0; i < klen; i++) k[i] = Math.floor(r() * 256);
      keys.set(k.toString('hex'), k);
    }
    const entries = [...keys.values()].sort(Buffer.compare).map((k): [Buffer, Buffer] => {
      const big = r();
      const vlen = big < 0.01 ? 5000 + Math.floor(r() * 20000) : big < 0.2 ? 0 : Math.floor(r() * 300);
      return [k, Buffer.alloc(vlen, Math.floor(r() * 256))];
    });
    model.set(name, entries);
  }
  return model;
}

/** boltcheck dump parsed back into a model (top-level buckets only; nested buckets as entries). */
export function dumpModel(path: string): Model {
  const model: Model = new Map();
  for (const line of boltcheck(['dump', path]).out.split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { path: string[]; key: string; value?: string; bucket?: boolean };
    if (e.path.length === 0) {
      model.set(Buffer.from(e.key, 'hex').toString(), []);
      continue;
    }
    if (e.path.length === 1) {
      model.get(e.path[0]!)!.push([Buffer.from(e.key, 'hex'), Buffer.from(e.value ?? '', 'hex')]);
    }
  }
  return model;
}
