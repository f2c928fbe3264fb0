/**
 * `DB`: the LSM engine as users see it. Thin: it checks arguments, then calls the engine.
 * Every method on a closed store fails with ErrStoreClosed; every write on a failed store fails
 * with the ErrStoreFailed that describes the cause.
 */
import { EntryKind } from '../codec/value.js';
import { isDeadValue, nowSeconds, userValueOf } from '../engine/db-iterator.js';
import type { Engine } from '../engine/engine.js';
import { BatchRep } from '../wal/batch.js';
import { Batch } from './batch.js';
import { ErrConflict, ErrKeyNotFound, ErrReadOnly, ErrStoreClosed } from './errors.js';
import { boundBytes, type Bytes, keyBytes, valueBytes } from './input.js';
import { boundsOf, DBIterator, limitOf } from './iterator.js';
import type { KVStore, RangeOptions, WriteOptions } from './kvstore.js';
import type { Config } from './options.js';
import type { Snapshot } from './snapshot.js';
import { Snapshot as SnapshotImpl } from './snapshot.js';
import { type DBStats, statsOf } from './stats.js';
import { type VerifyReport, verifyEngine } from '../engine/verify.js';
import { Oracle } from '../txn/oracle.js';
import { Txn, type TxnOptions } from '../txn/txn.js';
import { setDiscardVersion, versionArg } from '../txn/managed.js';
import { Sequence } from '../txn/sequence.js';
import { sinceOf, type VersionEntry, VersionIterator, type VersionsOptions } from '../txn/versions.js';
import { type Change, type SubscribeOptions, type Subscription, SubscriptionHub } from '../txn/subscribe.js';

export interface ReadOptions {
  /** Read as of this snapshot instead of the newest data. */
  snapshot?: Snapshot;
}

export interface IteratorOptions extends RangeOptions, ReadOptions {
  /**
   * Only keys whose newest version (at the read version) was written after this version, with
   * that newest value; keys deleted since do not appear (use allVersions to see deletes).
   */
  sinceVersion?: number;
}

/** `db.iterator({ allVersions: true })`: every stored version, deletes included (src/txn/versions.ts). */
export interface AllVersionsOptions extends VersionsOptions, ReadOptions {
  allVersions: true;
}

export interface UpdateOptions extends WriteOptions {
  /**
   * How many times to run `fn` again after an ErrConflict (default 0: none). Each retry is a new
   * transaction at a new read version, after a random pause of up to min(2^attempt, 64) ms;
   * after the last one the ErrConflict is thrown. `fn` must be safe to run more than once.
   */
  retries?: number;
  /** Commit at this version (managed versions; see TxnCommitOptions). */
  version?: number;
}

export interface ViewOptions {
  /** Read at this version (managed versions; see TxnOptions). */
  readVersion?: number;
}

export type BatchOp = { type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes };

export class DB implements KVStore {
  private readonly engine: Engine;
  /** Read and commit versions of transactions; sees every write from the start (src/txn/oracle.ts). */
  private readonly oracle: Oracle;
  private readonly subscriptions: SubscriptionHub;

  /** @internal Use `open()`. */
  constructor(engine: Engine) {
    this.engine = engine;
    this.oracle = new Oracle(engine);
    this.subscriptions = new SubscriptionHub(engine);
  }

  get config(): Config {
    return this.engine.config;
  }

  get closed(): boolean {
    return this.engine.closed;
  }

  /** Newest version visible to reads. */
  get lastVersion(): number {
    return this.engine.lastVersion;
  }

  private readVersion(options: ReadOptions | undefined): number {
    this.engine.checkOpen();
    const s = options?.snapshot;
    return s === undefined ? this.engine.lastVersion : s.versionFor(this.engine);
  }

  put(key: Bytes, value: Bytes, options?: WriteOptions): Promise<void> {
    let rep: BatchRep;
    try {
      this.engine.checkOpen();
      const k = keyBytes(key, this.engine.config);
      const v = valueBytes(value, this.engine.config);
      rep = new BatchRep(k.length + v.length + 40);
      rep.add(EntryKind.Put, k, v);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.engine.commits.write(rep, options?.sync ?? false);
  }

  delete(key: Bytes, options?: WriteOptions): Promise<void> {
    let rep: BatchRep;
    try {
      this.engine.checkOpen();
      const k = keyBytes(key, this.engine.config);
      rep = new BatchRep(k.length + 40);
      rep.add(EntryKind.Delete, k, undefined);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.engine.commits.write(rep, options?.sync ?? false);
  }

  /** A chained batch, or, given operations, writes them as one atomic batch. */
  batch(): Batch;
  batch(ops: readonly BatchOp[], options?: WriteOptions): Promise<void>;
  batch(ops?: readonly BatchOp[], options?: WriteOptions): Batch | Promise<void> {
    if (ops === undefined) {
      this.engine.checkOpen();
      return new Batch(this.engine);
    }
    try {
      const b = new Batch(this.engine);
      for (const op of ops) {
        if (op.type === 'put') b.put(op.key, op.value);
        else if (op.type === 'del') b.delete(op.key);
        else throw new TypeError(`batch operation type must be 'put' or 'del', got ${String((op as { type: unknown }).type)}`);
      }
      return b.write(options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Value of `key`, or undefined. Synchronous: data is local, nothing waits. */
  getSync(key: Bytes, options?: ReadOptions): Uint8Array | undefined {
    const rv = this.readVersion(options);
    const v = this.engine.getEncoded(keyBytes(key, this.engine.config), rv);
    if (v === undefined || isDeadValue(v, nowSeconds())) return undefined;
    return userValueOf(v);
  }

  hasSync(key: Bytes, options?: ReadOptions): boolean {
    const rv = this.readVersion(options);
    const v = this.engine.getEncoded(keyBytes(key, this.engine.config), rv);
    return v !== undefined && !isDeadValue(v, nowSeconds());
  }

  get(key: Bytes, options?: ReadOptions): Promise<Uint8Array | undefined> {
    try {
      return Promise.resolve(this.getSync(key, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async getOrThrow(key: Bytes, options?: ReadOptions): Promise<Uint8Array> {
    const v = this.getSync(key, options);
    if (v === undefined) throw new ErrKeyNotFound(`key not found: ${typeof key === 'string' ? key : `${key.length} bytes`}`);
    return v;
  }

  has(key: Bytes, options?: ReadOptions): Promise<boolean> {
    try {
      return Promise.resolve(this.hasSync(key, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  getManySync(keys: readonly Bytes[], options?: ReadOptions): (Uint8Array | undefined)[] {
    const rv = this.readVersion(options);
    const now = nowSeconds();
    return keys.map((key) => {
      const v = this.engine.getEncoded(keyBytes(key, this.engine.config), rv);
      return v === undefined || isDeadValue(v, now) ? undefined : userValueOf(v);
    });
  }

  getMany(keys: readonly Bytes[], options?: ReadOptions): Promise<(Uint8Array | undefined)[]> {
    try {
      return Promise.resolve(this.getManySync(keys, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Iterates keys in order (or reverse) within bounds; see IteratorOptions. With
   * `allVersions: true`, every stored version instead (VersionIterator).
   */
  iterator(options: AllVersionsOptions): VersionIterator;
  iterator(options?: IteratorOptions & { allVersions?: false }): DBIterator;
  iterator(options: (IteratorOptions & { allVersions?: boolean }) | AllVersionsOptions = {}): DBIterator | VersionIterator {
    const rv = this.readVersion(options);
    if (options.allVersions === true) return new VersionIterator(this.engine, rv, options);
    const bounds = boundsOf(options);
    const limit = limitOf(options);
    const since = sinceOf(options);
    return new DBIterator(this.engine.newIterator(rv, bounds, options.reverse === true, limit, options.keysOnly === true, since));
  }

  /** Every stored version in the range, collected: `iterator({ allVersions: true, ...options }).allSync()`. */
  versions(options: VersionsOptions & ReadOptions = {}): VersionEntry[] {
    return this.iterator({ ...options, allVersions: true }).allSync();
  }

  /** Keys only (values are not read or copied). */
  *keys(options: IteratorOptions = {}): Generator<Uint8Array> {
    const it = this.iterator({ ...options, keysOnly: true });
    try {
      for (const [k] of it) yield k;
    } finally {
      it.closeSync();
    }
  }

  /**
   * Starts a transaction reading at the current version. Commit it or roll it back: an open
   * transaction pins its snapshot (compaction keeps what it can read).
   */
  transaction(options: TxnOptions = {}): Txn {
    return new Txn(this.engine, this.oracle, options);
  }

  /**
   * Runs `fn` in a read-write transaction and commits it; rolls back if `fn` throws. On
   * ErrConflict runs it again, up to `options.retries` times (see UpdateOptions).
   */
  async update<T>(fn: (txn: Txn) => T | Promise<T>, options: UpdateOptions = {}): Promise<T> {
    const retries = options.retries ?? 0;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`update: retries must be a non-negative integer, got ${retries}`);
    for (let attempt = 0; ; attempt++) {
      const txn = this.transaction();
      try {
        const result = await fn(txn);
        await txn.commit(options);
        return result;
      } catch (e) {
        txn.rollback();
        if (!(e instanceof ErrConflict) || attempt >= retries) throw e;
      }
      const pauseMs = Math.random() * Math.min(2 ** attempt, 64);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Runs `fn` in a read-only transaction (a consistent view; never conflicts), then ends it. */
  async view<T>(fn: (txn: Txn) => T | Promise<T>, options: ViewOptions = {}): Promise<T> {
    const txn = this.transaction({ readOnly: true, ...(options.readVersion === undefined ? {} : { readVersion: options.readVersion }) });
    try {
      return await fn(txn);
    } finally {
      txn.rollback();
    }
  }

  /**
   * A monotonically increasing number sequence stored under `key`, leased `bandwidth` numbers
   * at a time (default 100). Call `release()` before close so the unused rest is not skipped.
   */
  sequence(key: Bytes, bandwidth = 100): Sequence {
    this.engine.checkOpen();
    return new Sequence(this, keyBytes(key, this.engine.config), bandwidth);
  }

  /**
   * Calls `onChange` with the entries of every write published from now on whose key starts
   * with one of `prefixes` (every key if the list is empty), one array per write, in version
   * order, from a microtask. `close()` the subscription when done.
   */
  subscribe(prefixes: Bytes | readonly Bytes[], onChange: (changes: Change[]) => void, options: SubscribeOptions = {}): Subscription {
    this.engine.checkOpen();
    const list = Array.isArray(prefixes) ? (prefixes as readonly Bytes[]) : [prefixes as Bytes];
    return this.subscriptions.add(list.map((p) => boundBytes(p, 'prefix')), onChange, options);
  }

  /**
   * Lets compaction collect history at or below `version` (managed versions: every version
   * above it is kept for reads at a chosen readVersion). Persisted; it only grows and cannot
   * pass `lastVersion` (ErrInvalidVersion). See src/txn/managed.ts.
   */
  setDiscardVersion(version: number): Promise<void> {
    try {
      return setDiscardVersion(this.engine, versionArg(version, 'setDiscardVersion: version'));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The discard version (undefined unless managed versions set one). */
  get discardVersion(): number | undefined {
    return this.engine.discardVersion;
  }

  /** Transactions that failed with ErrConflict since open. */
  get conflicts(): number {
    return this.oracle.conflicts;
  }

  /** Pins the current version for consistent reads across calls. Release it when done. */
  snapshot(): Snapshot {
    this.engine.checkOpen();
    return new SnapshotImpl(this.engine);
  }

  /** Makes every acknowledged write durable (fsync of the WAL). */
  async sync(): Promise<void> {
    this.engine.checkOpen();
    await this.engine.commits.drainAll();
    const wal = this.engine.wal;
    if (wal !== undefined && wal.unsyncedBytes > 0 && this.engine.failure === undefined) {
      try {
        wal.sync();
        this.engine.stats.walSyncs++;
      } catch (e) {
        throw this.engine.fail(e, 'fsync of the WAL failed');
      }
    }
    if (this.engine.failure !== undefined) throw this.engine.failure;
  }

  /** Writes the memtable (and any waiting ones) to tables, so the WAL can be dropped. */
  async flush(): Promise<void> {
    const e = this.engine;
    e.checkOpen();
    if (e.config.readOnly) return;
    await e.commits.sealActive();
    // close() stops the flusher between tables; waiting on it after that would never end.
    while (e.immutables.length > 0 && e.failure === undefined && !e.closed) {
      await e.flusher.waitForProgress();
      // Out of space: say so (ErrInsufficientDiskSpace) rather than wait for the disk to free up.
      if (e.flusher.noSpace !== undefined && e.immutables.length > 0) throw e.flusher.noSpace;
    }
    if (e.failure !== undefined) throw e.failure;
    if (e.immutables.length > 0) throw new ErrStoreClosed('store was closed before flush() finished; the unflushed writes are in the WAL and replay on open');
  }

  /**
   * Reads every table block, WAL record and manifest record and reports every damaged one.
   * Never throws for damage: the report lists it (file, offset, message).
   */
  async verify(): Promise<VerifyReport> {
    this.engine.checkOpen();
    return verifyEngine(this.engine);
  }

  /**
   * Compacts the key range [start, end] (everything if both are omitted) down to the last
   * level, dropping overwritten and deleted history that no snapshot needs.
   */
  async compactRange(start?: Bytes, end?: Bytes): Promise<void> {
    const e = this.engine;
    e.checkOpen();
    if (e.config.readOnly) throw new ErrReadOnly();
    const a = start === undefined ? undefined : boundBytes(start, 'start');
    const b = end === undefined ? undefined : boundBytes(end, 'end');
    await this.flush();
    await e.compactor.compactRange(a, b);
  }

  /** Flushes and compacts everything into one level. */
  flatten(): Promise<void> {
    return this.compactRange();
  }

  stats(): DBStats {
    this.engine.checkOpen();
    return statsOf(this.engine);
  }

  /** Waits for queued writes, syncs the WAL, releases files and the lock. Idempotent. */
  close(): Promise<void> {
    return this.engine.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
