/**
 * A forward-only iterator over a sealed memtable's arena memory, for a thread that did not
 * build it (a flush worker). It walks level 0 of the skiplist (skiplist.ts layout: the head
 * tower at word 0, next[0] at word 1; a record holds key length, value length, height, then
 * the internal key and the encoded value). Sound only once no insert can happen any more: the
 * owner seals a memtable before handing it over and never writes to it again.
 */
import type { InternalIterator } from '../codec/iterator.js';

const NEXT0 = 1;
const REC_HEADER_BYTES = 12;

export class FrozenMemtableIterator implements InternalIterator {
  private readonly buf: Uint8Array;
  private readonly i32: Int32Array;
  private node = 0;

  constructor(memory: ArrayBuffer | SharedArrayBuffer) {
    this.buf = new Uint8Array(memory);
    this.i32 = new Int32Array(memory);
  }

  seekToFirst(): void {
    this.node = this.i32[NEXT0]!;
  }
  next(): void {
    this.node = this.i32[this.node + NEXT0]!;
  }
  valid(): boolean {
    return this.node !== 0;
  }
  key(): Uint8Array {
    const r = this.i32[this.node]!;
    const keyLen = this.i32[r >> 2]!;
    return this.buf.subarray(r + REC_HEADER_BYTES, r + REC_HEADER_BYTES + keyLen);
  }
  value(): Uint8Array {
    const r = this.i32[this.node]!;
    const keyLen = this.i32[r >> 2]!;
    const valueLen = this.i32[(r >> 2) + 1]!;
    const start = r + REC_HEADER_BYTES + keyLen;
    return this.buf.subarray(start, start + valueLen);
  }
  seek(): void {
    throw new Error('FrozenMemtableIterator is forward-only (seekToFirst, next)');
  }
  seekForPrev(): void {
    throw new Error('FrozenMemtableIterator is forward-only (seekToFirst, next)');
  }
  seekToLast(): void {
    throw new Error('FrozenMemtableIterator is forward-only (seekToFirst, next)');
  }
  prev(): void {
    throw new Error('FrozenMemtableIterator is forward-only (seekToFirst, next)');
  }
  close(): void {
    this.node = 0;
  }
}
