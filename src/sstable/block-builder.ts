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
import { keepPrefix, putU32 } from '../codec/bytes.js';
import { putVarint } from '../codec/varint.js';

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

  /**
   * Adds an entry. `common`, if given, is how many leading bytes the key shares with the
   * previous key added (the caller already compared them); otherwise they are counted here.
   */
  add(key: Uint8Array, value: Uint8Array, common = -1): void {
    const klen = key.length;
    const vlen = value.length;
    let shared = 0;
    if (this.counter < this.restartInterval && this.count > 0) {
      if (common >= 0) shared = common;
      else {
        const last = this.lastKey;
        const n = Math.min(this.lastKeyLen, klen);
        while (shared < n && last[shared] === key[shared]) shared++;
      }
    } else {
      if (this.numRestarts === this.restarts.length) {
        const grown = new Uint32Array(this.restarts.length * 2);
        grown.set(this.restarts);
        this.restarts = grown;
      }
      this.restarts[this.numRestarts++] = this.pos;
      this.counter = 0;
    }
    const unshared = klen - shared;
    // Three varints of at most 5 bytes each (lengths are below 2^32).
    this.ensure(15 + unshared + vlen);
    const buf = this.buf;
    let p = this.pos;
    if ((shared | unshared | vlen) < 0x80) {
      buf[p] = shared;
      buf[p + 1] = unshared;
      buf[p + 2] = vlen;
      p += 3;
    } else {
      p = putVarint(buf, p, shared);
      p = putVarint(buf, p, unshared);
      p = putVarint(buf, p, vlen);
    }
    // Keys and most values are short: a loop beats creating a view for `set`.
    if (unshared <= 32) for (let i = shared; i < klen; i++) buf[p++] = key[i]!;
    else {
      buf.set(key.subarray(shared), p);
      p += unshared;
    }
    if (vlen <= 32) for (let i = 0; i < vlen; i++) buf[p++] = value[i]!;
    else {
      buf.set(value, p);
      p += vlen;
    }
    this.pos = p;

    // A caller that passes `common` keeps the previous key itself (TableBuilder does), so
    // the copy here is only for callers that do not; a builder is used one way or the other.
    if (common < 0) {
      this.lastKey = keepPrefix(this.lastKey, key, klen, shared);
      this.lastKeyLen = klen;
    }
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
