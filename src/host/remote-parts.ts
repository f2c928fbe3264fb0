/** A RemoteDB's chained batch and snapshots. */
import { ErrBatchWriteFailed, ErrSnapshotReleased } from '../api/errors.js';
import { type Bytes, keyBytes, valueBytes } from '../api/input.js';
import type { KVBatch, WriteOptions } from '../api/kvstore.js';
import { OpPacker } from './pack.js';
import type { RemoteDB } from './proxy.js';

/** A snapshot held by the worker for a RemoteDB. */
export class RemoteSnapshot {
  private db: RemoteDB | undefined;

  /** @internal */
  constructor(
    db: RemoteDB,
    private readonly id: number,
    /** The version it reads at, once the worker has taken it. */
    readonly version: Promise<number>,
  ) {
    this.db = db;
  }

  get released(): boolean {
    return this.db === undefined;
  }

  /** @internal */
  idFor(db: RemoteDB): number {
    if (this.db === undefined) throw new ErrSnapshotReleased();
    if (this.db !== db) throw new RangeError('snapshot belongs to another database');
    return this.id;
  }

  release(): void {
    const db = this.db;
    this.db = undefined;
    if (db === undefined || db.closed) return;
    db.call({ op: 'snapshotRelease', snap: this.id }).catch(() => undefined);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** A chained batch: operations are checked and packed as they are added, sent on write(). */
export class RemoteBatch implements KVBatch {
  private readonly db: RemoteDB;
  private readonly ops = new OpPacker();
  private written = false;

  /** @internal */
  constructor(db: RemoteDB) {
    this.db = db;
  }

  get length(): number {
    return this.ops.count;
  }

  /** Bytes of keys and values queued (with 5 to 9 bytes of framing per operation). */
  get byteLength(): number {
    return this.ops.byteLength;
  }

  private check(): void {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()');
    this.db.checkOpen();
  }

  put(key: Bytes, value: Bytes): this {
    this.check();
    this.ops.put(keyBytes(key, this.db.config), valueBytes(value, this.db.config));
    return this;
  }

  delete(key: Bytes): this {
    this.check();
    this.ops.delete(keyBytes(key, this.db.config));
    return this;
  }

  reset(): this {
    this.check();
    this.ops.reset();
    return this;
  }

  write(options?: WriteOptions): Promise<void> {
    if (this.written) return Promise.reject(new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()'));
    this.written = true;
    try {
      this.db.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    const ops = this.ops.finish();
    return this.db.call({ op: 'batch', ops, sync: options?.sync }, [ops.buffer]);
  }
}
