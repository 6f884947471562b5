// Username/password → auth token. The token is fetched on first use (one Authenticate in flight at
// a time, shared by all callers), sent as the `token` metadata, and dropped when the server says it
// is invalid so the next attempt authenticates again.

export class TokenManager {
  private token: string | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly authenticate: () => Promise<string>) {}

  /** The cached token, if any (no I/O). */
  get current(): string | undefined {
    return this.token;
  }

  /** The current token, authenticating first if there is none (shared by concurrent callers). */
  get(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    if (!this.inflight) {
      const p = this.authenticate().then(
        (t) => {
          if (this.inflight === p) this.inflight = undefined;
          this.token = t;
          return t;
        },
        (e: unknown) => {
          if (this.inflight === p) this.inflight = undefined;
          throw e;
        },
      );
      this.inflight = p;
    }
    return this.inflight;
  }

  /** Forgets `token` if it is still the current one (a newer token is kept). */
  invalidate(token: string | undefined): void {
    if (token !== undefined && this.token === token) this.token = undefined;
  }
}
