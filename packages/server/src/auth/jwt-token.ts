// etcd's JWT tokens (auth/jwt.go on jwt-go): header {"alg":…,"typ":"JWT"}, claims
// {"exp":…,"revision":…,"username":…} (Go marshals map keys sorted), base64url segments without
// padding. Signed with the private key; verified with its public half (or with pub-key alone, a
// verify-only member that cannot issue tokens). Sign methods: RS256/384/512, PS256/384/512,
// ES256/384/512, HS256/384/512 (the key is the priv-key file's bytes) and EdDSA.
// Tokens carry the auth revision they were issued at: any later auth change makes requests with
// them fail with "revision of auth store is old" until the client authenticates again.

import { constants, createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { AuthConfigError, type AuthInfo, type TokenProvider } from './token-provider.js';

type Family = 'RS' | 'PS' | 'ES' | 'HS' | 'EdDSA';

export interface JwtSignMethod {
  alg: string;
  family: Family;
  /** Node digest name ('' for EdDSA). */
  hash: string;
  /** ECDSA: the curve size in bits and the byte length of r and s. */
  curveBits?: number;
}

const CURVES: Record<string, { bits: number; name: string }> = {
  ES256: { bits: 256, name: 'prime256v1' },
  ES384: { bits: 384, name: 'secp384r1' },
  ES512: { bits: 521, name: 'secp521r1' },
};

/** jwt.GetSigningMethod: null for an unknown name. */
export function parseJwtSignMethod(alg: string): JwtSignMethod | null {
  if (alg === 'EdDSA') return { alg, family: 'EdDSA', hash: '' };
  const m = /^(RS|PS|ES|HS)(256|384|512)$/.exec(alg);
  if (!m) return null;
  const family = m[1] as Family;
  const method: JwtSignMethod = { alg, family, hash: `sha${m[2]}` };
  if (family === 'ES') method.curveBits = CURVES[alg]!.bits;
  return method;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export interface JwtOptions {
  method: JwtSignMethod;
  publicKey: Buffer | null;
  privateKey: Buffer | null;
  ttlMs: number;
  now?: () => number;
}

export class JwtTokenProvider implements TokenProvider {
  readonly kind = 'jwt';
  private readonly method: JwtSignMethod;
  private readonly signKey: KeyObject | Buffer | null;
  private readonly verifyKey: KeyObject | Buffer;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(o: JwtOptions) {
    this.method = o.method;
    this.ttlMs = o.ttlMs;
    this.now = o.now ?? Date.now;
    if (o.method.family === 'HS') {
      if (!o.privateKey || o.privateKey.length === 0) throw new AuthConfigError('auth: missing key data');
      this.signKey = o.privateKey;
      this.verifyKey = o.privateKey;
      return;
    }
    const wantType = o.method.family === 'ES' ? 'ec' : o.method.family === 'EdDSA' ? 'ed25519' : 'rsa';
    const check = (k: KeyObject, what: string): KeyObject => {
      if (k.asymmetricKeyType !== wantType && !(wantType === 'rsa' && k.asymmetricKeyType === 'rsa-pss')) {
        throw new AuthConfigError(
          `Key is not a valid ${wantType === 'ec' ? 'ECDSA' : wantType === 'rsa' ? 'RSA' : 'Ed25519'} ${what} key`,
        );
      }
      if (wantType === 'ec' && k.asymmetricKeyDetails?.namedCurve !== CURVES[o.method.alg]!.name)
        throw new AuthConfigError('key is invalid');
      return k;
    };
    const parse = (pem: Buffer, priv: boolean): KeyObject => {
      try {
        return priv ? createPrivateKey(pem) : createPublicKey(pem);
      } catch {
        throw new AuthConfigError(
          priv
            ? 'Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key'
            : 'Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 public key',
        );
      }
    };
    const priv = o.privateKey && o.privateKey.length > 0 ? check(parse(o.privateKey, true), 'private') : null;
    const pub = o.publicKey && o.publicKey.length > 0 ? check(parse(o.publicKey, false), 'public') : null;
    if (!priv && !pub) throw new AuthConfigError('auth: missing key data');
    // With a private key, etcd verifies with its public half (a pub-key given as well is not used).
    this.signKey = priv;
    this.verifyKey = priv ? createPublicKey(priv) : pub!;
  }

  genPrefix(): string {
    return '';
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  close(): void {}

  assign(username: string, revision: number): string {
    if (!this.signKey) throw new Error('auth: token signing attempted with verify-only key');
    const header = b64url(JSON.stringify({ alg: this.method.alg, typ: 'JWT' }));
    const exp = Math.floor((this.now() + this.ttlMs) / 1000);
    const claims = b64url(JSON.stringify({ exp, revision, username }));
    const input = `${header}.${claims}`;
    return `${input}.${this.signature(input).toString('base64url')}`;
  }

  private signature(input: string): Buffer {
    const m = this.method;
    const data = Buffer.from(input, 'latin1');
    switch (m.family) {
      case 'HS':
        return createHmac(m.hash, this.signKey as Buffer)
          .update(data)
          .digest();
      case 'RS':
        return sign(m.hash, data, this.signKey as KeyObject);
      case 'PS':
        return sign(m.hash, data, {
          key: this.signKey as KeyObject,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        });
      case 'ES':
        return sign(m.hash, data, { key: this.signKey as KeyObject, dsaEncoding: 'ieee-p1363' });
      case 'EdDSA':
        return sign(null, data, this.signKey as KeyObject);
    }
  }

  private verifySignature(input: string, sig: Buffer): boolean {
    const m = this.method;
    const data = Buffer.from(input, 'latin1');
    try {
      switch (m.family) {
        case 'HS': {
          const want = createHmac(m.hash, this.verifyKey as Buffer)
            .update(data)
            .digest();
          return want.length === sig.length && want.equals(sig);
        }
        case 'RS':
          return verify(m.hash, data, this.verifyKey as KeyObject, sig);
        case 'PS':
          return verify(
            m.hash,
            data,
            {
              key: this.verifyKey as KeyObject,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_AUTO,
            },
            sig,
          );
        case 'ES':
          return verify(m.hash, data, { key: this.verifyKey as KeyObject, dsaEncoding: 'ieee-p1363' }, sig);
        case 'EdDSA':
          return verify(null, data, this.verifyKey as KeyObject, sig);
      }
    } catch {
      return false;
    }
  }

  info(token: string, _revision?: number): AuthInfo | null {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    let header: unknown;
    let claims: unknown;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== this.method.alg)
      return null;
    if (!this.verifySignature(`${parts[0]}.${parts[1]}`, Buffer.from(parts[2]!, 'base64url'))) return null;
    if (typeof claims !== 'object' || claims === null) return null;
    const c = claims as { exp?: unknown; revision?: unknown; username?: unknown; nbf?: unknown; iat?: unknown };
    const nowSec = Math.floor(this.now() / 1000);
    if (c.exp !== undefined && (typeof c.exp !== 'number' || nowSec > c.exp)) return null;
    if (c.nbf !== undefined && (typeof c.nbf !== 'number' || nowSec < c.nbf)) return null;
    if (typeof c.username !== 'string' || typeof c.revision !== 'number') return null;
    return { username: c.username, revision: Math.trunc(c.revision) };
  }
}
