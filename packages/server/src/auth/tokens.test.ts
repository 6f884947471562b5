import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JwtTokenProvider, parseJwtSignMethod } from './jwt-token.js';
import { SimpleTokenProvider } from './simple-token.js';
import { AuthConfigError } from './token-provider.js';
import { createTokenProvider } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-auth-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFiles(type: 'rsa' | 'ec', name: string): { priv: string; pub: string } {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        })
      : generateKeyPairSync('ec', {
          namedCurve: 'prime256v1',
          privateKeyEncoding: { type: 'sec1', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        });
  const priv = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  writeFileSync(priv, privateKey);
  writeFileSync(pub, publicKey);
  return { priv, pub };
}

const rsa = keyFiles('rsa', 'rsa');
const ec = keyFiles('ec', 'ec');

test('simple tokens: 16 letters + "." + index, valid on use, idle expiry, per-user invalidation, dropped on disable', () => {
  let now = 1_000_000;
  const p = new SimpleTokenProvider(1000, () => now);
  const prefix = p.genPrefix();
  assert.match(prefix, /^[a-zA-Z]{16}$/);
  assert.notEqual(p.genPrefix(), prefix);
  p.enable();
  try {
    const t = p.assign('alice', 7, prefix, 42);
    assert.equal(t, `${prefix}.42`);
    assert.equal(SimpleTokenProvider.indexOf(t), 42);
    assert.deepEqual(p.info(t, 9), { username: 'alice', revision: 9 }, 'simple tokens take the current revision');
    // used within the TTL: the deadline moves
    now += 900;
    assert.ok(p.info(t, 9));
    now += 900;
    assert.ok(p.info(t, 9));
    now += 1001;
    assert.equal(p.info(t, 9), null, 'expired after 1 s idle');
    assert.equal(p.info(t, 9), null);
    // malformed or unknown
    assert.equal(p.info('nodot', 1), null);
    assert.equal(p.info(`${prefix}.x`, 1), null);
    assert.equal(p.info(`${prefix}.1.2`, 1), null);
    assert.equal(SimpleTokenProvider.indexOf('a.b'), null);
    const a = p.assign('alice', 1, p.genPrefix(), 50);
    const bob = p.assign('bob', 1, p.genPrefix(), 51);
    p.invalidateUser('alice');
    assert.equal(p.info(a, 1), null);
    assert.ok(p.info(bob, 1));
    p.disable();
    assert.equal(p.info(bob, 1), null);
    // while disabled nothing is stored
    const c = p.assign('bob', 1, p.genPrefix(), 52);
    assert.equal(p.info(c, 1), null);
  } finally {
    p.close();
  }
});

test('JWT: RS256 / ES256 / PS256 / HS256 tokens as etcd issues them, verified, expired, forged', () => {
  let now = Date.UTC(2030, 0, 1);
  const cases: Array<[string, { priv: string; pub: string }]> = [
    ['RS256', rsa],
    ['PS384', rsa],
    ['ES256', ec],
    ['HS256', rsa],
  ];
  for (const [alg, keys] of cases) {
    const p = createTokenProvider({
      type: 'jwt',
      options: { 'sign-method': alg, 'priv-key': keys.priv, 'pub-key': keys.pub, ttl: '2s' },
      ttlSeconds: 300,
    });
    assert.ok(p instanceof JwtTokenProvider);
    const jp = new JwtTokenProvider({
      method: parseJwtSignMethod(alg)!,
      privateKey: readFileSync(keys.priv),
      publicKey: readFileSync(keys.pub),
      ttlMs: 2000,
      now: () => now,
    });
    const t = jp.assign('root', 5);
    const [h, c, sig] = t.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg, typ: 'JWT' });
    assert.equal(
      Buffer.from(c!, 'base64url').toString(),
      `{"exp":${Math.floor(now / 1000) + 2},"revision":5,"username":"root"}`,
    );
    assert.ok(!t.includes('='), 'no padding');
    assert.deepEqual(jp.info(t), { username: 'root', revision: 5 }, alg);
    if (alg === 'ES256') assert.equal(Buffer.from(sig!, 'base64url').length, 64, 'r || s, not DER');
    // another provider with the same keys (another member) accepts it
    assert.equal(p.info(t, 0)?.username, 'root');
    // forged: claims changed, signature kept
    const forged = `${h}.${Buffer.from(`{"exp":${Math.floor(now / 1000) + 2},"revision":5,"username":"admin"}`).toString('base64url')}.${sig}`;
    assert.equal(jp.info(forged), null, `${alg} forged`);
    assert.equal(jp.info(`${h}.${c}`), null);
    assert.equal(jp.info('garbage'), null);
    now += 2000;
    assert.ok(jp.info(t), 'valid through its exp second');
    now += 1000;
    assert.equal(jp.info(t), null, `${alg} expired`);
    now -= 3000;
  }
  // a token of another algorithm is refused even with a valid signature for it
  const rs = new JwtTokenProvider({
    method: parseJwtSignMethod('RS256')!,
    privateKey: readFileSync(rsa.priv),
    publicKey: null,
    ttlMs: 60_000,
  });
  const ps = new JwtTokenProvider({
    method: parseJwtSignMethod('PS256')!,
    privateKey: readFileSync(rsa.priv),
    publicKey: null,
    ttlMs: 60_000,
  });
  assert.equal(rs.info(ps.assign('root', 1)), null);
});

test('JWT: verify-only member, bad options and key files fail like etcd', () => {
  const verifyOnly = createTokenProvider({
    type: 'jwt',
    options: { 'sign-method': 'RS256', 'pub-key': rsa.pub },
    ttlSeconds: 300,
  });
  const signer = createTokenProvider({
    type: 'jwt',
    options: { 'sign-method': 'RS256', 'priv-key': rsa.priv },
    ttlSeconds: 300,
  });
  assert.equal(verifyOnly.info(signer.assign('u', 3, '', 0), 0)?.username, 'u');
  assert.throws(() => verifyOnly.assign('u', 3, '', 0), /verify-only key/);
  const fails = (options: Record<string, string>, msg: RegExp) =>
    assert.throws(
      () => createTokenProvider({ type: 'jwt', options, ttlSeconds: 300 }),
      (e: unknown) => e instanceof AuthConfigError && msg.test(e.message),
    );
  fails({ 'sign-method': 'RS256' }, /^auth: missing key data$/);
  fails({ 'sign-method': 'HS256' }, /^auth: missing key data$/);
  fails({ 'sign-method': 'XX256', 'priv-key': rsa.priv }, /^auth: invalid auth options$/);
  fails({ 'priv-key': rsa.priv }, /^auth: invalid auth options$/);
  fails({ 'sign-method': 'RS256', 'priv-key': join(dir, 'missing.key') }, /no such file or directory/);
  fails({ 'sign-method': 'ES256', 'priv-key': rsa.priv }, /not a valid ECDSA/);
  fails({ 'sign-method': 'RS256', 'priv-key': rsa.priv, ttl: 'soon' }, /^time: invalid duration "soon"$/);
  fails({ 'sign-method': 'RS256', 'priv-key': rsa.priv, ttl: '10' }, /^time: missing unit in duration "10"$/);
  assert.ok(createTokenProvider({ type: 'simple', options: {}, ttlSeconds: 1 }) instanceof SimpleTokenProvider);
});
