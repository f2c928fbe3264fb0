/**
 * Merges child iterators (memtables, tables) into one ordered view over internal keys, in
 * either direction, with a binary heap of children (min-heap forward, max-heap backward).
 *
 * Direction changes follow LevelDB's MergingIterator: when turning around, every child other
 * than the current one is repositioned relative to the current key, so that the heap again
 * holds each child's nearest entry in the new direction.
 */
import { compareInternal } from '../codec/keys.js';
import type { InternalIterator } from '../codec/iterator.js';
import { compareInternalRange } from '../sstable/compare.js';

const FORWARD = 1;
const REVERSE = -1;

export class MergingIterator implements InternalIterator {
  private readonly children: InternalIterator[];
  /** Heap of valid children; heap[0] is current. */
  private heap: InternalIterator[] = [];
  private direction = FORWARD;

  constructor(children: InternalIterator[]) {
    this.children = children;
  }

  /** Negative when a sorts before b in the current direction. */
  private less(a: InternalIterator, b: InternalIterator): boolean {
    const ak = a.key();
    const bk = b.key();
    // Word-at-a-time comparison: merged keys share long prefixes.
    const c = compareInternalRange(ak, 0, ak.length, bk, 0, bk.length);
    return this.direction === FORWARD ? c < 0 : c > 0;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && this.less(h[r]!, h[l]!)) m = r;
      if (!this.less(h[m]!, item)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = item;
  }

  private rebuild(): void {
    this.heap = [];
    for (const c of this.children) if (c.valid()) this.heap.push(c);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** After the top moved: drop it if exhausted, else restore heap order. */
  private fixTop(): void {
    const h = this.heap;
    const top = h[0]!;
    if (!top.valid()) {
      const last = h.pop()!;
      if (h.length === 0) return;
      h[0] = last;
    }
    this.siftDown(0);
  }

  seek(target: Uint8Array): void {
    for (const c of this.children) c.seek(target);
    this.direction = FORWARD;
    this.rebuild();
  }

  seekForPrev(target: Uint8Array): void {
    for (const c of this.children) c.seekForPrev(target);
    this.direction = REVERSE;
    this.rebuild();
  }

  seekToFirst(): void {
    for (const c of this.children) c.seekToFirst();
    this.direction = FORWARD;
    this.rebuild();
  }

  seekToLast(): void {
    for (const c of this.children) c.seekToLast();
    this.direction = REVERSE;
    this.rebuild();
  }

  next(): void {
    const current = this.heap[0]!;
    if (this.direction !== FORWARD) {
      const key = current.key().slice();
      for (const c of this.children) {
        if (c === current) continue;
        c.seek(key);
        if (c.valid() && compareInternal(c.key(), key) === 0) c.next();
      }
      this.direction = FORWARD;
      current.next();
      this.rebuild();
      return;
    }
    current.next();
    this.fixTop();
  }

  prev(): void {
    const current = this.heap[0]!;
    if (this.direction !== REVERSE) {
      const key = current.key().slice();
      for (const c of this.children) {
        if (c === current) continue;
        c.seekForPrev(key);
        if (c.valid() && compareInternal(c.key(), key) === 0) c.prev();
      }
      this.direction = REVERSE;
      current.prev();
      this.rebuild();
      return;
    }
    current.prev();
    this.fixTop();
  }

  valid(): boolean {
    return this.heap.length > 0;
  }

  key(): Uint8Array {
    return this.heap[0]!.key();
  }

  value(): Uint8Array {
    return this.heap[0]!.value();
  }

  close(): void {
    for (const c of this.children) c.close();
    this.heap = [];
  }
}
