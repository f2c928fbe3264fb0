/**
 * The iterator every layer exposes over internal keys (memtable, table, merged view).
 *
 * Position contract: after any positioning call, `valid()` tells whether the iterator stands on
 * an entry. `key()` and `value()` may only be called when valid; the arrays they return may be
 * views into a buffer the iterator reuses, so they stay valid only until the next positioning
 * call (copy them to keep them). Entries come in `compareInternal` order: user key ascending,
 * then version descending (newest first).
 */
export interface InternalIterator {
  /** First entry with internal key >= target. */
  seek(target: Uint8Array): void;
  /** Last entry with internal key <= target. */
  seekForPrev(target: Uint8Array): void;
  seekToFirst(): void;
  seekToLast(): void;
  next(): void;
  prev(): void;
  valid(): boolean;
  /** Internal key (user key ‖ trailer) of the current entry. */
  key(): Uint8Array;
  /** Encoded value (see codec/value.ts) of the current entry. */
  value(): Uint8Array;
  /** Releases what the iterator holds (block references, table references). Idempotent. */
  close(): void;
}
