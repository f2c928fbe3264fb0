/**
 * Block cache shared by every table reader of a database: decompressed, verified blocks keyed by
 * (file number, block offset), evicted least-recently-used first to stay within a byte budget.
 *
 * Invariant: `usedBytes <= capacityBytes` after every call. Each block is charged its length
 * plus `BLOCK_CACHE_ENTRY_OVERHEAD_BYTES` for the bookkeeping objects, so many tiny blocks
 * cannot blow the budget. A block larger than the whole budget is not cached; capacity 0
 * disables caching (every `get` misses, `set` does nothing).
 *
 * Cached arrays are shared and must never be written to. File numbers are never reused, so an
 * entry can only go stale when its file is deleted; whoever deletes a table calls `evictFile`
 * (closing a reader does not evict, so a reopened reader finds its blocks warm).
 */

export const BLOCK_CACHE_ENTRY_OVERHEAD_BYTES = 96;

interface Entry {
  fileNumber: number;
  offset: number;
  block: Uint8Array;
  charge: number;
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

  /** Number of cached blocks. */
  get size(): number {
    let n = 0;
    for (const m of this.files.values()) n += m.size;
    return n;
  }

  get(fileNumber: number, offset: number): Uint8Array | undefined {
    const e = this.files.get(fileNumber)?.get(offset);
    if (e === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    if (e !== this.head) {
      this.unlink(e);
      this.pushHead(e);
    }
    return e.block;
  }

  set(fileNumber: number, offset: number, block: Uint8Array): void {
    const charge = block.byteLength + BLOCK_CACHE_ENTRY_OVERHEAD_BYTES;
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
    }
    const e: Entry = { fileNumber, offset, block, charge, newer: undefined, older: undefined };
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
    }
    this.files.delete(fileNumber);
  }

  /** Drops every block. Counters are kept. */
  clear(): void {
    this.files.clear();
    this.head = undefined;
    this.tail = undefined;
    this.used = 0;
  }

  private remove(e: Entry): void {
    this.unlink(e);
    this.used -= e.charge;
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
