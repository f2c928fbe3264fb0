/**
 * Block cache shared by every table reader of a database: decompressed, verified blocks keyed by
 * (file number, block offset), evicted least-recently-used first to stay within a byte budget.
 *
 * Invariant: `usedBytes <= capacityBytes` after every call (cached blocks; the spare memory kept
 * for reuse, below, adds at most an eighth of the capacity). Each block is charged its length
 * plus `BLOCK_CACHE_ENTRY_OVERHEAD_BYTES` for the bookkeeping objects, so many tiny blocks
 * cannot blow the budget. A block larger than the whole budget is not cached; capacity 0
 * disables caching (every `get` misses, `set` does nothing).
 *
 * Cached arrays are shared and must never be written to. File numbers are never reused, so an
 * entry can only go stale when its file is deleted; whoever deletes a table calls `evictFile`
 * (closing a reader does not evict, so a reopened reader finds its blocks warm).
 *
 * Memory reuse: the memory of an evicted block is handed out again (`take`) for the next block
 * read, so a busy cache allocates nothing per miss (fresh ArrayBuffers per miss forced full GCs
 * on the reading thread). That is safe only for blocks nobody can still be reading: a block is
 * reused only if it was never handed out with `share` (iterators, which keep a block between
 * calls, ask with share; a point lookup finishes with its block before the next cache call).
 */

export const BLOCK_CACHE_ENTRY_OVERHEAD_BYTES = 96;

/**
 * Evicted blocks kept for reuse: at most an eighth of the capacity (and 1 MiB), each at most
 * SPARE_BLOCK_MAX bytes. `take` serves only blocks up to that size.
 */
const SPARE_BYTES_MAX = 1024 * 1024;
export const SPARE_BLOCK_MAX = 64 * 1024;
/** Fresh block memory is rounded up to this, so that a spare fits the next block of about its size. */
const BLOCK_ROUND = 128;

interface Entry {
  fileNumber: number;
  offset: number;
  block: Uint8Array;
  charge: number;
  /** Handed to a holder that may keep it (an iterator): its memory is never reused. */
  shared: boolean;
  /** Towards the most recently used end. */
  newer: Entry | undefined;
  /** Towards the least recently used end. */
  older: Entry | undefined;
}

export class BlockCache {
  readonly capacityBytes: number;
  private used = 0;
  private hitCount = 0;
  private missCount = 0;
  private readonly files = new Map<number, Map<number, Entry>>();
  /** Most recently used entry. */
  private head: Entry | undefined;
  /** Least recently used entry. */
  private tail: Entry | undefined;
  /** Memory of evicted, never-shared blocks, for `take`. */
  private spare: Uint8Array[] = [];
  private spareBytes = 0;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new RangeError(`block cache capacity must be a non-negative integer of bytes, got ${capacityBytes}`);
    }
    this.capacityBytes = capacityBytes;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Memory of evicted blocks kept for reuse (outside `usedBytes`, at most capacity / 8). */
  get spareBytesHeld(): number {
    return this.spareBytes;
  }

  /** Number of cached blocks. */
  get size(): number {
    let n = 0;
    for (const m of this.files.values()) n += m.size;
    return n;
  }

  /**
   * The cached block, or undefined. With `share`, the caller may keep the block after its next
   * call into this cache (else it must be done with it by then: the memory may be reused).
   */
  get(fileNumber: number, offset: number, share = false): Uint8Array | undefined {
    const e = this.files.get(fileNumber)?.get(offset);
    if (e === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    if (share) e.shared = true;
    if (e !== this.head) {
      this.unlink(e);
      this.pushHead(e);
    }
    return e.block;
  }

  /** Caches a block (`share` as for `get`). */
  set(fileNumber: number, offset: number, block: Uint8Array, share = false): void {
    // Charged for all the memory it holds (a reused or rounded buffer may be a little larger).
    const charge = Math.max(block.byteLength, block.buffer.byteLength) + BLOCK_CACHE_ENTRY_OVERHEAD_BYTES;
    if (charge > this.capacityBytes) return;
    let byOffset = this.files.get(fileNumber);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.files.set(fileNumber, byOffset);
    }
    const old = byOffset.get(offset);
    if (old !== undefined) {
      this.unlink(old);
      this.used -= old.charge;
      // Whoever read it may still hold the old block: never reuse it.
    }
    const e: Entry = { fileNumber, offset, block, charge, shared: share, newer: undefined, older: undefined };
    byOffset.set(offset, e);
    this.pushHead(e);
    this.used += charge;
    while (this.used > this.capacityBytes) {
      const victim = this.tail!;
      this.remove(victim);
    }
  }

  /** Drops every block of a file (call when the file is deleted). */
  evictFile(fileNumber: number): void {
    const byOffset = this.files.get(fileNumber);
    if (byOffset === undefined) return;
    for (const e of byOffset.values()) {
      this.unlink(e);
      this.used -= e.charge;
      this.keepSpare(e);
    }
    this.files.delete(fileNumber);
  }

  /**
   * Memory for a block of `bytes` bytes: a reused evicted block's if one fits, else fresh; or
   * undefined above SPARE_BLOCK_MAX (the caller allocates, once the block is verified). The
   * returned array may be longer than asked; its memory belongs to the caller until it is
   * cached with `set`.
   */
  take(bytes: number): Uint8Array | undefined {
    if (bytes > SPARE_BLOCK_MAX) return undefined;
    const spare = this.spare;
    // The most recently evicted few: blocks are mostly of one size, a wide search rarely pays.
    for (let i = spare.length - 1, tries = 0; i >= 0 && tries < 8; i--, tries++) {
      const b = spare[i]!;
      if (b.length >= bytes && b.length <= bytes + (bytes >>> 4) + BLOCK_ROUND) {
        spare[i] = spare[spare.length - 1]!;
        spare.pop();
        this.spareBytes -= b.length;
        return b;
      }
    }
    return new Uint8Array(Math.ceil(bytes / BLOCK_ROUND) * BLOCK_ROUND);
  }

  /** Keeps an evicted block's memory for `take`, if no one may still be reading it. */
  private keepSpare(e: Entry): void {
    const b = e.block;
    const n = b.buffer.byteLength;
    const max = Math.min(SPARE_BYTES_MAX, this.capacityBytes >>> 3);
    if (e.shared || b.byteOffset !== 0 || !(b.buffer instanceof ArrayBuffer) || n > SPARE_BLOCK_MAX || n > max) return;
    // Full: the oldest spares go (odd sizes that nothing took would otherwise stay for good).
    while (this.spareBytes + n > max) this.spareBytes -= this.spare.shift()!.length;
    this.spare.push(new Uint8Array(b.buffer));
    this.spareBytes += n;
  }

  /** Drops every block. Counters are kept. */
  clear(): void {
    this.files.clear();
    this.spare = [];
    this.spareBytes = 0;
    this.head = undefined;
    this.tail = undefined;
    this.used = 0;
  }

  private remove(e: Entry): void {
    this.unlink(e);
    this.used -= e.charge;
    this.keepSpare(e);
    const byOffset = this.files.get(e.fileNumber);
    if (byOffset === undefined) return;
    byOffset.delete(e.offset);
    if (byOffset.size === 0) this.files.delete(e.fileNumber);
  }

  private unlink(e: Entry): void {
    if (e.newer === undefined) this.head = e.older;
    else e.newer.older = e.older;
    if (e.older === undefined) this.tail = e.newer;
    else e.older.newer = e.newer;
    e.newer = undefined;
    e.older = undefined;
  }

  private pushHead(e: Entry): void {
    e.older = this.head;
    e.newer = undefined;
    if (this.head !== undefined) this.head.newer = e;
    this.head = e;
    if (this.tail === undefined) this.tail = e;
  }
}
