// Helpers for the TLS tests (not a test file itself): a temporary directory removed afterwards, and
// a self-signed certificate and key written there as PEM files.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../src/tls/self-signed.js';

/** Runs `fn` with a fresh temporary directory (named after `prefix`), removed once it settles. */
export function withDir<T>(prefix: string, fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return Promise.resolve(fn(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Writes `<name>.pem` and `<name>-key.pem` (a P-256 self-signed pair unless `opts` says otherwise). */
export function writePair(
  dir: string,
  name: string,
  opts: Parameters<typeof generateSelfSignedCertificate>[0],
): { cert: string; key: string } {
  const c = generateSelfSignedCertificate({ curve: 'P-256', ...opts });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, c.certPem);
  writeFileSync(key, c.keyPem);
  return { cert, key };
}
