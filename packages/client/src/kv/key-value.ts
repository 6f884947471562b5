// Results carry keys and values as bytes, with string views: `key` / `value` are Uint8Array,
// `keyString` / `valueString` decode them as UTF-8. Revisions, versions and lease IDs are bigint.

import type { mvccpb } from '@conclave/api';
import { toText } from '../util/bytes.js';

/** A key-value as stored: bytes, with UTF-8 string views, and its revisions (bigint). */
export class KeyValue {
  constructor(
    readonly key: Uint8Array,
    readonly value: Uint8Array,
    /** Revision of the key's creation (since its last deletion). */
    readonly createRevision: bigint,
    /** Revision of the key's last modification. */
    readonly modRevision: bigint,
    /** Number of modifications since creation (1 after the first put). */
    readonly version: bigint,
    /** ID of the lease attached to the key (0n for none). */
    readonly lease: bigint,
  ) {}

  /** The key as a UTF-8 string. */
  get keyString(): string {
    return toText(this.key);
  }

  /** The value as a UTF-8 string. */
  get valueString(): string {
    return toText(this.value);
  }

  /** Strings for JSON.stringify (key and value as UTF-8, numbers in decimal). */
  toJSON(): Record<string, string> {
    return {
      key: this.keyString,
      value: this.valueString,
      createRevision: String(this.createRevision),
      modRevision: String(this.modRevision),
      version: String(this.version),
      lease: String(this.lease),
    };
  }
}

/** Converts a wire KeyValue, removing a namespace prefix from its key. */
export function keyValueFrom(kv: mvccpb.KeyValue, prefixLength: number): KeyValue {
  return new KeyValue(
    prefixLength ? kv.key.subarray(prefixLength) : kv.key,
    kv.value,
    kv.createRevision,
    kv.modRevision,
    kv.version,
    kv.lease,
  );
}
