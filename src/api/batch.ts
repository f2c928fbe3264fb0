/**
 * A write batch: puts and deletes applied atomically, in order (a later operation on the same
 * key wins). Keys and values are checked and copied when queued, so the caller may reuse its
 * buffers at once, and a bad operation is rejected before anything is written.
 */
import { EntryKind } from '../codec/value.js';
import type { Engine } from '../engine/engine.js';
import { BatchRep } from '../wal/batch.js';
import { ErrBatchWriteFailed } from './errors.js';
import { type Bytes, keyBytes, valueBytes } from './input.js';
import type { KVBatch, WriteOptions } from './kvstore.js';

export class Batch implements KVBatch {
  private readonly engine: Engine;
  private rep = new BatchRep(1024);
  private written = false;

  /** @internal */
  constructor(engine: Engine) {
    this.engine = engine;
  }

  get length(): number {
    return this.rep.count;
  }

  /** Bytes of keys and values queued. */
  get byteLength(): number {
    return this.rep.userBytes;
  }

  private check(): void {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()');
    this.engine.checkOpen();
  }

  put(key: Bytes, value: Bytes): this {
    this.check();
    const k = keyBytes(key, this.engine.config);
    const v = valueBytes(value, this.engine.config);
    this.rep.add(EntryKind.Put, k, v);
    return this;
  }

  delete(key: Bytes): this {
    this.check();
    this.rep.add(EntryKind.Delete, keyBytes(key, this.engine.config), undefined);
    return this;
  }

  reset(): this {
    this.check();
    this.rep.reset();
    return this;
  }

  write(options?: WriteOptions): Promise<void> {
    if (this.written) return Promise.reject(new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()'));
    this.written = true;
    return this.engine.commits.write(this.rep, options?.sync ?? false);
  }
}
