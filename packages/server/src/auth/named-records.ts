// Users or roles of the auth store: the records by name in memory, mirrored in one backend
// sub-database (authUsers or authRoles) under the SHA-256 of the name (names can be longer than an
// LMDB key may be; the records carry the names). Writes happen inside the apply batch.

import { createHash } from 'node:crypto';
import { decodeMessage, encodeMessage, type MessageCodec, type PartialMessage } from '@conclave/api';
import type { BinaryDb } from '../storage/backend/index.js';

/** The backend key of a user or role record: the SHA-256 of its name (also used by snapshot restore). */
export const authNameKey = (name: string): Buffer => createHash('sha256').update(name, 'utf8').digest();

/** The name a record carries, as a string. */
export const recordName = (r: { name: Uint8Array }): string => Buffer.from(r.name).toString('utf8');

export class NamedRecords<T extends { name: Uint8Array }> extends Map<string, T> {
  /** `db()` is read at each write: a snapshot install replaces the backend's sub-databases. */
  constructor(
    private readonly codec: MessageCodec<T>,
    private readonly db: () => BinaryDb,
  ) {
    super();
  }

  /** Re-reads every record from the sub-database. */
  load(): void {
    this.clear();
    for (const { value } of this.db().getRange()) {
      const r = decodeMessage(this.codec, value);
      this.set(recordName(r), r);
    }
  }

  /** Stores `r` under its name, in memory and in the backend. */
  put(r: T): void {
    const name = recordName(r);
    this.set(name, r);
    this.db().putSync(authNameKey(name), encodeMessage(this.codec, r as PartialMessage<T>));
  }

  /** Removes the record named `name`, in memory and in the backend. */
  remove(name: string): void {
    this.delete(name);
    this.db().removeSync(authNameKey(name));
  }
}
