// Argument checks at the API edge. TypeScript types vanish at run time, and the wire encoder turns
// a wrong type into an empty field (a number as a value stored ''), so every public entry point
// checks what it is given and throws a TypeError naming the argument. The checks are typeof tests:
// cheap enough for the hot path of put/get.

/** A short description of a value for an error message: `number 42`, `object`, `undefined`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof v} ${String(v)}${typeof v === 'bigint' ? 'n' : ''}`;
    case 'object': {
      const name = (v as object).constructor?.name;
      return name && name !== 'Object' ? `a ${name}` : 'an object';
    }
    default:
      return typeof v;
  }
}

/** Throws `TypeError("<where> must be <what>, got <v>")`. */
export function invalid(where: string, what: string, v: unknown): never {
  throw new TypeError(`${where} must be ${what}, got ${describe(v)}`);
}

/** A key or value: a string (UTF-8) or a Uint8Array (Buffer included). */
export function checkBytes(v: unknown, where: string): void {
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) invalid(where, 'a string or Uint8Array', v);
}

/** A string. */
export function checkString(v: unknown, where: string, nonEmpty = false): void {
  if (typeof v !== 'string') invalid(where, nonEmpty ? 'a non-empty string' : 'a string', v);
  if (nonEmpty && v === '') invalid(where, 'a non-empty string', v);
}

/**
 * An integer number (safe) or bigint, at least `min`: lease IDs and revisions (int64), member IDs
 * (`unsigned`: uint64).
 */
export function checkInt(v: unknown, where: string, min = 0, unsigned = false): void {
  if (typeof v === 'bigint') {
    if (v < BigInt(min)) invalid(where, `an integer ≥ ${min}`, v);
    if (v >= (unsigned ? 2n ** 64n : 2n ** 63n)) invalid(where, unsigned ? 'a uint64' : 'an int64', v);
    return;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) invalid(where, `an integer ≥ ${min}`, v);
}

/** A TTL in whole seconds, at least 1 (etcd's own minimum is applied by the server). */
export function checkTtl(v: unknown, where: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    invalid(where, 'a positive integer number of seconds', v);
}

/** A count or size: an integer number at least `min`. */
export function checkCount(v: unknown, where: string, min = 1): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) invalid(where, `an integer ≥ ${min}`, v);
}

/** A duration in milliseconds: a finite number > 0 (or ≥ 0 with `zero`). */
export function checkMs(v: unknown, where: string, zero = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!zero && v === 0))
    invalid(where, zero ? 'a finite number of milliseconds ≥ 0' : 'a positive finite number of milliseconds', v);
}

/** A boolean flag. */
export function checkBool(v: unknown, where: string): void {
  if (typeof v !== 'boolean') invalid(where, 'a boolean', v);
}

/** A function. */
export function checkFunction(v: unknown, where: string): void {
  if (typeof v !== 'function') invalid(where, 'a function', v);
}

/** One of `choices`. */
export function checkChoice(v: unknown, where: string, choices: readonly string[]): void {
  if (typeof v !== 'string' || !choices.includes(v))
    invalid(where, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
}

/** An options object (or undefined); returns it, `{}` for undefined. */
export function options<T extends object>(v: T | undefined, where: string): T {
  if (v === undefined) return {} as T;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid(where, 'an options object', v);
  return v;
}

/** An AbortSignal. */
export function checkSignal(v: unknown, where: string): void {
  if (!(v instanceof AbortSignal)) invalid(where, 'an AbortSignal', v);
}

/**
 * The options every call takes: `signal` (AbortSignal), `timeoutMs` (> 0), `requireLeader`
 * (boolean). Returns the object (`{}` for undefined).
 */
export function callOptions<T extends { signal?: AbortSignal; timeoutMs?: number; requireLeader?: boolean }>(
  v: T | undefined,
  where: string,
): T {
  const o = options(v, `${where}: options`);
  if (o.signal !== undefined) checkSignal(o.signal, `${where}: options.signal`);
  if (o.timeoutMs !== undefined) checkMs(o.timeoutMs, `${where}: options.timeoutMs`);
  if (o.requireLeader !== undefined) checkBool(o.requireLeader, `${where}: options.requireLeader`);
  return o;
}
