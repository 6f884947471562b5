import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authpb } from '@conclave/api';
import { affineCompare, UnifiedPermissions } from './permissions.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const T = authpb.Permission_Type;

function perms(...ps: Array<[type: number, key: string, end?: string]>): UnifiedPermissions {
  const role = authpb.Role.create({
    name: b('r'),
    keyPermission: ps.map(([permType, key, end]) => ({
      permType: permType as authpb.Permission_Type,
      key: b(key),
      rangeEnd: b(end ?? ''),
    })),
  });
  return UnifiedPermissions.fromRoles([role]);
}

test('affine order: the empty string is +infinity', () => {
  assert.equal(affineCompare(b(''), b('')), 0);
  assert.equal(affineCompare(b(''), b('\xff\xff')), 1);
  assert.equal(affineCompare(b('a'), b('')), -1);
  assert.equal(affineCompare(b('a'), b('b')), -1);
  assert.equal(affineCompare(b('ab'), b('a')), 1);
});

test('single-key permission covers that key only', () => {
  const p = perms([T.READ, 'b']);
  assert.ok(p.permits('read', b('b'), b('')));
  assert.ok(!p.permits('read', b('b0'), b('')));
  assert.ok(!p.permits('read', b('a'), b('')));
  assert.ok(!p.permits('write', b('b'), b('')));
  // [b, b\0) is exactly the key; [b, c) is more
  assert.ok(p.permits('read', b('b'), b('b\x00')));
  assert.ok(!p.permits('read', b('b'), b('c')));
});

test('prefix and range permissions: keys and ranges inside, outside and straddling', () => {
  const p = perms([T.READWRITE, 'a/', 'a0'], [T.WRITE, 'c', 'c5']);
  assert.ok(p.permits('read', b('a/'), b('')));
  assert.ok(p.permits('read', b('a/x/y'), b('')));
  assert.ok(p.permits('write', b('a/'), b('a0')));
  assert.ok(p.permits('read', b('a/b'), b('a/c')));
  assert.ok(!p.permits('read', b('a'), b('a0')), 'starts before the prefix');
  assert.ok(!p.permits('read', b('a/'), b('a1')), 'ends after the prefix');
  assert.ok(!p.permits('read', b('a0'), b('')), 'end is exclusive');
  assert.ok(p.permits('write', b('c4\xff'), b('')));
  assert.ok(!p.permits('write', b('c5'), b('')));
  assert.ok(!p.permits('read', b('c1'), b('')));
  assert.ok(!p.permits('write', b('a/'), b('\x00')), 'from-key needs an open-ended permission');
});

test('open-ended permission ("\\0" range end) and from-key requests', () => {
  const p = perms([T.READ, 'd', '\x00']);
  assert.ok(p.permits('read', b('d'), b('')));
  assert.ok(p.permits('read', b('zzzz'), b('')));
  assert.ok(p.permits('read', b('e'), b('\x00')));
  assert.ok(p.permits('read', b('d'), b('\x00')));
  assert.ok(!p.permits('read', b('c'), b('\x00')));
  assert.ok(!p.permits('read', b('c'), b('')));
  // etcdctl's "whole key space" permission: key "\0", range end "\0"
  const all = perms([T.READ, '\x00', '\x00']);
  assert.ok(all.permits('read', b('\x00'), b('\x00')));
  assert.ok(all.permits('read', b('anything'), b('')));
});

test('ranges are covered by several adjacent or overlapping permissions, not across a gap', () => {
  const p = perms([T.READ, 'a', 'c'], [T.READ, 'c', 'e'], [T.READ, 'd', 'g'], [T.READ, 'h', 'k']);
  assert.ok(p.permits('read', b('a'), b('g')), 'adjacent then overlapping');
  assert.ok(p.permits('read', b('b'), b('f')));
  assert.ok(!p.permits('read', b('a'), b('i')), 'gap [g, h)');
  assert.ok(p.permits('read', b('h'), b('k')));
  assert.ok(!p.permits('read', b('g'), b('')));
});

test('permissions of several roles are merged; missing roles are skipped; read/write kept apart', () => {
  const r1 = authpb.Role.create({
    name: b('r1'),
    keyPermission: [{ permType: T.READ, key: b('a'), rangeEnd: b('m') }],
  });
  const r2 = authpb.Role.create({
    name: b('r2'),
    keyPermission: [
      { permType: T.WRITE, key: b('m'), rangeEnd: b('z') },
      { permType: T.READWRITE, key: b('x'), rangeEnd: b('') },
    ],
  });
  const p = UnifiedPermissions.fromRoles([r1, undefined, r2]);
  assert.ok(p.permits('read', b('c'), b('')));
  assert.ok(!p.permits('write', b('c'), b('')));
  assert.ok(p.permits('write', b('n'), b('p')));
  assert.ok(!p.permits('read', b('a'), b('z')));
  assert.ok(p.permits('read', b('x'), b('')));
  assert.ok(p.permits('write', b('x'), b('')));
  assert.ok(!UnifiedPermissions.fromRoles([]).permits('read', b('a'), b('')));
});

test('a permission whose key is empty covers nothing (the empty key is +infinity)', () => {
  const p = perms([T.READ, '', '\x00']);
  assert.ok(!p.permits('read', b('a'), b('')));
  assert.ok(!p.permits('read', b('\x00'), b('\x00')));
});
