// Transaction conditions: `cmp.version(key, '=', 0)`, `cmp.value(key, '!=', 'x')`, … covering every
// etcd compare target. A condition may span a range of keys (`{ prefix: true }`, `{ end }`,
// `{ fromKey: true }`): then every key in the range must satisfy it.

import type { etcdserverpb, PartialMessage } from '@conclave/api';
import { toBytes, type Bytes, type RangeSpec } from '../util/bytes.js';
import { checkBytes, checkInt, options } from '../util/validate.js';
import { checkRangeSpec, wireRange } from '../kv/requests.js';

/** How a compare target is compared with the operand (`=` and `==` are the same). */
export type CompareOperator = '=' | '==' | '!=' | '>' | '<';
/** What a transaction condition looks at. */
export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';

/** A transaction condition, made by `cmp.*`. */
export interface Compare {
  readonly target: CompareTarget;
  readonly key: Bytes;
  readonly operator: CompareOperator;
  readonly operand: bigint | number | Bytes;
  readonly range: RangeSpec | undefined;
}

const RESULT: Record<CompareOperator, etcdserverpb.Compare_CompareResult> = {
  '=': 0,
  '==': 0,
  '>': 1,
  '<': 2,
  '!=': 3,
};
const TARGET: Record<CompareTarget, etcdserverpb.Compare_CompareTarget> = {
  version: 0,
  createRevision: 1,
  modRevision: 2,
  value: 3,
  lease: 4,
};

function make(
  target: CompareTarget,
  key: Bytes,
  operator: CompareOperator,
  operand: bigint | number | Bytes,
  range?: RangeSpec,
): Compare {
  const where = `cmp.${target}`;
  checkBytes(key, `${where}: key`);
  if (typeof operator !== 'string' || !Object.hasOwn(RESULT, operator))
    throw new TypeError(`${where}: unknown compare operator ${JSON.stringify(operator)} (one of = == != > <)`);
  if (target === 'value') checkBytes(operand, `${where}: value`);
  else checkInt(operand, `${where}: ${target === 'lease' ? 'lease' : target === 'version' ? 'version' : 'revision'}`);
  if (range !== undefined) checkRangeSpec(options(range, `${where}: range`), `${where}: range`);
  return { target, key, operator, operand, range };
}

const TARGETS = new Set<unknown>(Object.keys(TARGET));

/** Whether `v` is a condition made by `cmp.*`. */
export function isCompare(v: unknown): v is Compare {
  return typeof v === 'object' && v !== null && TARGETS.has((v as Compare).target);
}

/** Builders for transaction conditions. */
export const cmp = {
  /** The key's version (0 when the key does not exist). */
  version: (key: Bytes, operator: CompareOperator, version: bigint | number, range?: RangeSpec): Compare =>
    make('version', key, operator, version, range),
  /** The key's create revision (0 when the key does not exist). */
  createRevision: (key: Bytes, operator: CompareOperator, revision: bigint | number, range?: RangeSpec): Compare =>
    make('createRevision', key, operator, revision, range),
  /** The key's last modification revision (0 when the key does not exist). */
  modRevision: (key: Bytes, operator: CompareOperator, revision: bigint | number, range?: RangeSpec): Compare =>
    make('modRevision', key, operator, revision, range),
  /** The key's value (a missing key fails every value comparison). */
  value: (key: Bytes, operator: CompareOperator, value: Bytes, range?: RangeSpec): Compare =>
    make('value', key, operator, value, range),
  /** The key's lease ID (0 for none). */
  lease: (key: Bytes, operator: CompareOperator, lease: bigint | number, range?: RangeSpec): Compare =>
    make('lease', key, operator, lease, range),
};

export function compareRequest(prefix: Uint8Array, c: Compare): PartialMessage<etcdserverpb.Compare> {
  const r = wireRange(prefix, c.key, c.range);
  const m: PartialMessage<etcdserverpb.Compare> = {
    result: RESULT[c.operator],
    target: TARGET[c.target],
    key: r.key,
    rangeEnd: r.rangeEnd,
  };
  const n = (): bigint => {
    if (typeof c.operand === 'bigint') return c.operand;
    if (typeof c.operand === 'number') return BigInt(c.operand);
    throw new TypeError(`compare on ${c.target} takes a number or bigint`);
  };
  if (c.target !== 'value') m[c.target] = n();
  else if (typeof c.operand === 'bigint' || typeof c.operand === 'number')
    throw new TypeError('compare on value takes a string or Uint8Array');
  else m.value = toBytes(c.operand);
  return m;
}
