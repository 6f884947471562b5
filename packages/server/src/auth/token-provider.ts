// What a token provider is (etcd's auth.TokenProvider), apart from the providers themselves and the
// factory (tokens.ts), so that the providers can name it without importing the factory that builds them.

/** Who a request comes from, and the auth store revision their credentials were checked at. */
export interface AuthInfo {
  username: string;
  revision: number;
}

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt';
  /** The random part of a simple token, chosen before proposing Authenticate ('' for JWT). */
  genPrefix(): string;
  /** Issues a token (applied with the Authenticate entry; simple tokens use prefix and index). */
  assign(username: string, revision: number, prefix: string, index: number): string;
  /** The user behind a token, or null when it is unknown, expired or forged. */
  info(token: string, revision: number): AuthInfo | null;
  invalidateUser(username: string): void;
  enable(): void;
  disable(): void;
  close(): void;
}

/** An --auth-token configuration error; etcd fails to start with this message. */
export class AuthConfigError extends Error {
  override name = 'AuthConfigError';
}
