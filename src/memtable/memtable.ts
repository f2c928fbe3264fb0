/**
 * The memtable: the newest writes, ordered by internal key, held in one arena skiplist
 * (skiplist.ts) until it is flushed to a table. It is the write hot path, so an insert copies
 * the user key, the trailer and the value straight into the arena and allocates no object.
 *
 * Contract details the engine relies on:
 *  - `add`/`addEntry` return false and change nothing (entries, arena, RNG) when the entry does
 *    not fit. `hasRoomFor(Memtable.entrySize(k, v))` true guarantees the next add of that size
 *    succeeds.
 *  - Inserting a (user key, version) that is already present throws an Error and changes
 *    nothing; the engine never does it, so this is a bug detector, not a feature.
 *  - Returned keys and values are views into the arena. They never change once written.
 */
import { ErrIteratorClosed } from '../api/errors.js';
import type { InternalIterator } from '../codec/iterator.js';
import { TRAILER_BYTES, VERSION_MAX, writeTrailer } from '../codec/keys.js';
import { type EntryKind, MetaFlag, encodedValueLength, writeEncodedValue } from '../codec/value.js';
import { Arena } from './arena.js';
import { KeyFilter } from './key-filter.js';
import { CMP_USER_GREATER, HEIGHT_MAX, SkipList, recordBytes, towerBytes } from './skiplist.js';

/** Default arena size: the memtable size option's default, 64 MiB. */
export const MEMTABLE_BYTES_DEFAULT = 64 * 1024 * 1024;
const SEED_DEFAULT = 0xdeadbeef;

export interface MemtableOptions {
  /** Back the arena with a SharedArrayBuffer so a worker can flush it (see frozen.ts). */
  shared?: boolean;
  /** Seed of the tower-height RNG; the same seed and inserts give the same arena bytes. */
  seed?: number;
  /** Memory of a retired memtable of the same size to reuse (see Engine.newMemtable). */
  reuse?: ArrayBuffer | SharedArrayBuffer;
}

function checkVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 0 || version > VERSION_MAX) {
    throw new RangeError(`version must be an integer in [0, ${VERSION_MAX}], got ${version}`);
  }
}

/** Bytes of the user value inside an encoded value (codec/value.ts), i.e. minus its header. */
function userValueLength(encoded: Uint8Array): number {
  const meta = encoded[0] ?? 0;
  let pos = 1;
  if (meta & MetaFlag.Expires) {
    while (pos < encoded.length && encoded[pos]! & 0x80) pos++;
    pos++;
  }
  if (meta & MetaFlag.UserMeta) pos++;
  return encoded.length > pos ? encoded.length - pos : 0;
}

export class Memtable {
  private readonly arena: Arena;
  private readonly list: SkipList;
  private readonly buf: Uint8Array;
  /** The arena's memory, for views: `new Uint8Array(memory, …)` is cheaper than `subarray`. */
  private readonly memory: ArrayBuffer | SharedArrayBuffer;
  /** Trailer of a get's search key. */
  private readonly probe = new Uint8Array(TRAILER_BYTES);
  /** Every user key added (key-filter.ts): a get for any other key skips the skiplist. */
  private readonly filter: KeyFilter;
  private minV = 0;
  private maxV = 0;
  private userLen = 0;

  /** arenaBytes: total arena size (the memtable size option; at least 1 KiB, at most 1 GiB). */
  constructor(arenaBytes: number = MEMTABLE_BYTES_DEFAULT, options?: MemtableOptions) {
    this.arena = new Arena(arenaBytes, options?.shared ?? false, options?.reuse);
    this.buf = this.arena.buf;
    this.memory = this.arena.memory;
    this.list = new SkipList(this.arena, options?.seed ?? SEED_DEFAULT);
    this.filter = new KeyFilter(this.arena.capacity);
  }

  /** Open iterators reading this memtable's arena (its memory is reused only once none is left). */
  pins = 0;
  /** Flushed and dropped by the engine; `onRetired` runs once no iterator pins it. */
  retired = false;

  /** Bytes an entry would take in the arena (tallest tower + record header + key + value + padding). */
  static entrySize(internalKeyLength: number, encodedValueLength: number): number {
    return towerBytes(HEIGHT_MAX) + recordBytes(internalKeyLength, encodedValueLength) + 3;
  }

  /** True if an entry of `bytes` (as given by `entrySize`) still fits. */
  hasRoomFor(bytes: number): boolean {
    return this.arena.used + bytes <= this.arena.capacity;
  }

  /** The arena's memory (a SharedArrayBuffer when created with `shared`). */
  get arenaMemory(): ArrayBuffer | SharedArrayBuffer {
    return this.memory;
  }

  get entries(): number {
    return this.list.entries;
  }

  /** Arena bytes used, including the skiplist head and alignment padding. */
  get usedBytes(): number {
    return this.arena.used;
  }

  get capacityBytes(): number {
    return this.arena.capacity;
  }

  /** Smallest version added (0 when empty). */
  get minVersion(): number {
    return this.minV;
  }

  /** Largest version added (0 when empty). */
  get maxVersion(): number {
    return this.maxV;
  }

  /** Sum of user key and user value lengths added (value headers not counted). */
  get userBytes(): number {
    return this.userLen;
  }

  /**
   * Inserts userKey at `version` with an already-encoded value. Returns false (and changes
   * nothing) if the arena lacks room; throws if (userKey, version) is already present.
   */
  add(userKey: Uint8Array, version: number, encodedValue: Uint8Array): boolean {
    checkVersion(version);
    const node = this.list.allocate(userKey.length + TRAILER_BYTES, encodedValue.length);
    if (node === 0) return false;
    this.writeKey(node, userKey, version);
    this.buf.set(encodedValue, this.list.valueStart(node));
    this.list.link(node);
    this.filter.add(KeyFilter.hash(userKey, 0, userKey.length));
    this.noteAdded(version, userKey.length + userValueLength(encodedValue));
    return true;
  }

  /**
   * Same as `add`, encoding the value (kind, value, optional expiresAt and userMeta; see
   * codec/value.ts) directly into the arena.
   */
  addEntry(
    userKey: Uint8Array,
    version: number,
    kind: EntryKind,
    value: Uint8Array | undefined,
    expiresAt?: number,
    userMeta?: number,
  ): boolean {
    checkVersion(version);
    const valueLen = value === undefined ? 0 : value.length;
    const hasUserMeta = userMeta !== undefined && userMeta >= 0;
    const encodedLen = encodedValueLength(valueLen, expiresAt, hasUserMeta);
    const node = this.list.allocate(userKey.length + TRAILER_BYTES, encodedLen);
    if (node === 0) return false;
    this.writeKey(node, userKey, version);
    writeEncodedValue(this.buf, this.list.valueStart(node), kind, value, expiresAt, userMeta);
    this.list.link(node);
    this.filter.add(KeyFilter.hash(userKey, 0, userKey.length));
    this.noteAdded(version, userKey.length + valueLen);
    return true;
  }

  /** Copies userKey ‖ trailer(version) into the node's key slot. */
  private writeKey(node: number, userKey: Uint8Array, version: number): void {
    const buf = this.buf;
    const ks = this.list.keyStart(node);
    const n = userKey.length;
    // A byte loop beats TypedArray.set's call overhead for typical short keys.
    if (n <= 32) {
      for (let i = 0; i < n; i++) buf[ks + i] = userKey[i]!;
    } else {
      buf.set(userKey, ks);
    }
    writeTrailer(buf, ks + n, version);
  }

  private noteAdded(version: number, userLen: number): void {
    if (this.list.entries === 1) {
      this.minV = version;
      this.maxV = version;
    } else if (version < this.minV) {
      this.minV = version;
    } else if (version > this.maxV) {
      this.maxV = version;
    }
    this.userLen += userLen;
  }

  /**
   * Encoded value of the newest entry of userKey with version <= readVersion (a view into the
   * arena), or undefined. Tombstones are returned as stored. `hash`, if given, is
   * `KeyFilter.hash` of userKey (a caller asking several memtables and tables hashes once).
   */
  get(userKey: Uint8Array, readVersion: number, hash?: number): Uint8Array | undefined {
    checkVersion(readVersion);
    if (!this.filter.mayContain(hash ?? KeyFilter.hash(userKey, 0, userKey.length))) return undefined;
    const probe = this.probe;
    writeTrailer(probe, 0, readVersion);
    const list = this.list;
    const node = list.findGreaterOrEqual(userKey, 0, userKey.length, probe, 0);
    // The node is >= the search key; lastCmp is 0 or 1 when its user key equals userKey.
    if (node === 0 || list.lastCmp === CMP_USER_GREATER) return undefined;
    return new Uint8Array(this.memory, list.valueStart(node), list.valueLength(node));
  }

  /** O(n) structure check (skiplist.ts invariants); throws on a breach. For tests and debugging. */
  checkInvariants(): void {
    this.list.checkInvariants();
  }

  /** Iterator over all entries in internal-key order; stays valid across later inserts. */
  iterator(): InternalIterator {
    return new MemtableIterator(this.list, this.buf, this.memory);
  }
}

/**
 * Stands on a node (0 = not valid). next() follows the live level-0 link, so entries inserted
 * after the iterator was made are seen when they fall ahead of it; prev() searches for the
 * predecessor, O(log n).
 */
class MemtableIterator implements InternalIterator {
  private node = 0;
  private closed = false;
  /** The current node's key, made once per node (a merge compares each key several times). */
  private keyView: Uint8Array | undefined;

  constructor(
    private readonly list: SkipList,
    private readonly buf: Uint8Array,
    private readonly memory: ArrayBuffer | SharedArrayBuffer,
  ) {}

  private checkOpen(): void {
    if (this.closed) throw new ErrIteratorClosed();
  }

  private checkValid(): void {
    this.checkOpen();
    if (this.node === 0) throw new Error('sett invariant: memtable iterator used while not valid');
  }

  seek(target: Uint8Array): void {
    this.checkOpen();
    const ul = userLengthOf(target);
    this.keyView = undefined;
    this.node = this.list.findGreaterOrEqual(target, 0, ul, target, ul);
  }

  seekForPrev(target: Uint8Array): void {
    this.checkOpen();
    const ul = userLengthOf(target);
    this.keyView = undefined;
    this.node = this.list.findLast(target, 0, ul, target, ul, true);
  }

  seekToFirst(): void {
    this.checkOpen();
    this.keyView = undefined;
    this.node = this.list.first();
  }

  seekToLast(): void {
    this.checkOpen();
    this.keyView = undefined;
    this.node = this.list.last();
  }

  next(): void {
    this.checkValid();
    this.keyView = undefined;
    this.node = this.list.next(this.node);
  }

  prev(): void {
    this.checkValid();
    const list = this.list;
    const ks = list.keyStart(this.node);
    const ul = list.keyLength(this.node) - TRAILER_BYTES;
    this.keyView = undefined;
    this.node = list.findLast(this.buf, ks, ul, this.buf, ks + ul, false);
  }

  valid(): boolean {
    return this.node !== 0;
  }

  key(): Uint8Array {
    const k = this.keyView;
    if (k !== undefined) return k;
    this.checkValid();
    return (this.keyView = new Uint8Array(this.memory, this.list.keyStart(this.node), this.list.keyLength(this.node)));
  }

  value(): Uint8Array {
    this.checkValid();
    return new Uint8Array(this.memory, this.list.valueStart(this.node), this.list.valueLength(this.node));
  }

  close(): void {
    this.closed = true;
    this.node = 0;
    this.keyView = undefined;
  }
}

function userLengthOf(target: Uint8Array): number {
  if (target.length < TRAILER_BYTES) {
    throw new RangeError(`seek target must be an internal key (>= ${TRAILER_BYTES} bytes), got ${target.length}`);
  }
  return target.length - TRAILER_BYTES;
}
