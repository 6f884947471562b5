// Conformance of auth: the same etcdctl sessions (user, role, auth, and KV with --user) and raw gRPC
// calls against the reference etcd 3.5 (etcd 3.5.30, whose auth checks Conclave follows; etcdctl is
// Debian's 3.4, an older client) and against Conclave, started with the same flags, must
// give the same output. Also simple-token expiry (--auth-token-ttl), JWT tokens (each server
// accepts the other's tokens made with the same key pair), TLS client-certificate CNs as user
// names, and auth state surviving a restart. Both servers run with --bcrypt-cost 4 to keep the
// many authentications of a session fast (etcd's default of 10 costs ~100 ms each).

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdserverpb } from '@conclave/api';
import { clientTlsFlags, HTTPS_CLIENT_URLS, makeTestCerts } from '../helpers/certs.js';
import { enableAuthCommands, etcdctl, type EtcdctlResult } from '../helpers/etcdctl.js';
import { CallError, RawClient } from '../helpers/grpc.js';
import { startServer, type ServerProcess, type StartOptions } from '../helpers/process.js';

const A = etcdserverpb.AuthService;
const K = etcdserverpb.KVService;
const FAST = ['--bcrypt-cost', '4'];
const ROOT = ['--user', 'root:rootpw'];
const U1 = ['--user', 'u1:u1pw'];

/**
 * etcdctl's stderr carries timestamps and retry chatter; compare only the "Error: ..." lines (with
 * the servers' addresses, which differ, masked).
 */
function errorLines(r: EtcdctlResult): string {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('Error:') || l.startsWith('Failed') || l.startsWith('watch was canceled'))
    .join('\n')
    .replace(/127\.0\.0\.1:\d+/g, 'ADDR');
}

/** Starts etcd and Conclave with the same flags, side by side. */
async function pair(opts: StartOptions = {}): Promise<[ServerProcess, ServerProcess]> {
  return Promise.all([startServer('etcd35', opts), startServer('conclave', opts)]);
}

interface Step {
  args: string[];
  input?: string;
}

/** Runs one etcdctl command against both servers (in parallel) and asserts the same outcome. */
async function same(
  servers: [ServerProcess, ServerProcess],
  step: Step,
  extraEtcdctl: string[] = [],
): Promise<EtcdctlResult> {
  const run = (s: ServerProcess) =>
    etcdctl(s.endpoint, [...extraEtcdctl, ...step.args], step.input === undefined ? {} : { input: step.input });
  const [a, b] = await Promise.all([run(servers[0]), run(servers[1])]);
  const what = `etcdctl ${step.args.join(' ')}`;
  assert.equal(b.code, a.code, `${what}: exit code (etcd: ${a.stdout}${a.stderr}; conclave: ${b.stdout}${b.stderr})`);
  const masked = (s: string) => s.replace(/127\.0\.0\.1:\d+/g, 'ADDR');
  assert.equal(masked(b.stdout), masked(a.stdout), `${what}: stdout`);
  assert.equal(errorLines(b), errorLines(a), `${what}: error (conclave stderr: ${b.stderr})`);
  return b;
}

const cmd = (...args: string[]): Step => ({ args });

/** The outcome of a raw call: 'ok' or "<code> <message>". */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof CallError) return `${e.code} ${e.details}`;
    throw e;
  }
}

describe('etcdctl user, role and auth against etcd 3.5 and Conclave', () => {
  let servers: [ServerProcess, ServerProcess];
  const ok = (...args: string[]) => same(servers, cmd(...args));

  before(async () => {
    servers = await pair({ args: FAST });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s?.stop()));
  });

  test('users and roles before auth is enabled: management, listing, etcd errors', async () => {
    await ok('auth', 'enable');
    await ok('user', 'add', 'root', '--new-user-password=rootpw');
    await ok('role', 'get', 'root');
    await ok('user', 'grant-role', 'root', 'root');
    await ok('-w', 'json', 'user', 'get', 'root');
    await ok('role', 'add', 'r1');
    await ok('role', 'grant-permission', 'r1', 'readwrite', 'a/', '--prefix');
    await ok('role', 'grant-permission', 'r1', 'read', 'b');
    await ok('role', 'grant-permission', 'r1', 'write', 'c', 'c5');
    await ok('role', 'grant-permission', 'r1', 'read', 'd', '--from-key');
    await ok('role', 'grant-permission', 'r1', 'read', 'b'); // again: updated in place
    await ok('role', 'get', 'r1');
    await ok('-w', 'json', 'role', 'get', 'r1');
    await ok('user', 'add', 'u1', '--new-user-password=u1pw');
    await ok('user', 'grant-role', 'u1', 'r1');
    await ok('user', 'grant-role', 'u1', 'r1');
    await ok('user', 'add', 'tmp', '--new-user-password=x');
    await ok('role', 'add', 'tmprole');
    await ok('user', 'list');
    await ok('role', 'list');
    await ok('-w', 'json', 'user', 'list');
    // errors
    await ok('user', 'add', 'u1', '--new-user-password=x');
    await ok('role', 'add', 'r1');
    await ok('user', 'delete', 'nobody');
    await ok('user', 'grant-role', 'nobody', 'r1');
    await ok('user', 'grant-role', 'u1', 'nosuch');
    await ok('user', 'revoke-role', 'u1', 'root');
    await ok('role', 'revoke-permission', 'r1', 'zzz');
    await ok('role', 'revoke-permission', 'nosuch', 'zzz');
    await ok('role', 'grant-permission', 'nosuch', 'read', 'x');
    await ok('role', 'delete', 'nosuch');
    await ok('user', 'get', 'nobody');
    await ok('auth', 'disable');
    await ok('user', 'delete', 'tmp');
    await ok('role', 'delete', 'tmprole');
    // root without the root role: etcdctl answers "root user does not have root role" by adding a
    // root role, granting it and enabling again
    await ok('user', 'revoke-role', 'root', 'root');
    await ok('auth', 'enable');
    await ok(...ROOT, 'role', 'list');
    await ok(...ROOT, '-w', 'json', 'role', 'get', 'root');
    await ok(...ROOT, 'auth', 'disable');
  });

  test('auth enable; root and a restricted user inside and outside their permissions', async () => {
    await ok('auth', 'enable');
    // without credentials
    await ok('get', 'a/1');
    await ok('put', 'a/1', 'x');
    await ok('user', 'list');
    await ok('auth', 'enable');
    await ok(...ROOT, 'auth', 'enable');
    // root may do anything
    await ok(...ROOT, 'put', 'foo', 'bar');
    await ok(...ROOT, '-w', 'json', 'get', 'foo');
    await ok(...ROOT, 'put', 'zz', '1');
    await ok(...ROOT, 'put', 'c1', 'root-wrote');
    // u1: readwrite a/*, read b, write [c, c5), read d and after
    await ok(...U1, 'put', 'a/1', 'x');
    await ok(...U1, '-w', 'json', 'get', 'a/', '--prefix');
    await ok(...U1, 'get', 'a', '--prefix');
    await ok(...U1, 'put', 'b', '1');
    await ok(...U1, 'get', 'b');
    await ok(...U1, 'get', 'c1');
    await ok(...U1, 'put', 'c1', 'v');
    await ok(...U1, 'put', 'c5', 'v');
    await ok(...U1, 'put', 'c2', 'y', '--prev-kv');
    await ok(...U1, 'get', 'd', '--from-key');
    await ok(...U1, 'get', 'e', '--from-key');
    await ok(...U1, 'get', 'c', '--from-key');
    await ok(...U1, 'get', '', '--from-key');
    await ok(...U1, 'del', 'a/1', '--prev-kv');
    await ok(...U1, 'del', 'c1', '--prev-kv');
    await ok(...U1, 'del', 'c1');
    await ok(...U1, 'del', 'zz');
    await ok(...U1, 'compaction', '1');
    // txn: compares need read, both branches are checked
    await same(servers, {
      args: [...U1, '-w', 'json', 'txn'],
      input: 'val("a/4") = "z"\n\nput a/4 z\n\nput a/5 1\n\n',
    });
    await same(servers, { args: [...U1, 'txn'], input: '\nput a/3 z\n\nput zz 1\n\n' });
    await same(servers, { args: [...U1, 'txn'], input: 'val("c2") = "1"\n\nput a/4 z\n\n' });
    await same(servers, { args: [...U1, 'txn'], input: 'val("zz") = "1"\n\nput a/4 z\n\n' });
    await same(servers, { args: [...U1, 'txn'], input: '\n\nget c2\n\n' });
    await same(servers, { args: [...U1, '-w', 'json', 'txn'], input: '\n\nget b\nget a/4\n\n' });
    // wrong credentials
    await ok('--user', 'u1:bad', 'get', 'a/1');
    await ok('--user', 'nobody:bad', 'get', 'a/1');
  });

  test('with auth on: who may manage users and roles, maintenance and membership', async () => {
    await ok(...U1, 'user', 'get', 'u1');
    await ok(...U1, 'user', 'get', 'root');
    await ok(...U1, 'role', 'get', 'r1');
    await ok(...U1, 'role', 'get', 'root');
    await ok(...U1, 'user', 'list');
    await ok(...U1, 'role', 'list');
    await ok(...U1, 'user', 'add', 'q', '--new-user-password=q');
    await ok(...U1, 'role', 'add', 'q');
    await ok(...U1, 'auth', 'disable');
    await ok(...U1, 'member', 'add', 'm2', '--peer-urls', 'http://127.0.0.1:1');
    await ok(...U1, 'endpoint', 'hashkv');
    await ok(...U1, 'defrag');
    await ok(...U1, 'alarm', 'list');
    await ok('alarm', 'list');
    await ok('defrag');
    await ok(...ROOT, 'endpoint', 'hashkv');
    await ok(...ROOT, 'user', 'delete', 'root');
    await ok(...ROOT, 'role', 'delete', 'root');
    await ok(...ROOT, 'user', 'revoke-role', 'root', 'root');
    await ok(...ROOT, 'user', 'add', 'root', '--new-user-password=x');
    // a new password: the old one fails, the new one (read from stdin) works
    await same(servers, { args: [...ROOT, 'user', 'passwd', 'u1', '--interactive=false'], input: 'u1new\n' });
    await ok(...U1, 'get', 'a/4');
    await ok('--user', 'u1:u1new', 'get', 'a/4');
    // permissions taken away apply at once
    await ok(...ROOT, 'role', 'revoke-permission', 'r1', 'a/', 'a0');
    await ok('--user', 'u1:u1new', 'put', 'a/6', 'x');
    await ok(...ROOT, 'role', 'get', 'r1');
    await ok(...ROOT, 'user', 'revoke-role', 'u1', 'r1');
    await ok(...ROOT, 'user', 'get', 'u1');
    await ok(...ROOT, 'user', 'grant-role', 'u1', 'root');
    await ok('--user', 'u1:u1new', 'put', 'a/6', 'x');
    await ok(...ROOT, 'role', 'delete', 'r1');
    await ok(...ROOT, 'user', 'delete', 'u1');
    await ok(...ROOT, 'user', 'list');
    await ok(...ROOT, 'role', 'list');
    await ok(...ROOT, 'auth', 'disable');
    await ok('auth', 'disable');
    await ok('-w', 'json', 'get', '', '--from-key', '--keys-only');
  });

  test('raw gRPC: tokens and missing credentials on each service, as etcd answers them', async () => {
    const clients = servers.map((s) => new RawClient(s.endpoint));
    try {
      const results: string[][] = [[], []];
      await Promise.all(
        clients.map(async (c, i) => {
          const out = results[i]!;
          const bad = { metadata: { token: 'bogus' } };
          const M = etcdserverpb.MaintenanceService;
          const L = etcdserverpb.LeaseService;
          out.push(await outcome(c.unary(A.Authenticate, { name: 'root', password: 'rootpw' })));
          out.push(await outcome(c.unary(K.Range, { key: Buffer.from('a') }, bad)));
          await c.unary(A.AuthEnable, {});
          const token = (await c.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token;
          out.push(/^[a-zA-Z]{16}\.\d+$/.test(token) ? 'simple token' : token);
          const root = { metadata: { token } };
          out.push(await outcome(c.unary(K.Txn, {})));
          out.push(await outcome(c.unary(K.Txn, { success: [{ requestRange: { key: Buffer.from('a') } }] })));
          out.push(await outcome(c.unary(K.Compact, { revision: 1n }, bad)));
          out.push(await outcome(c.unary(M.Status, {}, bad)));
          out.push(await outcome(c.unary(M.Alarm, {}, bad)));
          out.push(await outcome(c.unary(M.Hash, {})));
          out.push(await outcome(c.unary(M.HashKV, {}, root)));
          out.push(await outcome(c.unary(etcdserverpb.ClusterService.MemberList, {}, bad)));
          out.push(await outcome(c.unary(L.LeaseGrant, { TTL: 100n, ID: 77n }, bad)));
          out.push(await outcome(c.unary(L.LeaseGrant, { TTL: 100n, ID: 77n })));
          out.push(await outcome(c.unary(K.Put, { key: Buffer.from('leased'), lease: 77n }, root)));
          out.push(await outcome(c.unary(L.LeaseRevoke, { ID: 77n })));
          out.push(await outcome(c.unary(L.LeaseTimeToLive, { ID: 77n, keys: true }, bad)));
          out.push(await outcome(c.unary(L.LeaseRevoke, { ID: 77n }, root)));
          out.push(await outcome(c.unary(A.UserAdd, { name: 'np', options: { noPassword: true } }, root)));
          out.push(await outcome(c.unary(A.Authenticate, { name: 'np', password: '' })));
          out.push(await outcome(c.unary(A.RoleGrantPermission, { name: 'nosuch' }, root)));
          out.push(await outcome(c.unary(A.UserDelete, { name: 'np' }, root)));
          out.push(await outcome(c.unary(A.UserChangePassword, { name: 'root', password: 'rootpw' }, root)));
          out.push(await outcome(c.unary(K.Range, { key: Buffer.from('a') }, root)));
          const t2 = (await c.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token;
          out.push(await outcome(c.unary(A.AuthDisable, {}, { metadata: { token: t2 } })));
          out.push(await outcome(c.unary(K.Range, { key: Buffer.from('a') }, { metadata: { token: t2 } })));
        }),
      );
      assert.deepEqual(results[1], results[0]);
      assert.equal(results[0]![2], 'simple token');
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('tokens: simple-token expiry (--auth-token-ttl) and JWT', () => {
  const keyDir = mkdtempSync(join(tmpdir(), 'conclave-jwt-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(join(keyDir, 'jwt.key'), privateKey);
  writeFileSync(join(keyDir, 'jwt.pub'), publicKey);
  const jwtFlag = `jwt,pub-key=${join(keyDir, 'jwt.pub')},priv-key=${join(keyDir, 'jwt.key')},sign-method=RS256,ttl=3s`;
  let simple: [ServerProcess, ServerProcess];
  let jwt: [ServerProcess, ServerProcess];

  before(async () => {
    [simple, jwt] = await Promise.all([
      pair({ args: [...FAST, '--auth-token-ttl', '1'] }),
      pair({ args: [...FAST, '--auth-token', jwtFlag] }),
    ]);
    await Promise.all(
      [...simple, ...jwt].map(async (s) => {
        for (const args of enableAuthCommands()) {
          const r = await etcdctl(s.endpoint, args);
          assert.equal(r.code, 0, r.stderr);
        }
      }),
    );
  });
  after(async () => {
    await Promise.all([...(simple ?? []), ...(jwt ?? [])].map((s) => s?.stop()));
    rmSync(keyDir, { recursive: true, force: true });
  });

  test('a token idle longer than its TTL is invalid; a JWT past its exp too; JWTs of one server work on the other', async () => {
    // (The JWTs live 3 s: everything up to the wait below must happen before they expire.)
    const all = [...simple, ...jwt];
    const clients = all.map((s) => new RawClient(s.endpoint));
    try {
      const tokens = await Promise.all(
        clients.map(async (c) => (await c.unary(A.Authenticate, { name: 'root', password: 'rootpw' })).token),
      );
      const range = (c: RawClient, token: string) =>
        outcome(c.unary(K.Range, { key: Buffer.from('k') }, { metadata: { token } }));
      assert.deepEqual(await Promise.all(clients.map((c, i) => range(c, tokens[i]!))), ['ok', 'ok', 'ok', 'ok']);
      // JWTs: etcd's shape, and signatures each server accepts from the other (same keys, same revision)
      const [, , je, jc] = tokens as [string, string, string, string];
      for (const t of [je, jc]) {
        const [h, claims] = t.split('.').map((p) => Buffer.from(p, 'base64url').toString());
        assert.equal(h, '{"alg":"RS256","typ":"JWT"}');
        assert.match(claims!, /^\{"exp":\d+,"revision":3,"username":"root"\}$/);
      }
      assert.equal(await range(clients[3]!, je), 'ok', "etcd's JWT on Conclave");
      assert.equal(await range(clients[2]!, jc), 'ok', "Conclave's JWT on etcd");
      // an auth change: a JWT carries the old revision and is refused; simple tokens are not
      await Promise.all(clients.map((c, i) => c.unary(A.RoleAdd, { name: 'x' }, { metadata: { token: tokens[i]! } })));
      const afterChange = await Promise.all(clients.map((c, i) => range(c, tokens[i]!)));
      assert.deepEqual(afterChange, [
        'ok',
        'ok',
        '3 etcdserver: revision of auth store is old',
        '3 etcdserver: revision of auth store is old',
      ]);
      // idle past the simple tokens' TTL (1 s; etcd checks once a second) and past the JWTs' exp
      // (whole seconds; valid through that second)
      const lastUse = Date.now();
      const exp = Math.max(
        ...[je, jc].map(
          (t) => (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp,
        ),
      );
      await new Promise((r) => setTimeout(r, Math.max(lastUse + 2200, (exp + 1) * 1000 + 100) - Date.now()));
      const expired = await Promise.all(clients.map((c, i) => range(c, tokens[i]!)));
      assert.deepEqual(expired, Array(4).fill('16 etcdserver: invalid auth token'));
      // etcdctl authenticates afresh and works
      for (const s of all) {
        const r = await etcdctl(s.endpoint, [...ROOT, 'put', 'k', 'v']);
        assert.equal(r.code, 0, `${s.kind}: ${r.stderr}`);
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('TLS client certificates name the user with --client-cert-auth', () => {
  const certs = makeTestCerts();
  let servers: [ServerProcess, ServerProcess];
  const tls = ['--cacert', certs.caFile, '--cert', certs.clientCertFile, '--key', certs.clientKeyFile];

  before(async () => {
    servers = await pair({
      args: [
        ...FAST,
        ...HTTPS_CLIENT_URLS,
        ...clientTlsFlags({ certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile }),
      ],
    });
  });
  after(async () => {
    await Promise.all((servers ?? []).map((s) => s?.stop()));
    certs.remove();
  });

  test('the CN "client" is the user when no token is given; a token takes precedence', async () => {
    const ok = (...args: string[]) => same(servers, cmd(...args), tls);
    await ok('user', 'add', 'root', '--new-user-password=rootpw');
    await ok('user', 'grant-role', 'root', 'root');
    await ok('user', 'add', 'client', '--new-user-password=pw');
    await ok('role', 'add', 'tls');
    await ok('role', 'grant-permission', 'tls', 'readwrite', 'tls/', '--prefix');
    await ok('user', 'grant-role', 'client', 'tls');
    await ok('auth', 'enable');
    await ok('put', 'tls/a', '1');
    await ok('get', 'tls/', '--prefix');
    await ok('put', 'other', '1');
    await ok('user', 'list');
    await ok(...ROOT, 'put', 'other', '1');
    await ok(...ROOT, 'user', 'list');
    await ok(...ROOT, 'auth', 'disable');
  });
});

describe('auth state survives a restart', () => {
  test('users, roles, permissions and the enabled flag after a restart', async () => {
    const dirs = ['etcd', 'conclave'].map((k) =>
      join(mkdtempSync(join(tmpdir(), `auth-restart-${k}-`)), 'default.etcd'),
    );
    let servers = await Promise.all([
      startServer('etcd35', { args: FAST, dataDir: dirs[0]! }),
      startServer('conclave', { args: FAST, dataDir: dirs[1]! }),
    ]);
    try {
      for (const args of [...enableAuthCommands('p/'), ['--user', 'u:upw', 'put', 'p/1', 'before']]) {
        await same(servers, cmd(...args));
      }
      await Promise.all(servers.map((s) => s.kill()));
      servers = await Promise.all([
        startServer('etcd35', { args: FAST, dataDir: dirs[0]! }),
        startServer('conclave', { args: FAST, dataDir: dirs[1]! }),
      ]);
      await same(servers, cmd('get', 'p/1'));
      await same(servers, cmd('--user', 'u:upw', 'get', 'p/', '--prefix'));
      await same(servers, cmd('--user', 'u:upw', 'put', 'q', 'x'));
      await same(servers, cmd('--user', 'u:wrong', 'get', 'p/1'));
      await same(servers, cmd(...ROOT, 'user', 'list'));
      await same(servers, cmd(...ROOT, '-w', 'json', 'role', 'get', 'r'));
    } finally {
      await Promise.all(servers.map((s) => s.kill('SIGKILL')));
      for (const d of dirs) rmSync(join(d, '..'), { recursive: true, force: true });
    }
  });
});
