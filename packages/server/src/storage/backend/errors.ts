// Errors raised by the storage backend.

export class BackendError extends Error {
  override readonly name: string = 'BackendError';
}

/** A write was attempted while a defragment or restore holds the backend; await `backend.whenIdle()`. */
export class BackendBusyError extends BackendError {
  override readonly name = 'BackendBusyError';
  constructor(readonly operation: string) {
    super(`backend: busy (${operation} in progress)`);
  }
}

/** The backend has been closed. */
export class BackendClosedError extends BackendError {
  override readonly name = 'BackendClosedError';
  constructor() {
    super('backend: closed');
  }
}

/** An operation that must run inside `backend.batch()` was called outside one. */
export class NotInBatchError extends BackendError {
  override readonly name = 'NotInBatchError';
  constructor(operation: string) {
    super(`backend: ${operation} must be called inside backend.batch()`);
  }
}
