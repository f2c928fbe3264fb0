/**
 * Builds one block in the entry format shared by data and index blocks:
 *
 *   entry*  = shared varint | unshared varint | value length varint | unshared key bytes | value
 *   restart = u32 LE offset of an entry whose `shared` is 0
 *   block   = entry* | restart* | restart count (u32 LE)
 *
 * Every `restartInterval`-th entry is a restart point and stores its whole key, so a reader can
 * binary-search the restart array. Invariant: a finished block has at least one entry and its
 * first restart is offset 0. The caller adds keys in increasing order (TableBuilder checks it).
 */
import { putU32 } from '../codec/bytes.js';
import { putVarint, varintLength } from '../codec/varint.js';

export class BlockBuilder {
  private buf: Uint8Array;
  private pos = 0;
  private restarts: Uint32Array;
  private numRestarts = 0;
  private counter = 0;
  private lastKey: Uint8Array;
  private lastKeyLen = 0;
  private count = 0;

  constructor(private readonly restartInterval: number, initialBytes = 4096) {
    if (!Number.isInteger(restartInterval) || restartInterval < 1) {
      throw new RangeError(`restartInterval must be an integer >= 1, got ${restartInterval}`);
    }
    this.buf = new Uint8Array(Math.max(64, initialBytes));
    this.restarts = new Uint32Array(16);
    this.lastKey = new Uint8Array(64);
  }

  /** Number of entries added since the last reset. */
  get entries(): number {
    return this.count;
  }

  empty(): boolean {
    return this.count === 0;
  }

  /** Size the block would have if finished now. */
  estimatedSize(): number {
    return this.pos + this.numRestarts * 4 + 4;
  }

  /** The last key added (a view; valid until the next add or reset). */
  lastKeyView(): Uint8Array {
    return this.lastKey.subarray(0, this.lastKeyLen);
  }

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.counter < this.restartInterval && this.count > 0) {
      const last = this.lastKey;
      const n = Math.min(this.lastKeyLen, key.length);
      while (shared < n && last[shared] === key[shared]) shared++;
    } else {
      if (this.numRestarts === this.restarts.length) {
        const grown = new Uint32Array(this.restarts.length * 2);
        grown.set(this.restarts);
        this.restarts = grown;
      }
      this.restarts[this.numRestarts++] = this.pos;
      this.counter = 0;
    }
    const unshared = key.length - shared;
    const need = varintLength(shared) + varintLength(unshared) + varintLength(value.length) + unshared + value.length;
    this.ensure(need);
    let p = this.pos;
    p = putVarint(this.buf, p, shared);
    p = putVarint(this.buf, p, unshared);
    p = putVarint(this.buf, p, value.length);
    this.buf.set(key.subarray(shared), p);
    p += unshared;
    this.buf.set(value, p);
    this.pos = p + value.length;

    if (this.lastKey.length < key.length) {
      const grown = new Uint8Array(Math.max(key.length, this.lastKey.length * 2));
      grown.set(this.lastKey.subarray(0, shared));
      this.lastKey = grown;
    }
    this.lastKey.set(key.subarray(shared), shared);
    this.lastKeyLen = key.length;
    this.counter++;
    this.count++;
  }

  /**
   * Appends the restart array and returns the block contents: a view into this builder's
   * buffer, valid until the next `reset`.
   */
  finish(): Uint8Array {
    if (this.count === 0) throw new Error('BlockBuilder.finish: block has no entries');
    this.ensure(this.numRestarts * 4 + 4);
    let p = this.pos;
    for (let i = 0; i < this.numRestarts; i++) {
      putU32(this.buf, p, this.restarts[i]!);
      p += 4;
    }
    putU32(this.buf, p, this.numRestarts);
    p += 4;
    return this.buf.subarray(0, p);
  }

  reset(): void {
    this.pos = 0;
    this.numRestarts = 0;
    this.counter = 0;
    this.lastKeyLen = 0;
    this.count = 0;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.pos + extra, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}
