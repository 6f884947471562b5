// Errors of the MVCC store. Messages are etcd's mvcc error texts; the API layer maps them to
// etcd's gRPC errors ("etcdserver: mvcc: required revision has been compacted", OUT_OF_RANGE, ...).

export class MvccError extends Error {
  override readonly name: string = 'MvccError';
  readonly code: string = 'ErrMvcc';
}

/** The requested revision is below the compacted revision. */
export class CompactedError extends MvccError {
  override readonly name = 'CompactedError';
  override readonly code = 'ErrCompacted';
  constructor(readonly compactRevision: number) {
    super('mvcc: required revision has been compacted');
  }
}

/** The requested revision is above the current revision. */
export class FutureRevisionError extends MvccError {
  override readonly name = 'FutureRevisionError';
  override readonly code = 'ErrFutureRev';
  constructor(readonly currentRevision: number) {
    super('mvcc: required revision is a future revision');
  }
}

/** The store was closed (or reloaded from a restored backend) while the operation was pending. */
export class StoreClosedError extends MvccError {
  override readonly name = 'StoreClosedError';
  override readonly code = 'ErrClosed';
  constructor() {
    super('mvcc: closed');
  }
}
