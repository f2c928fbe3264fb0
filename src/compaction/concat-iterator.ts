/**
 * A forward iterator over a sorted run: tables of one level (L1 and deeper), in key order and
 * disjoint, read one after another. A compaction merges one such child per run instead of one
 * per table, so its merging heap stays small (L0 tables plus one run) however many tables the
 * lower level contributes. Tables are opened by the caller; this only walks them, each with a
 * readahead scan (one read per window of blocks).
 */
import type { InternalIterator } from '../codec/iterator.js';
import { compareInternal } from '../codec/keys.js';
import type { TableReader } from '../sstable/index.js';

export class ConcatIterator implements InternalIterator {
  private readonly tables: readonly TableReader[];
  private index = 0;
  private current: InternalIterator | undefined;
  /**
   * The scan of the table before `current`, closed one table later: closing a scan hands its
   * buffers back to the thread's scratch pool and the next scan may read into them at once, so
   * without this grace the value of a table's last entry would change under a caller that still
   * holds it after one `next()`, which within a table it may (a scan alternates two buffers).
   * A value view thus stays valid for one more step, across tables as within one.
   */
  private previous: InternalIterator | undefined;

  /** `tables` in key order, with disjoint key ranges. */
  constructor(tables: readonly TableReader[]) {
    this.tables = tables;
  }

  private open(i: number): void {
    this.previous?.close();
    this.previous = this.current;
    this.index = i;
    this.current = i < this.tables.length ? this.tables[i]!.scan() : undefined;
  }

  /** Moves past exhausted tables to the first entry of the next non-empty one. */
  private skipEmpty(): void {
    while (this.current !== undefined && !this.current.valid()) {
      this.open(this.index + 1);
      this.current?.seekToFirst();
    }
  }

  seekToFirst(): void {
    this.open(0);
    this.current?.seekToFirst();
    this.skipEmpty();
  }

  seek(target: Uint8Array): void {
    // First table whose largest key is >= target.
    let lo = 0;
    let hi = this.tables.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInternal(this.tables[mid]!.meta.largest, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.open(lo);
    this.current?.seek(target);
    this.skipEmpty();
  }

  next(): void {
    this.current!.next();
    this.skipEmpty();
  }

  valid(): boolean {
    return this.current !== undefined && this.current.valid();
  }

  key(): Uint8Array {
    return this.current!.key();
  }

  value(): Uint8Array {
    return this.current!.value();
  }

  seekForPrev(): void {
    throw new Error('ConcatIterator is forward-only');
  }

  seekToLast(): void {
    throw new Error('ConcatIterator is forward-only');
  }

  prev(): void {
    throw new Error('ConcatIterator is forward-only');
  }

  close(): void {
    this.previous?.close();
    this.previous = undefined;
    this.current?.close();
    this.current = undefined;
    this.index = this.tables.length;
  }
}
