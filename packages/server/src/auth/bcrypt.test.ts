import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bcrypt,
  bcryptBase64Decode,
  bcryptBase64Encode,
  bcryptSync,
  hashPassword,
  parseHash,
  verifyPassword,
} from './bcrypt.js';
import { BLOWFISH_INIT } from './blowfish-constants.js';

// Published vectors: OpenBSD's / jBCrypt's test suites and Go's golang.org/x/crypto/bcrypt tests.
const VECTORS: Array<[password: string, hash: string]> = [
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['U*U*', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK'],
  ['U*U*U', '$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a'],
  ['', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy'],
  [
    '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored',
    '$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui',
  ],
  // Go's TestBcryptingIsCorrect (etcd's own library), at etcd's default cost 10.
  ['allmine', '$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga'],
];

test('Blowfish subkeys are the hex digits of pi', () => {
  assert.equal(BLOWFISH_INIT.length, 18 + 1024);
  assert.equal(BLOWFISH_INIT[0], 0x243f6a88);
  assert.equal(BLOWFISH_INIT[17], 0x8979fb1b);
  assert.equal(BLOWFISH_INIT[18], 0xd1310ba6);
  assert.equal(BLOWFISH_INIT[18 + 1023], 0x3ac372e6);
});

test('known bcrypt vectors', async () => {
  for (const [password, hash] of VECTORS) {
    const p = parseHash(hash);
    assert.ok(p, hash);
    assert.equal(bcryptSync(password, p.cost, p.salt), hash, `sync ${JSON.stringify(password)}`);
    if (p.cost <= 5) assert.equal(await bcrypt(password, p.cost, p.salt), hash, `async ${JSON.stringify(password)}`);
  }
  // The same vector spelled $2b$ / $2y$ (and a hash made by libxcrypt as $2b$) verifies too.
  assert.ok(await verifyPassword('U*U', VECTORS[0]![1].replace('$2a$', '$2b$')));
  assert.ok(await verifyPassword('U*U', VECTORS[0]![1].replace('$2a$', '$2y$')));
  assert.ok(await verifyPassword('allmine', '$2b$05$CCCCCCCCCCCCCCCCCCCCC.ozKl/BY8pbX.B.VyC7OeSyPvNEAqW8O'));
});

test('verify: right and wrong passwords, bytes beyond 72 ignored, malformed hashes refused', async () => {
  const h = await hashPassword('s3cret', 4);
  assert.match(h, /^\$2a\$04\$[./A-Za-z0-9]{53}$/);
  assert.ok(await verifyPassword('s3cret', h));
  assert.ok(await verifyPassword(Buffer.from('s3cret'), Buffer.from(h, 'latin1')));
  assert.equal(await verifyPassword('s3cret!', h), false);
  assert.equal(await verifyPassword('', h), false);
  // Two hashes of one password differ (random salt) and both verify.
  const h2 = await hashPassword('s3cret', 4);
  assert.notEqual(h, h2);
  assert.ok(await verifyPassword('s3cret', h2));
  const long = 'x'.repeat(72);
  const hl = await hashPassword(`${long}tail`, 4);
  assert.ok(await verifyPassword(`${long}other`, hl));
  assert.equal(await verifyPassword('x'.repeat(71), hl), false);
  for (const bad of [
    '',
    'plain',
    '$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
    '$2a$05$CCCC',
    '$3a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
  ]) {
    assert.equal(await verifyPassword('U*U', bad), false, bad);
  }
  assert.throws(() => bcryptSync('x', 3, new Uint8Array(16)), RangeError);
  assert.throws(() => bcryptSync('x', 4, new Uint8Array(15)), RangeError);
});

test('bcrypt base64 round-trips', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
    assert.deepEqual(bcryptBase64Decode(bcryptBase64Encode(bytes), n), bytes);
  }
  assert.equal(bcryptBase64Decode('!!', 1), null);
});

test('hashing yields to the event loop', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await hashPassword('pw', 9);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 3, `timer ran ${ticks} times while hashing`);
});
