// etcd's "simple" tokens: 16 random letters chosen by the member that received Authenticate, then
// "." and the Raft index of the Authenticate entry. Every member stores the token → user mapping
// when it applies that entry, so the token works on any member. A token lives --auth-token-ttl
// seconds (default 300) after its last use; disabling auth, deleting a user or changing their
// password drops their tokens. Tokens are kept in memory only (lost on restart, as in etcd).

import { randomInt } from 'node:crypto';
import type { AuthInfo, TokenProvider } from './token-provider.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LENGTH = 16;

interface Entry {
  username: string;
  /** Date.now() after which the token is gone (pushed back on every use). */
  deadline: number;
}

export class SimpleTokenProvider implements TokenProvider {
  readonly kind = 'simple';
  private readonly tokens = new Map<string, Entry>();
  private enabled = false;
  private sweeper: NodeJS.Timeout | null = null;

  /** Idle lifetime of a token in milliseconds (--auth-token-ttl; 0 or less = etcd's default, 300 s). */
  readonly ttlMs: number;

  constructor(
    ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = ttlMs > 0 ? ttlMs : 300_000;
  }

  /** 16 random letters (etcd's GenTokenPrefix). */
  genPrefix(): string {
    let s = '';
    for (let i = 0; i < PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
    return s;
  }

  enable(): void {
    this.enabled = true;
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.ttlMs, 60_000)));
      this.sweeper.unref();
    }
  }

  disable(): void {
    this.enabled = false;
    this.tokens.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** Applied with the Authenticate entry on every member: `prefix.index` now belongs to `username`. */
  assign(username: string, _revision: number, prefix: string, index: number): string {
    const token = `${prefix}.${index}`;
    if (this.enabled) this.tokens.set(token, { username, deadline: this.now() + this.ttlMs });
    return token;
  }

  /** The Raft index a token was issued at, or null when it is not shaped like a simple token. */
  static indexOf(token: string): number | null {
    const parts = token.split('.');
    if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) return null;
    const n = Number(parts[1]);
    return Number.isSafeInteger(n) ? n : null;
  }

  info(token: string, revision: number): AuthInfo | null {
    if (SimpleTokenProvider.indexOf(token) === null) return null;
    const e = this.tokens.get(token);
    if (!e) return null;
    const now = this.now();
    if (now > e.deadline) {
      this.tokens.delete(token);
      return null;
    }
    e.deadline = now + this.ttlMs;
    return { username: e.username, revision };
  }

  invalidateUser(username: string): void {
    for (const [t, e] of this.tokens) if (e.username === username) this.tokens.delete(t);
  }

  /** Number of live tokens (tests). */
  get size(): number {
    return this.tokens.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [t, e] of this.tokens) if (now > e.deadline) this.tokens.delete(t);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
