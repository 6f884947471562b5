// Building a token provider (token-provider.ts) from --auth-token: "simple" (in-memory
// random tokens, see simple-token.ts) or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…" (jwt-token.ts).

import { readFileSync } from 'node:fs';
import { JwtTokenProvider, parseJwtSignMethod } from './jwt-token.js';
import { SimpleTokenProvider } from './simple-token.js';
import { AuthConfigError, type TokenProvider } from './token-provider.js';

/** Go's time.ParseDuration for the units etcd users write ("5m", "1h30m", "300ms", "2.5s"). */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    μs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (s === '0') return 0;
  if (!m) throw new AuthConfigError(`time: invalid duration "${s}"`);
  let total = 0;
  for (const part of s.replace(/^[-+]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(part[1]) * units[part[2]!]!;
  return m[1] === '-' ? -total : total;
}

export interface TokenConfig {
  /** --auth-token type. */
  type: 'simple' | 'jwt';
  /** The options after the type (pub-key, priv-key, sign-method, ttl). */
  options: Readonly<Record<string, string>>;
  /** --auth-token-ttl in seconds (simple tokens). */
  ttlSeconds: number;
}

/** Builds the token provider; throws AuthConfigError with etcd's message when the options are bad. */
export function createTokenProvider(cfg: TokenConfig): TokenProvider {
  if (cfg.type === 'simple') return new SimpleTokenProvider(cfg.ttlSeconds * 1000);
  const o = cfg.options;
  const ttlMs = o['ttl'] ? parseGoDuration(o['ttl']) : 5 * 60_000;
  const read = (file: string | undefined): Buffer | null => {
    if (!file) return null;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new AuthConfigError(
        `open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String(err)}`,
      );
    }
  };
  const publicKey = read(o['pub-key']);
  const privateKey = read(o['priv-key']);
  const method = parseJwtSignMethod(o['sign-method'] ?? '');
  if (!method) throw new AuthConfigError('auth: invalid auth options');
  return new JwtTokenProvider({ method, publicKey, privateKey, ttlMs });
}
