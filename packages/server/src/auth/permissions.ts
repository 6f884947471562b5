// Key-range permissions as etcd's auth store evaluates them (auth/range_perm_cache.go with the
// adt interval tree): a user's permissions are the union of the permissions of their roles,
// kept as two sets of byte intervals (read, write). Keys compare as "affine" byte strings: the
// empty string is +infinity (so an empty range end means "to the end of the key space", and so,
// as in etcd, does an empty key at the start of a permission). A permission with range end "\0"
// is open-ended; one without a range end covers exactly its key: [key, key + "\0").
//
// A single key is permitted when some interval contains it; a range [key, end) only when the
// intervals that overlap it cover it without a gap (etcd's IntervalTree.Contains).

import { authpb } from '@conclave/api';

const EMPTY = Buffer.alloc(0);
const ZERO = Buffer.from([0]);

/** Affine comparison: the empty string is greater than every other string. */
export function affineCompare(a: Uint8Array, b: Uint8Array): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

export interface Interval {
  begin: Uint8Array;
  /** Exclusive; empty = +infinity. */
  end: Uint8Array;
}

/** etcd's Interval.Compare: 0 when `a` overlaps `b`, -1 when `a` lies left of it, 1 right of it. */
function overlapCompare(a: Interval, b: Interval): number {
  if (affineCompare(a.begin, b.begin) < 0 && affineCompare(a.end, b.begin) <= 0) return -1;
  if (affineCompare(a.begin, b.end) >= 0) return 1;
  return 0;
}

/** The key after `key` in byte order: key + "\0" (the exclusive end of a single-key interval). */
export function pointEnd(key: Uint8Array): Buffer {
  return Buffer.concat([key, ZERO]);
}

/** The interval a stored permission grants. */
export function permissionInterval(p: authpb.Permission): Interval {
  if (p.rangeEnd.length === 0) return { begin: p.key, end: pointEnd(p.key) };
  const openEnded = p.rangeEnd.length === 1 && p.rangeEnd[0] === 0;
  return { begin: p.key, end: openEnded ? EMPTY : p.rangeEnd };
}

/** A set of intervals sorted by begin (ties keep insertion order, as the tree's in-order walk does). */
export class IntervalSet {
  private readonly items: Interval[] = [];
  private sorted = true;

  insert(iv: Interval): void {
    this.items.push(iv);
    this.sorted = false;
  }

  get size(): number {
    return this.items.length;
  }

  private list(): Interval[] {
    if (!this.sorted) {
      // Array.prototype.sort is stable: equal begins stay in insertion order.
      this.items.sort((a, b) => affineCompare(a.begin, b.begin));
      this.sorted = true;
    }
    return this.items;
  }

  /** Does some interval contain `key`? (etcd's Intersects with a point). */
  containsKey(key: Uint8Array): boolean {
    const pt: Interval = { begin: key, end: pointEnd(key) };
    for (const iv of this.list()) if (overlapCompare(pt, iv) === 0) return true;
    return false;
  }

  /** Do the intervals overlapping `range` cover all of it without a gap? (etcd's Contains). */
  covers(range: Interval): boolean {
    let minBegin: Uint8Array | null = null;
    let maxEnd: Uint8Array = EMPTY;
    for (const iv of this.list()) {
      if (overlapCompare(range, iv) !== 0) continue;
      if (minBegin === null) {
        minBegin = iv.begin;
        maxEnd = iv.end;
        continue;
      }
      if (affineCompare(maxEnd, iv.begin) < 0) return false;
      if (affineCompare(iv.end, maxEnd) > 0) maxEnd = iv.end;
    }
    return minBegin !== null && affineCompare(maxEnd, range.end) >= 0 && affineCompare(minBegin, range.begin) <= 0;
  }
}

/** What one user may read and write: the union of their roles' permissions. */
export class UnifiedPermissions {
  readonly read = new IntervalSet();
  readonly write = new IntervalSet();

  static fromRoles(roles: Iterable<authpb.Role | undefined>): UnifiedPermissions {
    const u = new UnifiedPermissions();
    for (const role of roles) {
      if (!role) continue;
      for (const p of role.keyPermission) {
        const iv = permissionInterval(p);
        if (p.permType === authpb.Permission_Type.READ || p.permType === authpb.Permission_Type.READWRITE)
          u.read.insert(iv);
        if (p.permType === authpb.Permission_Type.WRITE || p.permType === authpb.Permission_Type.READWRITE)
          u.write.insert(iv);
      }
    }
    return u;
  }

  /**
   * Is the request range permitted? `rangeEnd` empty = the single key; "\0" = every key from `key`
   * on (etcd's isRangeOpPermitted).
   */
  permits(type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean {
    const set = type === 'read' ? this.read : this.write;
    if (rangeEnd.length === 0) return set.containsKey(key);
    const end = rangeEnd.length === 1 && rangeEnd[0] === 0 ? EMPTY : rangeEnd;
    return set.covers({ begin: key, end });
  }
}
