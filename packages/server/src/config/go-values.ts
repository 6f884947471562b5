// Parsers that accept exactly what etcd's Go flag values accept, with Go's error texts:
// strconv.ParseBool, strconv.ParseUint/ParseInt with base 0 (as Go's flag package uses: "0x10",
// "0o17", "017", "1_000"), time.ParseDuration, net.SplitHostPort, and etcd's types.NewURLs.

import { isIP } from 'node:net';
import { goQuote } from '../log/index.js';

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
  }
  return undefined;
}

/** Result of an integer parse: the value, or Go's error class ("parse error" / "value out of range"). */
export type IntResult = { ok: true; value: bigint } | { ok: false; error: 'syntax' | 'range' };

const lower = (c: string): string => c.toLowerCase();

/** Go's underscoreOK: underscores only between digits (a base prefix counts as a digit). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1] ?? ''))) {
    i = 2;
    saw = '0';
    hex = lower(s[1] ?? '') === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** Go's strconv.ParseUint(s, base, bits); base 0 infers the base from the prefix. */
export function parseGoUint(s: string, bits: number, base = 0): IntResult {
  if (s === '') return { ok: false, error: 'syntax' };
  const s0 = s;
  const base0 = base === 0;
  if (base0) {
    base = 10;
    if (s[0] === '0') {
      const p = lower(s[1] ?? '');
      if (s.length >= 3 && p === 'b') [base, s] = [2, s.slice(2)];
      else if (s.length >= 3 && p === 'o') [base, s] = [8, s.slice(2)];
      else if (s.length >= 3 && p === 'x') [base, s] = [16, s.slice(2)];
      else [base, s] = [8, s.slice(1)];
    }
  }
  const max = (1n << BigInt(bits)) - 1n;
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    let d: number;
    if (c === '_' && base0) {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
    else if (lower(c) >= 'a' && lower(c) <= 'z') d = lower(c).charCodeAt(0) - 87;
    else return { ok: false, error: 'syntax' };
    if (d >= base) return { ok: false, error: 'syntax' };
    n = n * BigInt(base) + BigInt(d);
    if (n > max) return { ok: false, error: 'range' };
  }
  if (underscores && !underscoreOK(s0)) return { ok: false, error: 'syntax' };
  return { ok: true, value: n };
}

/** Go's strconv.ParseInt(s, 0, bits). */
export function parseGoInt(s: string, bits: number): IntResult {
  if (s === '') return { ok: false, error: 'syntax' };
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    body = s.slice(1);
  }
  const u = parseGoUint(body, bits);
  if (!u.ok) return u;
  const cutoff = 1n << BigInt(bits - 1);
  if (!neg && u.value >= cutoff) return { ok: false, error: 'range' };
  if (neg && u.value > cutoff) return { ok: false, error: 'range' };
  return { ok: true, value: neg ? -u.value : u.value };
}

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n, // U+00B5
  μs: 1000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.ParseDuration: nanoseconds, or Go's error text ("time: invalid duration \"x\""). */
export function parseGoDuration(orig: string): { ok: true; ns: bigint } | { ok: false; error: string } {
  const invalid = { ok: false as const, error: `time: invalid duration ${goQuote(orig)}` };
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ns: 0n };
  if (s === '') return invalid;
  const limit = 1n << 63n;
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) return invalid;
    const lead = /^[0-9]*/.exec(s)?.[0] ?? '';
    s = s.slice(lead.length);
    let v = lead === '' ? 0n : BigInt(lead);
    if (v > limit) return invalid;
    let frac = '';
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      frac = /^[0-9]*/.exec(s)?.[0] ?? '';
      s = s.slice(frac.length);
      post = frac !== '';
    }
    if (lead === '' && !post) return invalid;
    const unitText = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    if (unitText === '') return { ok: false, error: `time: missing unit in duration ${goQuote(orig)}` };
    s = s.slice(unitText.length);
    const unit = UNIT_NS[unitText];
    if (unit === undefined) {
      return { ok: false, error: `time: unknown unit ${goQuote(unitText)} in duration ${goQuote(orig)}` };
    }
    if (v > limit / unit) return invalid;
    v *= unit;
    if (frac !== '') {
      // Go computes this in float64 too: uint64(float64(f) * (float64(unit) / scale)).
      const f = Number(frac.slice(0, 18));
      const scale = 10 ** Math.min(frac.length, 18);
      v += BigInt(Math.trunc(f * (Number(unit) / scale)));
      if (v > limit) return invalid;
    }
    d += v;
    if (d > limit) return invalid;
  }
  if (neg) return { ok: true, ns: -d };
  if (d > limit - 1n) return invalid;
  return { ok: true, ns: d };
}

/** Go's net.SplitHostPort; the error text is Go's AddrError ("address x: missing port in address"). */
export function splitHostPort(hostport: string): { host: string; port: string } | { error: string } {
  const fail = (why: string): { error: string } => ({ error: `address ${hostport}: ${why}` });
  const i = hostport.lastIndexOf(':');
  if (i < 0) return fail('missing port in address');
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return fail("missing ']' in address");
    if (end + 1 === hostport.length) return fail('missing port in address');
    if (end + 1 !== i)
      return fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return fail('too many colons in address');
  }
  if (hostport.slice(j).includes('[')) return fail("unexpected '[' in address");
  if (hostport.slice(k).includes(']')) return fail("unexpected ']' in address");
  return { host, port: hostport.slice(i + 1) };
}

/** Go's net.ParseIP(s) != nil (no zones, no brackets). */
export function isGoIP(s: string): boolean {
  return !s.includes('%') && isIP(s) !== 0;
}

export type UrlScheme = 'http' | 'https' | 'unix' | 'unixs';

/**
 * A URL from an etcd URL flag, kept as written (Go's net/url does not normalize the way WHATWG URL
 * does: no default-port stripping, no host lower-casing). `host` is "host:port".
 */
export interface EtcdUrl {
  readonly scheme: UrlScheme;
  /** "127.0.0.1:2379", "[::1]:2379", "localhost:2379" */
  readonly host: string;
  /** The host without port or brackets: "127.0.0.1", "::1", "localhost" */
  readonly hostname: string;
  readonly port: string;
  /** scheme://host, as Go's url.URL.String() prints it */
  readonly href: string;
}

/** Parses one URL as etcd's types.NewURLs does; throws an Error with etcd's message. */
export function parseEtcdUrl(raw: string): EtcdUrl {
  const input = raw.trim();
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(input);
  const scheme = m?.[1]?.toLowerCase() ?? '';
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'unix' && scheme !== 'unixs') {
    throw new Error(`URL scheme must be http, https, unix, or unixs: ${input}`);
  }
  let rest = m?.[2] ?? '';
  let authority = '';
  if (rest.startsWith('//')) {
    rest = rest.slice(2);
    const end = rest.search(/[/?#]/);
    authority = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? '' : rest.slice(end);
  }
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  if (host.startsWith('[') && !host.includes(']')) throw new Error(`parse ${goQuote(input)}: missing ']' in host`);
  if (/[\s<>"{}|\\^`]/.test(host)) {
    const bad = /[\s<>"{}|\\^`]/.exec(host)?.[0] ?? '';
    throw new Error(`parse ${goQuote(input)}: invalid character ${goQuote(bad)} in host name`);
  }
  const hp = splitHostPort(host);
  if ('error' in hp) throw new Error(`URL address does not have the form "host:port": ${input}`);
  if (!/^[0-9]*$/.test(hp.port))
    throw new Error(`parse ${goQuote(input)}: invalid port ${goQuote(`:${hp.port}`)} after host`);
  const path = rest.split(/[?#]/)[0] ?? '';
  if (path !== '') throw new Error(`URL must not contain a path: ${input}`);
  return { scheme, host, hostname: hp.host, port: hp.port, href: `${scheme}://${host}${rest}` };
}

/**
 * Parses a comma-separated URL list as etcd's URL flags do (types.NewURLs): each URL validated,
 * sorted by their string form, and (unless `unique` is false, as in --initial-cluster entries)
 * duplicates dropped.
 */
export function parseUrlList(s: string, unique = true): EtcdUrl[] {
  const urls = s.split(',').map(parseEtcdUrl);
  const kept = unique ? [...new Map(urls.map((u) => [u.href, u])).values()] : urls;
  return kept.sort((a, b) => (a.href < b.href ? -1 : a.href > b.href ? 1 : 0));
}
