// Value formatting shared by the log encoders and by error messages that must read like etcd's
// (Go's time.Duration.String, strconv.Quote, %q of a []string, member IDs in hex, and the two
// timestamp layouts etcd's loggers print).

import { performance } from 'node:perf_hooks';

const NS_PER_US = 1000n;
const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Formats a duration like Go's time.Duration.String(): "0s", "100ms", "1.5s", "1h30m0s", "1.040592ms". */
export function formatGoDuration(ms: number): string {
  return formatGoDurationNs(BigInt(Math.round(ms * 1e6)));
}

/** Formats a duration given in (integer) nanoseconds like Go's time.Duration.String(). */
export function formatGoDurationNs(ns: bigint): string {
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < NS_PER_S) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < NS_PER_US) {
      prec = 0;
      unit = 'ns';
    } else if (u < NS_PER_MS) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, rest] = fmtFrac(u, prec);
    out = `${rest}${frac}${unit}`;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    u = secs;
    out = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's fmtFrac: the fraction of v/10**prec as ".123" without trailing zeros ("" when zero), and v/10**prec. */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let digits = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) digits = `${digit}${digits}`;
    v /= 10n;
  }
  return [print ? `.${digits}` : '', v];
}

/** An etcd member/cluster ID as etcd prints it (types.ID.String()): lower-case hex, no padding. */
export function formatId(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}

/** Go's strconv.Quote for the strings that appear in etcd's messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** Wall-clock time in milliseconds with sub-millisecond precision when the monotonic clock agrees. */
export function nowMs(): number {
  const wall = Date.now();
  const precise = performance.timeOrigin + performance.now();
  return Math.abs(precise - wall) < 1 ? precise : wall;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** zap's ISO8601TimeEncoder in local time: "2026-11-23T06:37:50.123Z" (or "+0530" away from UTC). */
export function zapTimestamp(ms: number): string {
  const d = new Date(Math.floor(ms));
  const off = -d.getTimezoneOffset();
  const zone =
    off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad2(Math.floor(Math.abs(off) / 60))}${pad2(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.` +
    `${String(d.getMilliseconds()).padStart(3, '0')}${zone}`
  );
}

/** capnslog's timestamp in local time: "2026-11-23 06:37:50.123456". */
export function capnslogTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  const d = new Date(whole);
  const micros = d.getMilliseconds() * 1000 + Math.min(999, Math.floor((ms - whole) * 1000));
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(micros).padStart(6, '0')}`
  );
}
