// Command-line parsing with the semantics of Go's flag package, which etcd uses:
//   -flag, --flag, -flag=value, --flag=value, -flag value, --flag value
//   bools take no separate value: "--debug false" makes "false" a positional argument
//   a non-bool flag takes the next argument as its value even if it starts with "-"
//   parsing stops at the first non-flag argument or after "--"; the last occurrence wins
// Values are converted as they are parsed, and the first error stops parsing, with Go's texts.

import { FLAG_BY_NAME, type FlagSpec, type FlagValue } from './flags.js';
import { goQuote } from '../log/index.js';
import { parseGoBool, parseGoDuration, parseGoInt, parseGoUint, parseUrlList } from './go-values.js';

/** Converts a flag's string value to its typed value; returns Go's error text on failure. */
export function convertFlagValue(
  spec: FlagSpec,
  raw: string,
  current: FlagValue,
): { value: FlagValue } | { error: string } {
  const parseError = { error: 'parse error' };
  switch (spec.kind) {
    case 'string':
      return { value: raw };
    case 'ignored':
      return { value: true };
    case 'bool': {
      const b = parseGoBool(raw);
      return b === undefined ? parseError : { value: b };
    }
    case 'uint':
    case 'uint64':
    case 'int':
    case 'int64': {
      const r = spec.kind.startsWith('u') ? parseGoUint(raw, 64) : parseGoInt(raw, 64);
      if (!r.ok) return { error: r.error === 'range' ? 'value out of range' : 'parse error' };
      return { value: Number(r.value) };
    }
    case 'uint32': {
      const r = parseGoUint(raw, 32, 10);
      if (!r.ok)
        return {
          error: `strconv.ParseUint: parsing ${goQuote(raw)}: ${r.error === 'range' ? 'value out of range' : 'invalid syntax'}`,
        };
      return { value: Number(r.value) };
    }
    case 'duration': {
      const d = parseGoDuration(raw);
      return d.ok ? { value: Number(d.ns) / 1e6 } : parseError;
    }
    case 'urls':
    case 'cors':
      // Allowed exceptions that leave the list as it was: "" for URL flags, "*" for --cors.
      if (spec.kind === 'urls' ? raw === '' : raw === '*') return { value: current };
      try {
        return { value: parseUrlList(raw) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    case 'strings':
      return { value: raw.split(',') };
    case 'unique-strings':
      return { value: [...new Set(raw.split(','))].sort() };
    case 'enum':
      return spec.values?.includes(raw) ? { value: raw } : { error: 'invalid value' };
  }
}

export interface Assignment {
  readonly spec: FlagSpec;
  readonly raw: string;
  readonly value: FlagValue;
}

export type ArgvResult =
  | { readonly kind: 'ok'; readonly assignments: readonly Assignment[]; readonly positional: readonly string[] }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

/**
 * Parses argv (without the program name). `current` gives each flag's value before parsing (the
 * defaults), needed by flags whose empty value keeps the previous list.
 */
export function parseArgv(argv: readonly string[], current: (name: string) => FlagValue): ArgvResult {
  const assignments: Assignment[] = [];
  const latest = new Map<string, FlagValue>();
  const latestValue = (name: string): FlagValue => (latest.has(name) ? (latest.get(name) as FlagValue) : current(name));
  let i = 0;
  while (i < argv.length) {
    const s = argv[i] ?? '';
    if (s.length < 2 || s[0] !== '-') break;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        i++;
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=')
      return { kind: 'error', message: `bad flag syntax: ${s}` };
    i++;
    let hasValue = false;
    let value = '';
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      hasValue = true;
      name = name.slice(0, eq);
    }
    const spec = FLAG_BY_NAME.get(name);
    if (spec === undefined) {
      if (name === 'help' || name === 'h') return { kind: 'help' };
      return { kind: 'error', message: `flag provided but not defined: -${name}` };
    }
    if (spec.kind === 'bool' || spec.kind === 'ignored') {
      const raw = hasValue ? value : 'true';
      const r = convertFlagValue(spec, raw, latestValue(name));
      if ('error' in r)
        return { kind: 'error', message: `invalid boolean value ${goQuote(value)} for -${name}: ${r.error}` };
      assignments.push({ spec, raw, value: r.value });
      latest.set(name, r.value);
      continue;
    }
    if (!hasValue && i < argv.length) {
      value = argv[i] ?? '';
      hasValue = true;
      i++;
    }
    if (!hasValue) return { kind: 'error', message: `flag needs an argument: -${name}` };
    const r = convertFlagValue(spec, value, latestValue(name));
    if ('error' in r)
      return { kind: 'error', message: `invalid value ${goQuote(value)} for flag -${name}: ${r.error}` };
    assignments.push({ spec, raw: value, value: r.value });
    latest.set(name, r.value);
  }
  return { kind: 'ok', assignments, positional: argv.slice(i) };
}
