// bcrypt (Provos & Mazières, "A Future-Adaptable Password Scheme", 1999), as OpenBSD and Go's
// golang.org/x/crypto/bcrypt implement it: EksBlowfish keyed with the password (plus its NUL byte,
// at most 72 bytes; longer passwords are cut there, as etcd 3.4 does) and a 16-byte salt, 2^cost
// rounds of re-keying, then "OrpheanBeholderScryDoubt" encrypted 64 times. Hashes read
// "$2a$<cost>$<22 chars salt><31 chars hash>" in bcrypt's own base64 alphabet; "$2a$", "$2b$" and
// "$2y$" hashes all verify (the algorithm is the same for passwords of at most 72 bytes).
//
// The expensive loop runs in slices that yield to the event loop, so a cost-10 hash (~1 M Blowfish
// encryptions, tens of milliseconds) does not stall Raft ticks or other clients.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BLOWFISH_INIT } from './blowfish-constants.js';

export const MIN_COST = 4;
export const MAX_COST = 31;
export const DEFAULT_COST = 10;

const ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** bcrypt's base64 (its own alphabet, no padding). */
export function bcryptBase64Encode(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c1 = b[i++]!;
    out += ALPHABET[c1 >> 2];
    let c = (c1 & 0x03) << 4;
    if (i >= b.length) {
      out += ALPHABET[c];
      break;
    }
    const c2 = b[i++]!;
    out += ALPHABET[c | (c2 >> 4)];
    c = (c2 & 0x0f) << 2;
    if (i >= b.length) {
      out += ALPHABET[c];
      break;
    }
    const c3 = b[i++]!;
    out += ALPHABET[c | (c3 >> 6)];
    out += ALPHABET[c3 & 0x3f];
  }
  return out;
}

/** Decodes `s` into `n` bytes (extra low bits of the last character are ignored, as Go does). */
export function bcryptBase64Decode(s: string, n: number): Uint8Array | null {
  const out = new Uint8Array(n);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < s.length && o < n; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? DECODE[code]! : -1;
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === n ? out : null;
}

/** EksBlowfish state: P-array (18 words) then S-boxes 0–3, in one array. */
class Eks {
  readonly s = new Uint32Array(BLOWFISH_INIT);

  /**
   * ExpandKey(state, salt, key) of the paper (`salt` null = the unsalted variant used in the cost
   * loop). The Blowfish encryption is inlined: this loop is where all the time goes.
   */
  expand(key: Uint8Array, salt: Uint8Array | null): void {
    const s = this.s;
    const klen = key.length;
    let kj = 0;
    for (let i = 0; i < 18; i++) {
      let w = 0;
      for (let k = 0; k < 4; k++) {
        w = (w << 8) | key[kj]!;
        if (++kj === klen) kj = 0;
      }
      s[i] = s[i]! ^ w;
    }
    const slen = salt ? salt.length : 0;
    let sj = 0;
    let l = 0;
    let r = 0;
    const n = s.length;
    for (let i = 0; i < n; i += 2) {
      if (salt) {
        let w = 0;
        for (let k = 0; k < 4; k++) {
          w = (w << 8) | salt[sj]!;
          if (++sj === slen) sj = 0;
        }
        l ^= w;
        w = 0;
        for (let k = 0; k < 4; k++) {
          w = (w << 8) | salt[sj]!;
          if (++sj === slen) sj = 0;
        }
        r ^= w;
      }
      l ^= s[0]!;
      for (let j = 1; j <= 16; j += 2) {
        r ^=
          ((((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) ^ s[530 + ((l >>> 8) & 0xff)]!) +
            s[786 + (l & 0xff)]!) |
            0) ^
          s[j]!;
        l ^=
          ((((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) ^ s[530 + ((r >>> 8) & 0xff)]!) +
            s[786 + (r & 0xff)]!) |
            0) ^
          s[j + 1]!;
      }
      const t = r ^ s[17]!;
      r = l;
      l = t;
      s[i] = l;
      s[i + 1] = r;
    }
  }

  /** Encrypts the 64-bit blocks of `words` (pairs) once, in place. */
  encryptBlocks(words: Uint32Array): void {
    const s = this.s;
    for (let i = 0; i < words.length; i += 2) {
      let l = words[i]!;
      let r = words[i + 1]!;
      l ^= s[0]!;
      for (let j = 1; j <= 16; j += 2) {
        r ^=
          ((((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 0xff)]!) ^ s[530 + ((l >>> 8) & 0xff)]!) +
            s[786 + (l & 0xff)]!) |
            0) ^
          s[j]!;
        l ^=
          ((((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 0xff)]!) ^ s[530 + ((r >>> 8) & 0xff)]!) +
            s[786 + (r & 0xff)]!) |
            0) ^
          s[j + 1]!;
      }
      words[i] = r ^ s[17]!;
      words[i + 1] = l;
    }
  }
}

const MAGIC = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
/** Rounds of re-keying between yields (each ~50–100 µs). */
const SLICE_ROUNDS = 32;

function keyBytes(password: Uint8Array | string): Uint8Array {
  const p = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const key = new Uint8Array(Math.min(p.length + 1, 72));
  key.set(p.subarray(0, key.length - (p.length + 1 > 72 ? 0 : 1)));
  return key; // the NUL terminator is the zero already in place (when it fits)
}

function finish(eks: Eks, cost: number, salt: Uint8Array, minor: string): string {
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i++) words[i] = MAGIC.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) eks.encryptBlocks(words);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(words[i]!, i * 4);
  return `$2${minor}$${String(cost).padStart(2, '0')}$${bcryptBase64Encode(salt)}${bcryptBase64Encode(out.subarray(0, 23))}`;
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST)
    throw new RangeError(`bcrypt: cost ${cost} is outside [${MIN_COST}, ${MAX_COST}]`);
}

/** Synchronous bcrypt (tests and small costs); `salt` is 16 bytes. */
export function bcryptSync(password: Uint8Array | string, cost: number, salt: Uint8Array, minor = 'a'): string {
  checkCost(cost);
  if (salt.length !== 16) throw new RangeError('bcrypt: salt must be 16 bytes');
  const key = keyBytes(password);
  const eks = new Eks();
  eks.expand(key, salt);
  const rounds = 2 ** cost;
  for (let i = 0; i < rounds; i++) {
    eks.expand(key, null);
    eks.expand(salt, null);
  }
  return finish(eks, cost, salt, minor);
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** bcrypt with the expensive loop in slices that yield to the event loop. */
export async function bcrypt(
  password: Uint8Array | string,
  cost: number,
  salt: Uint8Array = randomBytes(16),
  minor = 'a',
): Promise<string> {
  checkCost(cost);
  if (salt.length !== 16) throw new RangeError('bcrypt: salt must be 16 bytes');
  const key = keyBytes(password);
  const eks = new Eks();
  eks.expand(key, salt);
  const rounds = 2 ** cost;
  for (let i = 0; i < rounds; ) {
    const end = Math.min(rounds, i + SLICE_ROUNDS);
    for (; i < end; i++) {
      eks.expand(key, null);
      eks.expand(salt, null);
    }
    if (i < rounds) await yieldToLoop();
  }
  return finish(eks, cost, salt, minor);
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
  const salt = bcryptBase64Decode(m[3]!, 16);
  if (!salt) return null;
  return { minor: m[1]!, cost, salt };
}

/** Does `password` match `hash`? (etcd: bcrypt.CompareHashAndPassword == nil). Never throws. */
export async function verifyPassword(password: Uint8Array | string, hash: Uint8Array | string): Promise<boolean> {
  const h = typeof hash === 'string' ? hash : Buffer.from(hash).toString('latin1');
  const p = parseHash(h);
  if (!p) return false;
  const again = await bcrypt(password, p.cost, p.salt, p.minor);
  const a = Buffer.from(again, 'latin1');
  const b = Buffer.from(h, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
