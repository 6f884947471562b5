// Building a token provider (token-provider.ts) from --auth-token: "simple" (in-memory
// random tokens, see simple-token.ts) or "jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…" (jwt-token.ts).

import { readFileSync } from 'node:fs';
import { parseGoDuration } from '../config/index.js';
import { JwtTokenProvider, parseJwtSignMethod } from './jwt-token.js';
import { SimpleTokenProvider } from './simple-token.js';
import { AuthConfigError, type TokenProvider } from './token-provider.js';

/** The jwt ttl option in milliseconds (Go's time.ParseDuration); AuthConfigError with Go's text if invalid. */
function ttlMs(text: string): number {
  const d = parseGoDuration(text);
  if (!d.ok) throw new AuthConfigError(d.error);
  return Number(d.ns) / 1e6;
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
  const ttl = o['ttl'] ? ttlMs(o['ttl']) : 5 * 60_000;
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
  return new JwtTokenProvider({ method, publicKey, privateKey, ttlMs: ttl });
}
