import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bcrypt, hashPassword, parseHash, verifyPassword } from './bcrypt.js';

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

test('known bcrypt vectors', async () => {
  for (const [password, hash] of VECTORS) {
    const p = parseHash(hash);
    assert.ok(p, hash);
    assert.equal(await bcrypt(password, p.cost, p.salt), hash, JSON.stringify(password));
    assert.ok(await verifyPassword(password, hash), JSON.stringify(password));
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
  // Go compares the hash characters only: a salt spelled with its unused low bits set still verifies.
  const [, head, tail] = /^(.{29})(.{31})$/.exec(VECTORS[0]![1])!.map(String);
  const odd = `${head!.slice(0, 28)}${head!.at(-1) === '.' ? '/' : '.'}${tail}`;
  assert.ok(await verifyPassword('U*U', odd), odd);
  await assert.rejects(bcrypt('x', 3, new Uint8Array(16)), RangeError);
  await assert.rejects(bcrypt('x', 4, new Uint8Array(15)), RangeError);
});

test('hashing runs off the event loop: a timer keeps its pace during cost-12 verifications', async () => {
  const hash = await hashPassword('pw', 12);
  let ticks = 0;
  let slowest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    slowest = Math.max(slowest, now - last);
    last = now;
    ticks++;
  }, 5);
  try {
    // Four at once, as concurrent Authenticate calls would: each is ~250 ms of Blowfish.
    const ok = await Promise.all([1, 2, 3, 4].map(() => verifyPassword('pw', hash)));
    assert.deepEqual(ok, [true, true, true, true]);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 10, `timer ran ${ticks} times while verifying`);
  // The event loop was never held for a whole verification (the old JS code held it ~0.1 ms per
  // slice; a hash on the loop would block for the full ~250 ms).
  assert.ok(slowest < 150, `longest gap between timer runs ${Math.round(slowest)} ms`);
});
