import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { authpb, etcdserverpb, GrpcStatusError } from '@conclave/api';
import { openFixture, type Fixture } from '../../testing/mvcc-fixture.js';
import { checkDelete, checkPut, checkTxn } from './authorize.js';
import { hashPassword } from './bcrypt.js';
import { SimpleTokenProvider } from './simple-token.js';
import { AuthStore, decodeInternalAuthenticate, encodeInternalAuthenticate } from './store.js';
import type { AuthInfo } from './token-provider.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const T = authpb.Permission_Type;

let fx: Fixture;
let store: AuthStore;

beforeEach(async () => {
  fx = await openFixture();
  store = new AuthStore(fx.backend, new SimpleTokenProvider(60_000));
});

afterEach(async () => {
  store.close();
  await fx.close();
});

/** Applies `fn` inside one backend batch, as the applier does. */
const apply = (fn: () => void): void => fx.backend.batch(fn);

function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GrpcStatusError, String(e));
    return e.message.replace(/^etcdserver: /, '');
  }
  return 'ok';
}

const applyErr = (fn: () => void): string => err(() => apply(fn));
/** `fn` fails with etcd's error `message` (without "etcdserver: "). */
const fails = (fn: () => unknown, message: string): void => assert.equal(err(fn), message);
/** `fn`, applied in a batch, fails with etcd's error `message`. */
const refuses = (fn: () => void, message: string): void => assert.equal(applyErr(fn), message);

async function setupRoot(): Promise<Uint8Array> {
  const hash = b(await hashPassword('rootpw', 4));
  apply(() => {
    store.userAdd('root', hash, undefined);
    store.userGrantRole('root', 'root');
  });
  return hash;
}

test('a new store: revision 1, disabled, empty', () => {
  assert.equal(store.revision, 1);
  assert.equal(store.enabled, false);
  assert.deepEqual(store.userNames(), []);
  assert.deepEqual(store.roleNames(), []);
  // checks pass while auth is disabled, even without a user
  store.checkOp(null, 'write', b('x'), b(''));
  store.checkAdmin(null);
});

test("enabling needs root with the root role; the revision counts changes but not enabling; etcd's errors", async () => {
  refuses(() => store.authEnable(), 'root user does not exist');
  const hash = b(await hashPassword('pw', 4));
  apply(() => store.userAdd('root', hash, undefined));
  assert.equal(store.revision, 2);
  refuses(() => store.authEnable(), 'root user does not have root role');
  apply(() => store.userGrantRole('root', 'root')); // the root role needs no role record
  assert.equal(store.revision, 3);
  apply(() => store.userGrantRole('root', 'root')); // already granted: ignored, no bump
  assert.equal(store.revision, 3);
  apply(() => store.authEnable());
  assert.ok(store.enabled);
  assert.equal(store.revision, 3);
  apply(() => store.authEnable()); // no-op
  refuses(() => store.userDelete('root'), 'invalid auth management');
  refuses(() => store.userRevokeRole('root', 'root'), 'invalid auth management');
  refuses(() => store.roleDelete('root'), 'invalid auth management');
  apply(() => store.authDisable());
  assert.equal(store.enabled, false);
  assert.equal(store.revision, 4);
  apply(() => store.authDisable()); // no-op
  assert.equal(store.revision, 4);
  // with auth off, root may lose its role and go
  apply(() => store.userRevokeRole('root', 'root'));
  apply(() => store.userDelete('root'));
  assert.equal(store.revision, 6);
});

test('users and roles: errors, ordering, role deletion removes grants', () => {
  const none = new Uint8Array(0);
  refuses(() => store.userAdd('', none, undefined), 'user name is empty');
  refuses(() => store.roleAdd(''), 'role name is empty');
  apply(() => {
    store.userAdd('zed', none, { noPassword: true });
    store.userAdd('amy', none, undefined);
    store.roleAdd('writer');
    store.roleAdd('reader');
  });
  refuses(() => store.userAdd('amy', none, undefined), 'user name already exists');
  refuses(() => store.roleAdd('reader'), 'role name already exists');
  assert.deepEqual(store.userNames(), ['amy', 'zed']);
  assert.deepEqual(store.roleNames(), ['reader', 'writer']);
  refuses(() => store.userGrantRole('nobody', 'reader'), 'user name not found');
  refuses(() => store.userGrantRole('amy', 'nosuch'), 'role name not found');
  apply(() => {
    store.userGrantRole('amy', 'writer');
    store.userGrantRole('amy', 'reader');
    store.userGrantRole('zed', 'reader');
  });
  assert.deepEqual(store.userGet('amy'), ['reader', 'writer']);
  refuses(() => store.userRevokeRole('amy', 'root'), 'role is not granted to the user');
  refuses(() => store.userRevokeRole('nobody', 'root'), 'user name not found');
  refuses(() => store.roleDelete('nosuch'), 'role name not found');
  apply(() => store.roleDelete('reader'));
  assert.deepEqual(store.userGet('amy'), ['writer']);
  assert.deepEqual(store.userGet('zed'), []);
  fails(() => store.userGet('nobody'), 'user name not found');
  fails(() => store.roleGet('reader'), 'role name not found');
  refuses(() => store.userDelete('nobody'), 'user name not found');
  refuses(() => store.userChangePassword('nobody', none), 'user name not found');
});

test("granting and revoking permissions follows etcd's update-or-insert rule", () => {
  apply(() => store.roleAdd('x'));
  const grant = (t: number, key: string, end: string) =>
    apply(() =>
      store.roleGrantPermission(
        'x',
        authpb.Permission.create({ permType: t as authpb.Permission_Type, key: b(key), rangeEnd: b(end) }),
      ),
    );
  grant(T.READ, 'k', 'm');
  grant(T.WRITE, 'k', 'z');
  grant(T.READWRITE, 'k', 'z'); // compared with the first 'k' permission only: added again
  grant(T.READWRITE, 'k', 'm'); // updates the first
  grant(T.READWRITE, 'a', '');
  const show = () =>
    store.roleGet('x').map((p) => `${p.permType}:${p.key.toString()}-${Buffer.from(p.rangeEnd).toString()}`);
  assert.deepEqual(show(), ['2:a-', '2:k-m', '1:k-z', '2:k-z']);
  const rev = store.revision;
  apply(() => store.roleRevokePermission('x', b('k'), b('z'))); // both copies
  assert.deepEqual(show(), ['2:a-', '2:k-m']);
  assert.equal(store.revision, rev + 1);
  refuses(() => store.roleRevokePermission('x', b('k'), b('z')), 'permission is not granted to the role');
  refuses(() => store.roleRevokePermission('nosuch', b('k'), b('')), 'role name not found');
  // etcd 3.5 checks the permission first: given, a key, a non-empty range (or "\0" for every key from it)
  refuses(() => store.roleGrantPermission('nosuch', undefined), 'permission not given');
  refuses(() => store.roleGrantPermission('nosuch', authpb.Permission.create({})), 'invalid auth management');
  refuses(
    () => store.roleGrantPermission('x', authpb.Permission.create({ key: b('m'), rangeEnd: b('k') })),
    'invalid auth management',
  );
  refuses(
    () => store.roleGrantPermission('nosuch', authpb.Permission.create({ key: b('k'), rangeEnd: b('\0') })),
    'role name not found',
  );
});

test('permission checks: user empty, old revision, unknown user, root bypass, merged roles', async () => {
  await setupRoot();
  apply(() => {
    store.roleAdd('r');
    store.roleGrantPermission(
      'r',
      authpb.Permission.create({ permType: T.READWRITE, key: b('a/'), rangeEnd: b('a0') }),
    );
    store.roleGrantPermission('r', authpb.Permission.create({ permType: T.READ, key: b('c') }));
    store.userAdd('u', new Uint8Array(0), undefined);
    store.userGrantRole('u', 'r');
    store.authEnable();
  });
  const u: AuthInfo = { username: 'u', revision: store.revision };
  const root: AuthInfo = { username: 'root', revision: store.revision };
  store.checkOp(u, 'write', b('a/1'), b(''));
  store.checkOp(root, 'write', b('\x00'), b('\x00'));
  fails(() => store.checkOp(u, 'write', b('c'), b('')), 'permission denied');
  fails(() => store.checkOp(null, 'read', b('c'), b('')), 'user name is empty');
  fails(() => store.checkOp({ username: '', revision: store.revision }, 'read', b('c'), b('')), 'user name is empty');
  fails(
    () => store.checkOp({ username: 'ghost', revision: store.revision }, 'read', b('c'), b('')),
    'permission denied',
  );
  fails(
    () => store.checkOp({ username: 'u', revision: store.revision - 1 }, 'read', b('c'), b('')),
    'revision of auth store is old',
  );
  store.checkAdmin(root);
  fails(() => store.checkAdmin(u), 'permission denied');
  fails(() => store.checkAdmin(null), 'user name is empty');
  fails(() => store.checkAdmin({ username: 'ghost', revision: 9 }), 'user name not found');

  // request-level checks: prev_kv needs read, a lease's keys need write, txns check both branches
  const leaseKeys = (id: bigint) => (id === 7n ? [b('c')] : [b('a/9')]);
  const put = (key: string, extra: Partial<etcdserverpb.PutRequest> = {}) =>
    etcdserverpb.PutRequest.create({ key: b(key), ...extra });
  checkPut(store, leaseKeys, u, put('a/1', { lease: 8n }));
  fails(() => checkPut(store, leaseKeys, u, put('a/1', { lease: 7n })), 'permission denied');
  checkPut(store, leaseKeys, u, put('a/1', { prevKv: true }));
  fails(() => checkDelete(store, u, etcdserverpb.DeleteRangeRequest.create({ key: b('c') })), 'permission denied');
  checkDelete(store, u, etcdserverpb.DeleteRangeRequest.create({ key: b('a/'), rangeEnd: b('a0'), prevKv: true }));
  const txn = (t: Partial<etcdserverpb.TxnRequest>) => etcdserverpb.TxnRequest.create(t as never);
  checkTxn(
    store,
    leaseKeys,
    u,
    txn({
      compare: [{ key: b('c') } as never],
      success: [{ requestPut: put('a/2') }],
      failure: [{ requestRange: { key: b('c') } as never }],
    }),
  );
  assert.equal(
    err(() =>
      checkTxn(
        store,
        leaseKeys,
        u,
        txn({ success: [{ requestPut: put('a/2') }], failure: [{ requestPut: put('c') }] }),
      ),
    ),
    'permission denied',
  );
  fails(() => checkTxn(store, leaseKeys, u, txn({ compare: [{ key: b('d') } as never] })), 'permission denied');
  assert.equal(
    err(() =>
      checkTxn(store, leaseKeys, u, txn({ success: [{ requestTxn: txn({ success: [{ requestPut: put('zz') }] }) }] })),
    ),
    'permission denied',
    'nested txn',
  );
  checkTxn(store, leaseKeys, null, txn({})); // nothing to check: allowed even without a user

  // a role change bumps the revision and invalidates cached permissions
  apply(() => store.roleRevokePermission('r', b('a/'), b('a0')));
  const u2: AuthInfo = { username: 'u', revision: store.revision };
  fails(() => store.checkOp(u2, 'write', b('a/1'), b('')), 'permission denied');
  fails(() => store.checkOp(u, 'read', b('c'), b('')), 'revision of auth store is old');
});

test('passwords: bcrypt check, no-password users, auth must be on; tokens issued and dropped', async () => {
  const hash = await setupRoot();
  await assert.rejects(store.checkPassword('root', 'rootpw'), /authentication is not enabled/);
  apply(() => {
    store.userAdd('np', new Uint8Array(0), { noPassword: true });
    store.authEnable();
  });
  assert.equal(await store.checkPassword('root', 'rootpw'), store.revision);
  await assert.rejects(store.checkPassword('root', 'nope'), /authentication failed, invalid user ID or password/);
  await assert.rejects(store.checkPassword('ghost', 'x'), /authentication failed, invalid user ID or password/);
  await assert.rejects(
    store.checkPassword('np', ''),
    (e: unknown) =>
      e instanceof GrpcStatusError &&
      e.code === 2 &&
      e.message === 'auth: authentication failed, password was given for no password user',
  );
  let token = '';
  apply(() => (token = store.authenticate('root', 'abcdefghijklmnop', 12)));
  assert.equal(token, 'abcdefghijklmnop.12');
  assert.equal(store.tokens.info(token, store.revision)?.username, 'root');
  refuses(() => store.authenticate('np', 'x', 13), 'authentication failed, invalid user ID or password');
  refuses(() => store.authenticate('ghost', 'x', 13), 'authentication failed, invalid user ID or password');
  apply(() => store.userChangePassword('root', hash));
  assert.equal(store.tokens.info(token, store.revision), null, "a password change drops the user's tokens");
  apply(() => (token = store.authenticate('root', 'abcdefghijklmnop', 14)));
  apply(() => store.authDisable());
  assert.equal(store.tokens.info(token, store.revision), null, 'disabling drops all tokens');
  refuses(() => store.authenticate('root', 'x', 15), 'authentication is not enabled');
});

test('persisted in the backend: reloaded after reopening; a failed batch leaves memory as the backend', async () => {
  await setupRoot();
  apply(() => {
    store.roleAdd('r');
    store.roleGrantPermission('r', authpb.Permission.create({ permType: T.WRITE, key: b('k'), rangeEnd: b('\x00') }));
    store.userAdd('u'.repeat(3000), new Uint8Array(0), undefined); // longer than an LMDB key may be
    store.userGrantRole('u'.repeat(3000), 'r');
    store.authEnable();
  });
  const rev = store.revision;
  assert.throws(() =>
    apply(() => {
      store.roleAdd('doomed');
      throw new Error('crash in the middle of a batch');
    }),
  );
  assert.deepEqual(store.roleNames(), ['r']);
  assert.equal(store.revision, rev);
  store.close();
  await fx.reopen();
  store = new AuthStore(fx.backend, new SimpleTokenProvider(60_000));
  assert.ok(store.enabled);
  assert.equal(store.revision, rev);
  assert.deepEqual(store.userNames(), ['root', 'u'.repeat(3000)]);
  assert.deepEqual(store.userGet('u'.repeat(3000)), ['r']);
  assert.deepEqual(
    store.roleGet('r').map((p) => [p.permType, p.key.toString(), Buffer.from(p.rangeEnd).toString('hex')]),
    [[T.WRITE, 'k', '00']],
  );
  assert.equal(await store.checkPassword('root', 'rootpw'), rev);
  store.checkOp({ username: 'u'.repeat(3000), revision: rev }, 'write', b('zzz'), b(''));
});

test('the Authenticate body in the log: name and simple token, no password', () => {
  const body = encodeInternalAuthenticate({ name: 'root', simpleToken: 'abcdefghijklmnop' });
  assert.deepEqual(decodeInternalAuthenticate(body), { name: 'root', simpleToken: 'abcdefghijklmnop' });
  assert.equal(body.toString('hex'), `0a04${b('root').toString('hex')}1a10${b('abcdefghijklmnop').toString('hex')}`);
  assert.deepEqual(decodeInternalAuthenticate(encodeInternalAuthenticate({ name: 'j', simpleToken: '' })), {
    name: 'j',
    simpleToken: '',
  });
});

test("reloads when a snapshot replaced the backend (the leader's state wins)", async () => {
  await setupRoot();
  apply(() => {
    store.roleAdd('kept');
    store.authEnable();
  });
  const snap = `${fx.dir}/snap.db`;
  await fx.backend.snapshotTo(snap);
  const revAtSnapshot = store.revision;
  apply(() => {
    store.roleAdd('later');
    store.authDisable();
  });
  await fx.backend.restoreFrom(snap);
  store.load();
  assert.ok(store.enabled);
  assert.equal(store.revision, revAtSnapshot);
  assert.deepEqual(store.roleNames(), ['kept']);
  assert.deepEqual(store.userGet('root'), ['root']);
});
