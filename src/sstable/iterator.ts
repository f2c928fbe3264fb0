/**
 * Two-level iterator over a table: the decoded index picks the data block, a reused BlockIter
 * walks it. Both directions work everywhere, including across block boundaries. Positioning
 * calls allocate nothing beyond what the block cache does on a miss; `key()` is a view into a
 * reused buffer (valid until the next positioning call), `value()` a view into the immutable
 * block.
 *
 * `next()` and `prev()` on an iterator that is not valid do nothing.
 */
import type { InternalIterator } from '../codec/iterator.js';
import { BlockIter } from './block.js';
import { compareInternalRange } from './compare.js';
import type { IndexTable } from './index-block.js';

/** What the iterator needs from its table (TableReader implements it). */
export interface DataBlockSource {
  readonly path: string;
  readonly indexTable: IndexTable;
  /** Uncompressed, verified contents of data block i (from the cache or the file). */
  dataBlock(i: number, share: boolean): Uint8Array;
  /** Called once when the iterator reading it closes: memory it holds for reading may be reused. */
  release?(): void;
}

export class TableIterator implements InternalIterator {
  private readonly block = new BlockIter();
  private readonly index: IndexTable;
  /** Loaded data block, or -1. */
  private blockIndex = -1;
  private closed = false;

  constructor(private readonly table: DataBlockSource) {
    this.index = table.indexTable;
  }

  valid(): boolean {
    return this.blockIndex >= 0 && this.block.valid();
  }

  key(): Uint8Array {
    return this.block.key();
  }

  value(): Uint8Array {
    return this.block.value();
  }

  seek(target: Uint8Array): void {
    this.checkOpen();
    const i = this.index.lowerBound(target, 0, target.length);
    if (i >= this.index.count) {
      this.invalidate();
      return;
    }
    this.load(i);
    this.block.seek(target, 0, target.length);
    this.skipForward();
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target);
    if (!this.valid()) {
      this.seekToLast();
      return;
    }
    const b = this.block;
    if (compareInternalRange(b.keyBytes(), 0, b.keyLength(), target, 0, target.length) > 0) this.prev();
  }

  seekToFirst(): void {
    this.checkOpen();
    this.load(0);
    this.block.seekToFirst();
    this.skipForward();
  }

  seekToLast(): void {
    this.checkOpen();
    this.load(this.index.count - 1);
    this.block.seekToLast();
    this.skipBackward();
  }

  next(): void {
    if (!this.valid()) return;
    this.block.next();
    this.skipForward();
  }

  prev(): void {
    if (!this.valid()) return;
    this.block.prev();
    this.skipBackward();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.invalidate();
    this.table.release?.();
  }

  private load(i: number): void {
    this.blockIndex = -1; // stays -1 if the read throws
    // Shared: the block stays in use between calls, so the cache must not reuse its memory.
    this.block.reset(this.table.dataBlock(i, true), this.table.path, this.index.offsets[i]!);
    this.blockIndex = i;
  }

  /** Moves to the first entry of the following blocks while the current block is exhausted. */
  private skipForward(): void {
    while (!this.block.valid()) {
      const i = this.blockIndex + 1;
      if (i >= this.index.count) {
        this.invalidate();
        return;
      }
      this.load(i);
      this.block.seekToFirst();
    }
  }

  private skipBackward(): void {
    while (!this.block.valid()) {
      const i = this.blockIndex - 1;
      if (i < 0) {
        this.invalidate();
        return;
      }
      this.load(i);
      this.block.seekToLast();
    }
  }

  private invalidate(): void {
    this.blockIndex = -1;
    this.block.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('table iterator used after close()');
  }
}
