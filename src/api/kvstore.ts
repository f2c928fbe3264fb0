/**
 * The engine-neutral key-value interface from the storage module's design (seed: KVStore,
 * KVBatch), in TypeScript idiom. The LSM engine (`DB`), the in-memory engine (`MemoryStore`)
 * and, later, the browser proxy implement it, so callers can switch engines by configuration.
 *
 * `get` of a missing key resolves `undefined` (as abstract-level does); `getOrThrow` rejects
 * with ErrKeyNotFound for callers that need a value.
 */
import type { Bytes } from './input.js';

export interface WriteOptions {
  /** fsync before acknowledging (default: the store's `sync` option). */
  sync?: boolean;
}

export interface RangeOptions {
  gt?: Bytes;
  gte?: Bytes;
  lt?: Bytes;
  lte?: Bytes;
  /** Only keys starting with these bytes (combined with any other bound). */
  prefix?: Bytes;
  /** Newest key first. */
  reverse?: boolean;
  /** At most this many entries (default: no limit). */
  limit?: number;
  /** Skip reading values; entries carry an empty value. */
  keysOnly?: boolean;
}

export type Entry = [key: Uint8Array, value: Uint8Array];

export interface KVBatch {
  put(key: Bytes, value: Bytes): this;
  delete(key: Bytes): this;
  /** Applies every operation atomically. A batch can be written once. */
  write(options?: WriteOptions): Promise<void>;
  /** Drops the queued operations (the batch can be reused). */
  reset(): this;
  readonly length: number;
}

export interface KVIterator extends AsyncIterable<Entry> {
  /** Next entry, or undefined at the end. */
  next(): Promise<Entry | undefined>;
  /** Every remaining entry. */
  all(): Promise<Entry[]>;
  close(): Promise<void>;
}

export interface KVStore {
  put(key: Bytes, value: Bytes, options?: WriteOptions): Promise<void>;
  get(key: Bytes): Promise<Uint8Array | undefined>;
  getOrThrow(key: Bytes): Promise<Uint8Array>;
  has(key: Bytes): Promise<boolean>;
  delete(key: Bytes, options?: WriteOptions): Promise<void>;
  batch(): KVBatch;
  iterator(options?: RangeOptions): KVIterator;
  close(): Promise<void>;
}
