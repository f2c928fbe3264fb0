/**
 * A transaction: reads at one read version (a pinned snapshot), buffers its writes, and commits
 * them as one batch through the commit queue (so group commit and sync apply), after the
 * oracle's serializable check (src/txn/oracle.ts). Recovery replays a transaction whole or not
 * at all, because its batch is one checksummed WAL record.
 *
 * Read-only transactions record nothing, never conflict and never block a writer.
 * Size limit: the buffered writes may take at most `txnBytesMax` bytes of memtable arena
 * (TXN_MEMTABLE_SHARE of memtableSize); the write that would cross it throws ErrTxnTooBig and
 * is not added; what the transaction holds can still be committed.
 */
import { ErrConflict, ErrReadOnlyTxn, ErrTxnDone, ErrTxnTooBig } from '../api/errors.js';
import { type Bytes, keyBytes, valueBytes } from '../api/input.js';
import { boundsOf, DBIterator, limitOf } from '../api/iterator.js';
import type { RangeOptions, WriteOptions } from '../api/kvstore.js';
import { compareBytes, toHex } from '../codec/bytes.js';
import { EntryKind, encodedValueLength } from '../codec/value.js';
import { isDeadValue, nowSeconds, userValueOf } from '../engine/db-iterator.js';
import type { Engine } from '../engine/engine.js';
import { Memtable } from '../memtable/index.js';
import { BatchRep } from '../wal/batch.js';
import { checkReadVersion, versionArg } from './managed.js';
import type { Oracle } from './oracle.js';
import { type ReadRange, rangeContains } from './read-set.js';
import { type PendingWrite, pendingVisible, TxnIter } from './txn-iterator.js';

/** Share of memtableSize one transaction's writes may take. */
export const TXN_MEMTABLE_SHARE = 0.15;

export interface TxnOptions {
  /** No writes allowed; never conflicts. Default false. */
  readOnly?: boolean;
  /**
   * Read at this version instead of the newest (managed versions, src/txn/managed.ts): between
   * the discard version (or the oldest history kept) and `db.lastVersion`, else ErrInvalidVersion.
   */
  readVersion?: number;
}

export interface TxnCommitOptions extends WriteOptions {
  /**
   * Commit every write at this one version (managed versions, e.g. a block height). It must be
   * above every version written before, else the commit fails with ErrInvalidVersion.
   */
  version?: number;
}

export interface TxnPutOptions {
  /** Time to live in seconds (the entry expires that long from now). */
  ttl?: number;
  /** Absolute expiry, seconds since the epoch. Give ttl or expiresAt, not both. */
  expiresAt?: number;
  /** One byte (0..255) stored with the entry. */
  userMeta?: number;
}

export class Txn {
  readonly readOnly: boolean;
  /** The version this transaction reads at. */
  readonly readVersion: number;
  /** Largest arena bytes the buffered writes may take. */
  readonly txnBytesMax: number;
  private readonly engine: Engine;
  private readonly oracle: Oracle;
  private done = false;
  private readonly pending = new Map<string, PendingWrite>();
  private sortedCache: PendingWrite[] | undefined;
  private bytes = 0;
  /** Hex of every key read from the database (not from own writes). */
  readonly readKeys = new Set<string>();
  readonly readRanges: ReadRange[] = [];

  /** @internal Use `db.transaction()`. */
  constructor(engine: Engine, oracle: Oracle, options: TxnOptions = {}) {
    engine.checkOpen();
    this.engine = engine;
    this.oracle = oracle;
    this.readOnly = options.readOnly === true;
    let at: number | undefined;
    if (options.readVersion !== undefined) {
      at = versionArg(options.readVersion, 'transaction: readVersion');
      checkReadVersion(engine, at);
    }
    this.readVersion = engine.acquireSnapshot(at);
    if (!this.readOnly) oracle.begin(this.readVersion);
    this.txnBytesMax = Math.floor(engine.config.memtableSize * TXN_MEMTABLE_SHARE);
  }

  get closed(): boolean {
    return this.done;
  }

  /** Number of buffered writes. */
  get length(): number {
    return this.pending.size;
  }

  private check(): void {
    if (this.done) throw new ErrTxnDone();
    this.engine.checkOpen();
  }

  /** Encoded value as this transaction sees it, or undefined if absent or dead. */
  private lookup(k: Uint8Array): { own: PendingWrite } | { encoded: Uint8Array | undefined } {
    const h = toHex(k);
    const own = this.pending.get(h);
    if (own !== undefined) return { own };
    if (!this.readOnly) this.readKeys.add(h);
    return { encoded: this.engine.getEncoded(k, this.readVersion) };
  }

  getSync(key: Bytes): Uint8Array | undefined {
    this.check();
    const r = this.lookup(keyBytes(key, this.engine.config));
    const now = nowSeconds();
    if ('own' in r) return pendingVisible(r.own, now) ? r.own.value!.slice() : undefined;
    const v = r.encoded;
    return v === undefined || isDeadValue(v, now) ? undefined : userValueOf(v);
  }

  hasSync(key: Bytes): boolean {
    this.check();
    const r = this.lookup(keyBytes(key, this.engine.config));
    const now = nowSeconds();
    if ('own' in r) return pendingVisible(r.own, now);
    return r.encoded !== undefined && !isDeadValue(r.encoded, now);
  }

  get(key: Bytes): Promise<Uint8Array | undefined> {
    try {
      return Promise.resolve(this.getSync(key));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  has(key: Bytes): Promise<boolean> {
    try {
      return Promise.resolve(this.hasSync(key));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Same options as the DB iterator; sees this transaction's own writes. */
  iterator(options: RangeOptions = {}): DBIterator {
    this.check();
    const extra = options as { allVersions?: unknown; sinceVersion?: unknown };
    if (extra.allVersions !== undefined || extra.sinceVersion !== undefined) {
      throw new RangeError('transaction iterator: allVersions and sinceVersion are options of db.iterator(), not of a transaction');
    }
    const bounds = boundsOf(options);
    const limit = limitOf(options);
    const reverse = options.reverse === true;
    let own = this.sortedPending().filter((w) => rangeContains(bounds, w.key));
    if (reverse) own = own.reverse();
    const inner = this.engine.newIterator(this.readVersion, bounds, reverse, -1, options.keysOnly === true);
    let settle: ((exhausted: boolean, last: Uint8Array | undefined) => void) | undefined;
    if (!this.readOnly) {
      // The whole range counts while the iterator is open; once it ends, only what was read.
      const range: ReadRange = { ...bounds };
      this.readRanges.push(range);
      settle = (exhausted, last) => narrowRange(this.readRanges, range, reverse, exhausted, last);
    }
    return new DBIterator(new TxnIter(inner, own, reverse, limit, options.keysOnly === true, nowSeconds(), settle));
  }

  private sortedPending(): PendingWrite[] {
    if (this.sortedCache === undefined) this.sortedCache = [...this.pending.values()].sort((a, b) => compareBytes(a.key, b.key));
    return this.sortedCache;
  }

  put(key: Bytes, value: Bytes, options: TxnPutOptions = {}): void {
    this.checkWrite();
    const k = keyBytes(key, this.engine.config);
    const v = valueBytes(value, this.engine.config);
    this.add({ key: k.slice(), kind: EntryKind.Put, value: v.slice(), expiresAt: expiryOf(options), userMeta: userMetaOf(options) });
  }

  delete(key: Bytes): void {
    this.checkWrite();
    const k = keyBytes(key, this.engine.config);
    this.add({ key: k.slice(), kind: EntryKind.Delete, value: undefined, expiresAt: 0, userMeta: -1 });
  }

  private checkWrite(): void {
    this.check();
    if (this.readOnly) throw new ErrReadOnlyTxn();
  }

  private add(w: PendingWrite): void {
    const h = toHex(w.key);
    const old = this.pending.get(h);
    const size = entryBytes(w);
    const next = this.bytes - (old === undefined ? 0 : entryBytes(old)) + size;
    if (next > this.txnBytesMax) {
      throw new ErrTxnTooBig(`transaction would take ${next} bytes, over its limit of ${this.txnBytesMax} (${TXN_MEMTABLE_SHARE * 100}% of memtableSize); commit what it holds and continue in a new one`);
    }
    this.bytes = next;
    this.pending.set(h, w);
    this.sortedCache = undefined;
  }

  /**
   * Commits the buffered writes atomically at a new version, or rejects with ErrConflict (and
   * writes nothing). The transaction is finished either way.
   */
  async commit(options?: TxnCommitOptions): Promise<void> {
    this.check();
    const at = options?.version === undefined ? undefined : versionArg(options.version, 'commit: version');
    this.done = true;
    try {
      if (this.readOnly || this.pending.size === 0) return;
      const rep = new BatchRep(this.bytes + 64, at !== undefined);
      for (const w of this.sortedPending()) rep.add(w.kind, w.key, w.value, w.expiresAt, w.userMeta);
      await this.engine.commits.write(rep, options?.sync ?? false, {
        validate: () => (this.oracle.hasConflict(this) ? new ErrConflict() : undefined),
        ...(at === undefined ? {} : { version: at }),
      });
    } finally {
      this.finish();
    }
  }

  /** Drops the buffered writes. Idempotent: a finished transaction stays finished. */
  rollback(): void {
    if (this.done) return;
    this.done = true;
    this.finish();
  }

  private finish(): void {
    this.pending.clear();
    this.sortedCache = undefined;
    this.engine.releaseSnapshot(this.readVersion);
    if (!this.readOnly) this.oracle.end(this.readVersion);
  }
}

/**
 * Cuts a scanned range down to what the caller saw: an iterator that stopped early (limit, or
 * closed by the caller) observed its bounds only up to the last key it returned, so writes
 * beyond that cannot have changed what the transaction read. One that returned nothing and
 * stopped early observed nothing.
 */
function narrowRange(ranges: ReadRange[], range: ReadRange, reverse: boolean, exhausted: boolean, last: Uint8Array | undefined): void {
  if (exhausted) return;
  if (last === undefined) {
    const i = ranges.indexOf(range);
    if (i >= 0) ranges.splice(i, 1);
    return;
  }
  if (reverse) {
    range.lower = last;
    range.lowerInclusive = true;
  } else {
    range.upper = last;
    range.upperInclusive = true;
  }
}

function entryBytes(w: PendingWrite): number {
  // Key + 8-byte version trailer, plus the node and tower overhead of one memtable entry.
  return Memtable.entrySize(w.key.length + 8, encodedValueLength(w.value?.length ?? 0, w.expiresAt, w.userMeta >= 0));
}

function expiryOf(o: TxnPutOptions): number {
  if (o.ttl !== undefined && o.expiresAt !== undefined) throw new RangeError('put: give ttl or expiresAt, not both');
  if (o.ttl !== undefined) {
    if (!Number.isFinite(o.ttl) || o.ttl <= 0) throw new RangeError(`put: ttl must be a positive number of seconds, got ${o.ttl}`);
    return nowSeconds() + Math.ceil(o.ttl);
  }
  if (o.expiresAt !== undefined) {
    if (!Number.isSafeInteger(o.expiresAt) || o.expiresAt <= 0) throw new RangeError(`put: expiresAt must be a positive integer (seconds since the epoch), got ${o.expiresAt}`);
    return o.expiresAt;
  }
  return 0;
}

function userMetaOf(o: TxnPutOptions): number {
  if (o.userMeta === undefined) return -1;
  if (!Number.isInteger(o.userMeta) || o.userMeta < 0 || o.userMeta > 255) throw new RangeError(`put: userMeta must be an integer 0..255, got ${o.userMeta}`);
  return o.userMeta;
}
