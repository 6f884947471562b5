// The client's status stream: connection and membership changes, broadcast to every subscriber of
// `client.status()`. Each subscriber has its own queue; the stream ends after `closed`.

import { AsyncQueue } from '../util/async-queue.js';
import type { ConclaveError } from '../errors/base.js';

/**
 * An event of `client.status()`: an endpoint connected or disconnected, the endpoint list changed, or the client
 * closed.
 */
export type StatusEvent =
  /** A call or probe succeeded on an endpoint that was not known to be connected. */
  | { type: 'connected'; endpoint: string }
  /** An endpoint failed and was taken out of rotation (its circuit opened). */
  | { type: 'disconnected'; endpoint: string; error: ConclaveError }
  /** The endpoint list changed (auto-sync from MemberList, or `client.setEndpoints`). */
  | { type: 'endpointsChanged'; endpoints: string[] }
  /** The client was closed; the stream ends after this event. */
  | { type: 'closed' };

/** @hidden Broadcasts status events to every `client.status()` subscriber. */
export class StatusHub {
  private readonly subscribers = new Set<AsyncQueue<StatusEvent>>();
  private closed = false;

  emit(event: StatusEvent): void {
    for (const q of this.subscribers) q.push(event);
  }

  subscribe(signal?: AbortSignal): AsyncIterableIterator<StatusEvent> {
    const q: AsyncQueue<StatusEvent> = new AsyncQueue(() => {
      this.subscribers.delete(q);
      signal?.removeEventListener('abort', onAbort);
    });
    const onAbort = (): void => {
      this.subscribers.delete(q);
      q.end();
    };
    if (this.closed || signal?.aborted) {
      if (this.closed) q.push({ type: 'closed' });
      q.end();
      return q;
    }
    this.subscribers.add(q);
    signal?.addEventListener('abort', onAbort, { once: true });
    return q;
  }

  close(): void {
    if (this.closed) return;
    this.emit({ type: 'closed' });
    this.closed = true;
    for (const q of this.subscribers) q.end();
    this.subscribers.clear();
  }
}
