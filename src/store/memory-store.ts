/**
 * MemoryStore: the in-memory engine behind the KVStore interface (the seed's "memory engine"),
 * for tests, caches and small data sets that need no durability. Keys are kept in one sorted
 * array (binary search; insertion moves the tail, so it suits up to a few hundred thousand
 * keys). Values are copied in and out, so callers never share buffers with the store.
 */
import { compareBytes, utf8 } from '../codec/bytes.js';
import { ErrBatchWriteFailed, ErrInvalidKey, ErrInvalidValue, ErrKeyNotFound, ErrStoreClosed } from '../api/errors.js';
import type { Bytes } from '../api/input.js';
import { boundsOf, limitOf } from '../api/iterator.js';
import type { Entry, KVBatch, KVIterator, KVStore, RangeOptions, WriteOptions } from '../api/kvstore.js';

function bytesOf(x: unknown, what: 'key' | 'value'): Uint8Array {
  const b = x instanceof Uint8Array ? x : typeof x === 'string' ? utf8(x) : undefined;
  if (b === undefined) {
    if (what === 'key') throw new ErrInvalidKey('key must be a Uint8Array or a string');
    throw new ErrInvalidValue('value must be a Uint8Array or a string');
  }
  if (what === 'key' && b.length === 0) throw new ErrInvalidKey('key must not be empty');
  return b;
}

export class MemoryStore implements KVStore {
  private keys: Uint8Array[] = [];
  private values: Uint8Array[] = [];
  private closed = false;

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= k. */
  private lowerBound(k: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private check(): void {
    if (this.closed) throw new ErrStoreClosed();
  }

  /** @internal applies one checked operation. */
  applyPut(k: Uint8Array, v: Uint8Array): void {
    const i = this.lowerBound(k);
    if (i < this.keys.length && compareBytes(this.keys[i]!, k) === 0) this.values[i] = v.slice();
    else {
      this.keys.splice(i, 0, k.slice());
      this.values.splice(i, 0, v.slice());
    }
  }

  /** @internal */
  applyDelete(k: Uint8Array): void {
    const i = this.lowerBound(k);
    if (i < this.keys.length && compareBytes(this.keys[i]!, k) === 0) {
      this.keys.splice(i, 1);
      this.values.splice(i, 1);
    }
  }

  async put(key: Bytes, value: Bytes, _options?: WriteOptions): Promise<void> {
    this.check();
    this.applyPut(bytesOf(key, 'key'), bytesOf(value, 'value'));
  }

  async get(key: Bytes): Promise<Uint8Array | undefined> {
    this.check();
    const k = bytesOf(key, 'key');
    const i = this.lowerBound(k);
    return i < this.keys.length && compareBytes(this.keys[i]!, k) === 0 ? this.values[i]!.slice() : undefined;
  }

  async getOrThrow(key: Bytes): Promise<Uint8Array> {
    const v = await this.get(key);
    if (v === undefined) throw new ErrKeyNotFound();
    return v;
  }

  async has(key: Bytes): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async delete(key: Bytes, _options?: WriteOptions): Promise<void> {
    this.check();
    this.applyDelete(bytesOf(key, 'key'));
  }

  batch(): KVBatch {
    this.check();
    return new MemoryBatch(this);
  }

  iterator(options: RangeOptions = {}): KVIterator {
    this.check();
    const b = boundsOf(options);
    let start = b.lower === undefined ? 0 : this.lowerBound(b.lower);
    if (b.lower !== undefined && !b.lowerInclusive && start < this.keys.length && compareBytes(this.keys[start]!, b.lower) === 0) start++;
    let end = b.upper === undefined ? this.keys.length : this.lowerBound(b.upper);
    if (b.upper !== undefined && b.upperInclusive && end < this.keys.length && compareBytes(this.keys[end]!, b.upper) === 0) end++;
    const entries: Entry[] = [];
    for (let i = start; i < end; i++) entries.push([this.keys[i]!.slice(), options.keysOnly ? new Uint8Array(0) : this.values[i]!.slice()]);
    if (options.reverse) entries.reverse();
    const limit = limitOf(options);
    if (limit >= 0) entries.length = Math.min(entries.length, limit);
    return new ArrayIterator(entries);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class MemoryBatch implements KVBatch {
  private ops: { key: Uint8Array; value: Uint8Array | undefined }[] = [];
  private written = false;
  constructor(private readonly store: MemoryStore) {}
  get length(): number {
    return this.ops.length;
  }
  put(key: Bytes, value: Bytes): this {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written');
    this.ops.push({ key: bytesOf(key, 'key').slice(), value: bytesOf(value, 'value').slice() });
    return this;
  }
  delete(key: Bytes): this {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written');
    this.ops.push({ key: bytesOf(key, 'key').slice(), value: undefined });
    return this;
  }
  reset(): this {
    this.ops = [];
    return this;
  }
  async write(_options?: WriteOptions): Promise<void> {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written');
    this.written = true;
    for (const op of this.ops) {
      if (op.value === undefined) this.store.applyDelete(op.key);
      else this.store.applyPut(op.key, op.value);
    }
  }
}

class ArrayIterator implements KVIterator {
  private i = 0;
  constructor(private readonly entries: Entry[]) {}
  async next(): Promise<Entry | undefined> {
    return this.entries[this.i++];
  }
  async all(): Promise<Entry[]> {
    const rest = this.entries.slice(this.i);
    this.i = this.entries.length;
    return rest;
  }
  async close(): Promise<void> {
    this.i = this.entries.length;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Entry> {
    while (this.i < this.entries.length) yield this.entries[this.i++]!;
  }
}
