/**
 * A skiplist of internal keys living entirely in one Arena (after LevelDB's skiplist.h and
 * Badger's arena skiplist).
 *
 * A node is two arena blocks (see arena.ts): a *tower*, bumped up from the bottom of the arena,
 * which is all a search walks, and a *record* with the key and value, carved from the top, which
 * a search reads only when it must compare whole keys. Towers of 500k nodes fit in ~10 MB, so
 * a search meets far fewer cache and TLB misses than if keys and values sat between them.
 *
 * Tower, in 32-bit words from the node's word index `n` (host byte order; never persisted):
 *
 *   n+0     record     byte offset of the node's record
 *   n+1+3i  next[i]    word index of the next node's tower at level i (i < height), 0 = end
 *   n+2+3i  prefix[i]  key prefix of next[i] (below, two words), so a search can decide
 *   n+3+3i             almost every step without touching the next node
 *
 * Record, from byte offset r (4-aligned): keyLen (i32), valueLen (i32), height (i32), then the
 * internal key (user key ‖ 8-byte trailer, keyLen >= 8), then the encoded value.
 *
 * A key prefix is 8 bytes of the user key taken after the `skip` leading bytes that every key in
 * the list shares (zero-padded, read as two big-endian words, each with its top bit flipped so that signed
 * int32 order is unsigned byte order). Among keys that share those bytes, prefix(a) < prefix(b) implies
 * user key a < b (a shorter key padded with zeros is a prefix of the other, so it sorts first);
 * equal prefixes decide nothing and the keys are compared in full. Taking the bytes after the
 * shared part matters: keys like "0000000012345678" or "acct/…" would otherwise all have one
 * prefix and every step of a search would read a record (a cache miss). `skip` starts at the
 * first key's length and only shrinks; when an insert shrinks it, every prefix is recomputed
 * (O(n), at most once per byte of the shared part). A search key that does not share the
 * bytes sorts before or after every node, which `sharedOrder` decides without a search.
 *
 * The head node sits at word 0 with a full tower and an empty key. Since no node ever links to
 * the head, a next pointer of 0 means "end of list", and a search result of 0 means "none".
 *
 * Invariants:
 *  1. Level 0 is a singly linked list of every inserted node in strictly increasing
 *     `compareInternal` order (user key ascending, then version descending). No two nodes have
 *     the same internal key: inserting an existing (user key, version) throws and changes
 *     nothing.
 *  2. For each level i, the level-i list is a subsequence of the level-(i-1) list, and holds
 *     exactly the nodes whose height is > i. `this.height` is the largest height of any node
 *     (1 when empty); head.next[i] is 0 for every i >= this.height.
 *  3. A node's key, value and height never change once it is linked, and nodes never move, so
 *     a word index stays a valid handle (and a subarray of its key or value stays valid) for
 *     the life of the arena. Only next pointers change, and only by splicing a new node in.
 *  4. prefix[i] of every tower (the head's too) is the key prefix of next[i] when next[i] != 0.
 *  5. Every tower lies wholly below `arena.towerTop` and every record wholly between
 *     `arena.recordBottom` and the arena's end.
 *
 * Single-threaded: JavaScript gives a memtable to one thread, so no atomics are needed and a
 * node is linked bottom-up without a publication protocol. An iterator standing on a node stays
 * correct across inserts: next() follows the live level-0 pointer, prev() searches again.
 *
 * Cheap O(1) checks run always; `checkInvariants()` walks every level (O(n)) and runs after
 * each insert when `INVARIANTS.enabled` is set (tests do).
 */
import { TRAILER_BYTES, compareInternal } from '../codec/keys.js';
import type { Arena } from './arena.js';

/** Tallest tower: 2^20 entries before searches stop being logarithmic (a 1 GiB arena of tiny
 * entries holds ~2^24; they would then cost a few more steps, nothing worse). */
export const HEIGHT_MAX = 20;
/**
 * A node reaches level i+1 with probability 1/2. Branching 1/2 takes fewer steps *between*
 * nodes than 1/4 (log2 n rather than 1.5 log2 n), and each such step is a likely cache miss
 * while steps down a tower are not; the larger towers cost ~5 bytes a node.
 */
const BRANCH_MASK = 1;
/** Tower words: record offset, then (next, prefix high word, prefix low word) per level. */
const RECORD = 0;
const LEVELS = 1;
const STRIDE = 3;
/** Record words: key length, value length, height; key bytes follow. */
const REC_KEY_LEN = 0;
const REC_VALUE_LEN = 1;
const REC_HEIGHT = 2;
const REC_HEADER_BYTES = 12;
/** Local copy of TRAILER_BYTES for the hot loops. */
const TRAILER = 8;
/** Word index of the head node, and the "no node" result. */
export const HEAD = 0;
const NONE = 0;

/** Turns on O(n) structure checks after every insert. Tests set `INVARIANTS.enabled = true`. */
export const INVARIANTS = { enabled: false };

/**
 * Node comparison results. User-key differences are ±2, trailer (version) differences ±1, so a
 * search can tell "same user key" from the size of the last comparison.
 */
export const CMP_USER_LESS = -2;
export const CMP_USER_GREATER = 2;

function invariantFailed(message: string): never {
  throw new Error(`sett invariant: memtable skiplist: ${message}`);
}
if (TRAILER !== TRAILER_BYTES) invariantFailed('trailer size mismatch');

/** Arena bytes of a tower of `height` levels. */
export function towerBytes(height: number): number {
  return (LEVELS + STRIDE * height) * 4;
}

/** Arena bytes of a record, before padding to 4. */
export function recordBytes(keyLen: number, valueLen: number): number {
  return REC_HEADER_BYTES + keyLen + valueLen;
}

/** One word of a key prefix (see the layout note): bytes kbuf[ks, ks + 4) of a key ending at ks + kl. */
function prefixOf(kbuf: Uint8Array, ks: number, kl: number): number {
  if (kl >= 4) return ((kbuf[ks]! << 24) | (kbuf[ks + 1]! << 16) | (kbuf[ks + 2]! << 8) | kbuf[ks + 3]!) ^ 0x80000000;
  let p = 0;
  for (let i = 0; i < 4; i++) p = (p << 8) | (i < kl ? kbuf[ks + i]! : 0);
  return p ^ 0x80000000;
}

export class SkipList {
  readonly arena: Arena;
  private readonly buf: Uint8Array;
  private readonly i32: Int32Array;
  /** Largest tower height in the list (invariant 2). */
  private height = 1;
  private count = 0;
  /** xorshift32 state; never 0. */
  private rng: number;
  /** Predecessor at each level, filled by an insert's search. */
  private readonly splice = new Int32Array(HEIGHT_MAX);
  /** Comparison of the node a `search` returned with the search key (1 if none). */
  lastCmp = 1;
  /** The node `allocate` returned and the RNG state before it, until `link`. */
  private pending = NONE;
  private pendingRng = 0;
  /** Leading user-key bytes every node shares (valid once a node exists), and those bytes. */
  private skip = 0;
  private shared: Uint8Array | undefined;

  constructor(arena: Arena, seed: number) {
    this.arena = arena;
    this.buf = arena.buf;
    this.i32 = arena.i32;
    this.rng = seed >>> 0 || 0x9e3779b9;
    const head = arena.alloc(towerBytes(HEIGHT_MAX), recordBytes(0, 0));
    if (head !== HEAD) invariantFailed('head node must be the first allocation');
    this.i32.fill(NONE, HEAD + LEVELS, HEAD + LEVELS + STRIDE * HEIGHT_MAX);
    const r = arena.recordBottom >> 2;
    this.i32[HEAD + RECORD] = arena.recordBottom;
    this.i32[r + REC_HEIGHT] = HEIGHT_MAX;
  }

  get entries(): number {
    return this.count;
  }

  /** Height for a new node: 1 + the number of trailing zero bits of a random word. */
  private randomHeight(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.rng = x;
    let h = 1;
    while (h < HEIGHT_MAX && (x & BRANCH_MASK) === 0) {
      h++;
      x >>>= 1;
    }
    return h;
  }

  /**
   * Carves out a node for a key and value of the given lengths and returns its word index, or
   * NONE if the arena lacks room (then nothing changed, not even the RNG). The caller writes the
   * key at `keyStart(node)` and the value at `valueStart(node)`, then calls `link(node)`.
   */
  allocate(keyLen: number, valueLen: number): number {
    if (keyLen < TRAILER) invariantFailed(`internal key of ${keyLen} bytes`);
    const rng = this.rng;
    const height = this.randomHeight();
    const node = this.arena.alloc(towerBytes(height), recordBytes(keyLen, valueLen));
    if (node < 0) {
      this.rng = rng;
      return NONE;
    }
    const i32 = this.i32;
    const rec = this.arena.recordBottom;
    const r = rec >> 2;
    i32[node + RECORD] = rec;
    i32[r + REC_KEY_LEN] = keyLen;
    i32[r + REC_VALUE_LEN] = valueLen;
    i32[r + REC_HEIGHT] = height;
    this.pending = node;
    this.pendingRng = rng;
    return node;
  }

  /**
   * Splices the node last returned by `allocate` (key and value written) into every level of
   * its tower. Throws, after giving back the node's arena bytes, if its internal key is present.
   */
  link(node: number): void {
    if (node === NONE || node !== this.pending) invariantFailed('link of a node not just allocated');
    this.pending = NONE;
    const i32 = this.i32;
    const r = i32[node + RECORD]! >> 2;
    const height = i32[r + REC_HEIGHT]!;
    const ks = (r << 2) + REC_HEADER_BYTES;
    const kl = i32[r + REC_KEY_LEN]! - TRAILER;
    this.widen(ks, kl);
    const splice = this.splice;
    const next = this.search(this.buf, ks, kl, this.buf, ks + kl, splice);
    if (next !== NONE && this.lastCmp === 0) {
      this.arena.undoLast();
      this.rng = this.pendingRng;
      throw new Error('sett invariant: memtable insert of an internal key (user key, version) already present');
    }
    for (let level = this.height; level < height; level++) splice[level] = HEAD;
    if (height > this.height) this.height = height;
    const hi = prefixOf(this.buf, ks + this.skip, kl - this.skip);
    const lo = prefixOf(this.buf, ks + this.skip + 4, kl - this.skip - 4);
    for (let level = 0; level < height; level++) {
      const from = splice[level]! + LEVELS + STRIDE * level;
      const to = node + LEVELS + STRIDE * level;
      i32[to] = i32[from]!;
      i32[to + 1] = i32[from + 1]!;
      i32[to + 2] = i32[from + 2]!;
      i32[from] = node;
      i32[from + 1] = hi;
      i32[from + 2] = lo;
    }
    this.count++;
    if (INVARIANTS.enabled) this.checkInvariants();
  }

  /** Makes `skip` cover only bytes the new user key buf[ks, ks + kl) shares too. */
  private widen(ks: number, kl: number): void {
    const buf = this.buf;
    const shared = this.shared;
    if (shared === undefined) {
      this.shared = buf.slice(ks, ks + kl);
      this.skip = kl;
      return;
    }
    const n = this.skip < kl ? this.skip : kl;
    let l = 0;
    while (l < n && buf[ks + l] === shared[l]) l++;
    if (l === this.skip) return;
    this.skip = l;
    this.rebuildPrefixes();
  }

  /** Recomputes every tower's prefixes after `skip` shrank. */
  private rebuildPrefixes(): void {
    const i32 = this.i32;
    const skip = this.skip;
    for (let level = 0; level < this.height; level++) {
      let slot = HEAD + LEVELS + STRIDE * level;
      for (let x = i32[slot]!; x !== NONE; x = i32[slot]!) {
        const r = i32[x + RECORD]! >> 2;
        const ks = (r << 2) + REC_HEADER_BYTES + skip;
        const kl = i32[r + REC_KEY_LEN]! - TRAILER - skip;
        i32[slot + 1] = prefixOf(this.buf, ks, kl);
        i32[slot + 2] = prefixOf(this.buf, ks + 4, kl - 4);
        slot = x + LEVELS + STRIDE * level;
      }
    }
  }

  /**
   * Where a search key stands against the shared leading bytes: 0 if it has them all (then
   * prefixes apply), CMP_USER_LESS if it sorts before every node, CMP_USER_GREATER if after.
   */
  private sharedOrder(kbuf: Uint8Array, ks: number, kl: number): number {
    const shared = this.shared;
    if (shared === undefined) return 0;
    const skip = this.skip;
    const n = skip < kl ? skip : kl;
    for (let i = 0; i < n; i++) {
      const a = kbuf[ks + i]!;
      const b = shared[i]!;
      if (a !== b) return a < b ? CMP_USER_LESS : CMP_USER_GREATER;
    }
    return kl < skip ? CMP_USER_LESS : 0;
  }

  keyStart(node: number): number {
    return this.i32[node + RECORD]! + REC_HEADER_BYTES;
  }

  keyLength(node: number): number {
    return this.i32[this.i32[node + RECORD]! >> 2]!;
  }

  valueStart(node: number): number {
    const rec = this.i32[node + RECORD]!;
    return rec + REC_HEADER_BYTES + this.i32[(rec >> 2) + REC_KEY_LEN]!;
  }

  valueLength(node: number): number {
    return this.i32[(this.i32[node + RECORD]! >> 2) + REC_VALUE_LEN]!;
  }

  /** Next node at level 0, or NONE at the end. */
  next(node: number): number {
    return this.i32[node + LEVELS]!;
  }

  /** First node, or NONE when empty. */
  first(): number {
    return this.i32[HEAD + LEVELS]!;
  }

  /** Last node, or NONE when empty. */
  last(): number {
    const i32 = this.i32;
    let x = HEAD;
    for (let level = this.height - 1; level >= 0; level--) {
      let next = i32[x + LEVELS + STRIDE * level]!;
      while (next !== NONE) {
        x = next;
        next = i32[x + LEVELS + STRIDE * level]!;
      }
    }
    return x;
  }

  /**
   * Compares node's internal key with the search key whose user part is kbuf[ks, ks + kl) and
   * whose trailer is tbuf[tp, tp + 8). Same order as `compareInternal`; returns ±2 when the user
   * keys differ, ±1 when only the trailers do, 0 when equal. The search key must have the
   * shared leading bytes (`sharedOrder` 0): they are skipped.
   */
  private compare(node: number, kbuf: Uint8Array, ks: number, kl: number, tbuf: Uint8Array, tp: number): number {
    const i32 = this.i32;
    const buf = this.buf;
    const rec = i32[node + RECORD]!;
    const nkl = i32[rec >> 2]! - TRAILER;
    const nks = rec + REC_HEADER_BYTES;
    const n = nkl < kl ? nkl : kl;
    for (let i = this.skip; i < n; i++) {
      const a = buf[nks + i]!;
      const b = kbuf[ks + i]!;
      if (a !== b) return a < b ? CMP_USER_LESS : CMP_USER_GREATER;
    }
    if (nkl !== kl) return nkl < kl ? CMP_USER_LESS : CMP_USER_GREATER;
    const nt = nks + nkl;
    for (let i = 0; i < TRAILER; i++) {
      const a = buf[nt + i]!;
      const b = tbuf[tp + i]!;
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  }

  /**
   * First node >= the search key (see `compare`), or NONE; `lastCmp` gets that node's
   * comparison with the key. With `splice`, records the last node < key at every level below
   * `height`. The next node's prefix, kept in the current tower, settles most steps without
   * touching the next node; a node found >= key is not compared again one level down.
   */
  search(kbuf: Uint8Array, ks: number, kl: number, tbuf: Uint8Array, tp: number, splice: Int32Array | null): number {
    const i32 = this.i32;
    // An insert (splice given) has just widened `skip` to its key; a lookup checks first.
    const side = splice === null ? this.sharedOrder(kbuf, ks, kl) : 0;
    if (side !== 0) {
      const first = side < 0 ? i32[HEAD + LEVELS]! : NONE;
      this.lastCmp = first === NONE ? 1 : CMP_USER_GREATER;
      return first;
    }
    const sp = prefixOf(kbuf, ks + this.skip, kl - this.skip);
    const sp2 = prefixOf(kbuf, ks + this.skip + 4, kl - this.skip - 4);
    let x = HEAD;
    let known = NONE;
    let knownCmp = 1;
    for (let level = this.height - 1; ; level--) {
      let slot = x + LEVELS + STRIDE * level;
      let next = i32[slot]!;
      while (next !== NONE && next !== known) {
        const np = i32[slot + 1]!;
        const np2 = i32[slot + 2]!;
        const c =
          np < sp ? CMP_USER_LESS : np > sp ? CMP_USER_GREATER : np2 < sp2 ? CMP_USER_LESS : np2 > sp2 ? CMP_USER_GREATER : this.compare(next, kbuf, ks, kl, tbuf, tp);
        if (c >= 0) {
          known = next;
          knownCmp = c;
          break;
        }
        x = next;
        slot = x + LEVELS + STRIDE * level;
        next = i32[slot]!;
      }
      if (splice !== null) splice[level] = x;
      if (level === 0) {
        this.lastCmp = next === NONE ? 1 : knownCmp;
        return next;
      }
    }
  }

  /** First node >= the search key, or NONE. */
  findGreaterOrEqual(kbuf: Uint8Array, ks: number, kl: number, tbuf: Uint8Array, tp: number): number {
    return this.search(kbuf, ks, kl, tbuf, tp, null);
  }

  /**
   * Last node < the search key (or <= it when `orEqual`), or NONE. Used by prev() and
   * seekForPrev(); O(log n) like a forward search.
   */
  findLast(kbuf: Uint8Array, ks: number, kl: number, tbuf: Uint8Array, tp: number, orEqual: boolean): number {
    const i32 = this.i32;
    const side = this.sharedOrder(kbuf, ks, kl);
    if (side !== 0) return side < 0 ? NONE : this.last();
    const sp = prefixOf(kbuf, ks + this.skip, kl - this.skip);
    const sp2 = prefixOf(kbuf, ks + this.skip + 4, kl - this.skip - 4);
    const limit = orEqual ? 1 : 0;
    let x = HEAD;
    let known = NONE;
    for (let level = this.height - 1; level >= 0; level--) {
      let slot = x + LEVELS + STRIDE * level;
      let next = i32[slot]!;
      while (next !== NONE && next !== known) {
        const np = i32[slot + 1]!;
        const np2 = i32[slot + 2]!;
        const c =
          np < sp ? CMP_USER_LESS : np > sp ? CMP_USER_GREATER : np2 < sp2 ? CMP_USER_LESS : np2 > sp2 ? CMP_USER_GREATER : this.compare(next, kbuf, ks, kl, tbuf, tp);
        if (c >= limit) {
          known = next;
          break;
        }
        x = next;
        slot = x + LEVELS + STRIDE * level;
        next = i32[slot]!;
      }
    }
    return x;
  }

  /** O(n): walks every level and checks invariants 1, 2, 4 and 5. Throws on the first breach. */
  checkInvariants(): void {
    const i32 = this.i32;
    const { towerTop, recordBottom, capacity } = this.arena;
    if (towerTop > recordBottom || recordBottom > capacity) invariantFailed(`arena ends ${towerTop}/${recordBottom}`);
    let count = 0;
    let maxHeight = 1;
    let prevKey: Uint8Array | undefined;
    for (let x = i32[HEAD + LEVELS]!; x !== NONE; x = i32[x + LEVELS]!) {
      const rec = i32[x + RECORD]!;
      if (x <= HEAD || rec < recordBottom || rec + REC_HEADER_BYTES > capacity) invariantFailed(`node ${x} record ${rec}`);
      const h = i32[(rec >> 2) + REC_HEIGHT]!;
      const kl = i32[(rec >> 2) + REC_KEY_LEN]!;
      const vl = i32[(rec >> 2) + REC_VALUE_LEN]!;
      if (h < 1 || h > HEIGHT_MAX) invariantFailed(`node ${x} has height ${h}`);
      if (kl < TRAILER || vl < 0) invariantFailed(`node ${x} has key length ${kl}, value length ${vl}`);
      if (x * 4 + towerBytes(h) > towerTop) invariantFailed(`node ${x} tower extends past the tower area`);
      if (rec + recordBytes(kl, vl) > capacity) invariantFailed(`node ${x} record extends past the arena`);
      const key = this.buf.subarray(rec + REC_HEADER_BYTES, rec + REC_HEADER_BYTES + kl);
      for (let i = 0; i < this.skip; i++) if (key[i] !== this.shared![i]) invariantFailed(`node ${x} lacks the shared leading bytes`);
      if (prevKey !== undefined && compareInternal(prevKey, key) >= 0) {
        invariantFailed(`level 0 out of order at node ${x}`);
      }
      prevKey = key;
      if (h > maxHeight) maxHeight = h;
      count++;
    }
    if (count !== this.count) invariantFailed(`level 0 holds ${count} nodes, ${this.count} inserted`);
    if (maxHeight !== this.height) invariantFailed(`height ${this.height}, tallest node ${maxHeight}`);
    for (let level = 0; level < HEIGHT_MAX; level++) this.checkLevel(level);
  }

  /** Level `level` must be exactly the level-0 nodes taller than `level`, with right prefixes. */
  private checkLevel(level: number): void {
    const i32 = this.i32;
    let slot = HEAD + LEVELS + STRIDE * level;
    if (level >= this.height && i32[slot] !== NONE) invariantFailed(`head links level ${level} above height`);
    for (let x = i32[HEAD + LEVELS]!; x !== NONE; x = i32[x + LEVELS]!) {
      const r = i32[x + RECORD]! >> 2;
      if (i32[r + REC_HEIGHT]! <= level) continue;
      if (i32[slot] !== x) invariantFailed(`level ${level} skips or misorders node ${x}`);
      const kl = i32[r + REC_KEY_LEN]! - TRAILER;
      const ks = (r << 2) + REC_HEADER_BYTES + this.skip;
      if (i32[slot + 1] !== prefixOf(this.buf, ks, kl - this.skip) || i32[slot + 2] !== prefixOf(this.buf, ks + 4, kl - this.skip - 4)) {
        invariantFailed(`level ${level} holds a wrong prefix for node ${x}`);
      }
      slot = x + LEVELS + STRIDE * level;
    }
    if (i32[slot] !== NONE) invariantFailed(`level ${level} runs past the end of level 0`);
  }
}
