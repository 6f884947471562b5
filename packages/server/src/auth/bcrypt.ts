// Password hashes as etcd makes them (Go's golang.org/x/crypto/bcrypt): "$2a$<cost>$<22 chars
// salt><31 chars hash>", the password cut at 72 bytes as etcd 3.4 does. The work is done by
// @node-rs/bcrypt (the Rust `bcrypt` crate, prebuilt per platform, no install script) on libuv's
// thread pool, so Authenticate never runs Blowfish on the event loop (docs/bcrypt.md: why this
// library and not `bcrypt` or `bcryptjs`). Go writes "$2a$"; "$2a$", "$2b$", "$2x$" and "$2y$"
// hashes all verify, as in Go (the algorithm is the same for passwords of at most 72 bytes).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as nativeHash } from '@node-rs/bcrypt';

export const MIN_COST = 4;
export const MAX_COST = 31;
export const DEFAULT_COST = 10;

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Decodes `n` bytes of bcrypt's base64 (its own alphabet, no padding); null if malformed. */
function decodeBase64(s: string, n: number): Uint8Array | null {
  const out = new Uint8Array(n);
  let o = 0;
  let i = 0;
  const next = (): number => {
    const c = s.charCodeAt(i++);
    return c < 128 ? DECODE[c]! : -1;
  };
  while (o < n) {
    const c1 = next();
    const c2 = next();
    if (c1 < 0 || c2 < 0) return null;
    out[o++] = (c1 << 2) | ((c2 & 0x30) >> 4);
    if (o >= n) break;
    const c3 = next();
    if (c3 < 0) return null;
    out[o++] = ((c2 & 0x0f) << 4) | ((c3 & 0x3c) >> 2);
    if (o >= n) break;
    const c4 = next();
    if (c4 < 0) return null;
    out[o++] = ((c3 & 0x03) << 6) | c4;
  }
  return out;
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST)
    throw new RangeError(`bcrypt: cost ${cost} is outside [${MIN_COST}, ${MAX_COST}]`);
}

/** The bytes bcrypt keys on: the password cut at 72 bytes (the library would refuse no length). */
function passwordBytes(password: Uint8Array | string): Uint8Array {
  const p = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  return p.length > 72 ? p.subarray(0, 72) : p;
}

/**
 * bcrypt of `password` with `salt` (16 bytes) at `cost`, off the event loop; the result is spelled
 * "$2<minor>$" (Go writes "$2a$").
 */
export async function bcrypt(
  password: Uint8Array | string,
  cost: number,
  salt: Uint8Array = randomBytes(16),
  minor = 'a',
): Promise<string> {
  checkCost(cost);
  if (salt.length !== 16) throw new RangeError('bcrypt: salt must be 16 bytes');
  const h = await nativeHash(Buffer.from(passwordBytes(password)), cost, Buffer.from(salt));
  // The library writes "$2b$NN$...": the same hash under another version letter.
  return `$2${minor}$${h.slice(4)}`;
}

/** A new hash of `password` with a random salt (etcd: bcrypt.GenerateFromPassword). */
export function hashPassword(password: Uint8Array | string, cost: number = DEFAULT_COST): Promise<string> {
  return bcrypt(password, cost);
}

export interface ParsedHash {
  minor: string;
  cost: number;
  salt: Uint8Array;
}

/** Splits a "$2x$NN$<salt><hash>" string; null when it is not a bcrypt hash Go would accept. */
export function parseHash(hash: string): ParsedHash | null {
  const m = /^\$2([a-z]?)\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/.exec(hash);
  if (!m) return null;
  const cost = Number(m[2]);
  if (cost < MIN_COST || cost > MAX_COST) return null;
  const salt = decodeBase64(m[3]!, 16);
  if (!salt) return null;
  return { minor: m[1]!, cost, salt };
}

/** Does `password` match `hash`? (etcd: bcrypt.CompareHashAndPassword == nil). Never throws. */
export async function verifyPassword(password: Uint8Array | string, hash: Uint8Array | string): Promise<boolean> {
  const h = typeof hash === 'string' ? hash : Buffer.from(hash).toString('latin1');
  const p = parseHash(h);
  if (!p) return false;
  // As Go: only the 31 hash characters are compared (a salt spelled with unused low bits set still
  // decodes to the same 16 bytes).
  const again = await bcrypt(password, p.cost, p.salt, p.minor);
  return timingSafeEqual(Buffer.from(again.slice(-31), 'latin1'), Buffer.from(h.slice(-31), 'latin1'));
}
