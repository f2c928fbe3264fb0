/**
 * Reads blocks in the entry format written by BlockBuilder (see block-builder.ts). A BlockIter
 * is reusable: `reset` points it at new block contents in O(1), so the table reader keeps one
 * per iterator (and one for point gets) and allocates nothing per entry. Keys are rebuilt into a
 * reused buffer; values are views into the (immutable) block.
 *
 * Damage: every varint, length and restart offset is bounds-checked against the block; anything
 * out of range throws ErrCorruption naming the file and the block's offset. Each step moves
 * strictly forward through the block, so no input makes a loop run forever.
 *
 * Position: `current` is the offset of the current entry; `current === restartsOffset` means
 * not valid. `restartIndex` is the restart region holding `current`.
 */
import { ErrCorruption } from '../api/errors.js';
import { EMPTY, getU32 } from '../codec/bytes.js';
import { TRAILER_BYTES } from '../codec/keys.js';
import { getVarint } from '../codec/varint.js';
import { compareInternalRange, mismatch } from './compare.js';

const cursor = { pos: 0 };

export class BlockIter {
  private data: Uint8Array = EMPTY;
  private restartsOffset = 0;
  private numRestarts = 0;
  private current = 0;
  private nextOff = 0;
  private restartIndex = 0;
  /** Offset of restart point restartIndex + 1 (restartsOffset after the last one). */
  private nextRestart = 0;
  private keyBuf = new Uint8Array(64);
  private keyLen = 0;
  /** Bytes the current key shares with the previous one (its `shared` field). */
  private shared = 0;
  private keyView: Uint8Array | undefined;
  private valueStart = 0;
  private valueEnd = 0;
  private path = '';
  private blockOffset = 0;

  /** Points the iterator at block contents (not valid until positioned). */
  reset(data: Uint8Array, path: string, blockOffset: number): void {
    this.data = data;
    this.path = path;
    this.blockOffset = blockOffset;
    const n = data.length;
    if (n < 8) this.corrupt(`block of ${n} bytes is too short`);
    const numRestarts = getU32(data, n - 4);
    if (numRestarts === 0 || numRestarts > (n - 4) / 4) this.corrupt(`bad restart count ${numRestarts}`);
    this.numRestarts = numRestarts;
    this.restartsOffset = n - 4 - numRestarts * 4;
    if (getU32(data, this.restartsOffset) !== 0) this.corrupt('first restart point is not 0');
    this.invalidate();
  }

  /** Forgets the block (drops the reference). */
  clear(): void {
    this.data = EMPTY;
    this.restartsOffset = 0;
    this.numRestarts = 0;
    this.current = 0;
    this.nextOff = 0;
    this.keyView = undefined;
  }

  valid(): boolean {
    return this.current < this.restartsOffset;
  }

  key(): Uint8Array {
    return (this.keyView ??= this.keyBuf.subarray(0, this.keyLen));
  }

  value(): Uint8Array {
    return this.data.subarray(this.valueStart, this.valueEnd);
  }

  /** The reused key buffer and length, for comparisons without a view. */
  keyBytes(): Uint8Array {
    return this.keyBuf;
  }

  keyLength(): number {
    return this.keyLen;
  }

  seekToFirst(): void {
    this.seekToRestart(0);
    this.parseNext();
  }

  seekToLast(): void {
    this.seekToRestart(this.numRestarts - 1);
    while (this.parseNext() && this.nextOff < this.restartsOffset) {
      // keep going to the last entry
    }
  }

  next(): void {
    if (this.current >= this.restartsOffset) return;
    this.parseNext();
  }

  prev(): void {
    const original = this.current;
    if (original >= this.restartsOffset) return;
    while (this.restartPoint(this.restartIndex) >= original) {
      if (this.restartIndex === 0) {
        this.invalidate();
        return;
      }
      this.restartIndex--;
    }
    this.seekToRestart(this.restartIndex);
    do {
      if (!this.parseNext()) this.corrupt('entries do not line up with the restart array');
    } while (this.nextOff < original);
    if (this.nextOff !== original) this.corrupt('entries do not line up with the restart array');
  }

  /** First entry with internal key >= target[tStart, tEnd); not valid if none. */
  seek(target: Uint8Array, tStart: number, tEnd: number): void {
    const data = this.data;
    // Last restart whose key is < target (or restart 0).
    let lo = 0;
    let hi = this.numRestarts - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      cursor.pos = this.restartPoint(mid);
      const shared = this.varint();
      const unshared = this.varint();
      this.varint(); // value length
      const keyStart = cursor.pos;
      if (shared !== 0 || keyStart + unshared > this.restartsOffset) this.corrupt('bad restart entry');
      if (compareInternalRange(data, keyStart, keyStart + unshared, target, tStart, tEnd) < 0) lo = mid;
      else hi = mid - 1;
    }
    this.seekToRestart(lo);
    // Scan forward. While the current key is below the target and first differs from it at user
    // byte `diff`, a next key sharing more than `diff` bytes with it is below the target too (it
    // has the same smaller byte at `diff`), and one sharing fewer agrees with the target up to
    // its `shared`, so the comparison can start there.
    const tUser = tEnd - tStart - TRAILER_BYTES;
    let diff = -1;
    while (this.parseNext()) {
      let from = 0;
      if (diff >= 0) {
        if (this.shared > diff) continue;
        from = this.shared;
      }
      const kb = this.keyBuf;
      const m = mismatch(kb, 0, this.keyLen - TRAILER_BYTES, target, tStart, tUser, from);
      if (m >= 0) {
        if (kb[m]! > target[tStart + m]!) return;
        diff = m;
        continue;
      }
      diff = -1;
      if (compareInternalRange(kb, 0, this.keyLen, target, tStart, tEnd) >= 0) return;
    }
  }

  private invalidate(): void {
    this.current = this.restartsOffset;
    this.nextOff = this.restartsOffset;
    this.restartIndex = this.numRestarts;
    this.nextRestart = this.restartsOffset;
    this.keyView = undefined;
  }

  private restartPoint(i: number): number {
    const off = getU32(this.data, this.restartsOffset + i * 4);
    if (off >= this.restartsOffset) this.corrupt(`restart point ${i} out of range`);
    return off;
  }

  private seekToRestart(i: number): void {
    this.restartIndex = i;
    this.nextRestart = i + 1 < this.numRestarts ? this.restartPoint(i + 1) : this.restartsOffset;
    this.keyLen = 0;
    this.nextOff = this.restartPoint(i);
  }

  /** Reads a varint at cursor.pos, bounded by the restart array. */
  private varint(): number {
    const p = cursor.pos;
    if (p < this.restartsOffset) {
      const b = this.data[p]!;
      if (b < 0x80) {
        cursor.pos = p + 1;
        return b;
      }
    }
    const v = getVarint(this.data, cursor, this.restartsOffset);
    if (v < 0) this.corrupt(`bad varint at block offset ${p}`);
    return v;
  }

  /** Decodes the entry at nextOff; returns false (and invalidates) at the end of the block. */
  private parseNext(): boolean {
    const p = this.nextOff;
    const limit = this.restartsOffset;
    if (p >= limit) {
      this.invalidate();
      return false;
    }
    const data = this.data;
    this.current = p;
    let shared: number;
    let unshared: number;
    let valueLen: number;
    let keyStart: number;
    // Fast path: the three header varints are one byte each (keys and values under 128 bytes).
    if (p + 3 <= limit && (data[p]! | data[p + 1]! | data[p + 2]!) < 0x80) {
      shared = data[p]!;
      unshared = data[p + 1]!;
      valueLen = data[p + 2]!;
      keyStart = p + 3;
    } else {
      cursor.pos = p;
      shared = this.varint();
      unshared = this.varint();
      valueLen = this.varint();
      keyStart = cursor.pos;
    }
    const valueStart = keyStart + unshared;
    const valueEnd = valueStart + valueLen;
    const keyLen = shared + unshared;
    if (shared > this.keyLen || valueEnd > limit || keyLen < TRAILER_BYTES) {
      this.corrupt(`bad entry at block offset ${p}`);
    }
    if (keyLen > this.keyBuf.length) {
      const grown = new Uint8Array(Math.max(keyLen, this.keyBuf.length * 2));
      grown.set(this.keyBuf.subarray(0, shared));
      this.keyBuf = grown;
    }
    // A plain loop: keys are short, and `set(subarray(...))` would allocate a view per entry.
    const kb = this.keyBuf;
    for (let i = 0; i < unshared; i++) kb[shared + i] = data[keyStart + i]!;
    this.keyLen = keyLen;
    this.shared = shared;
    this.keyView = undefined;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.nextOff = valueEnd;
    while (p >= this.nextRestart) {
      this.restartIndex++;
      this.nextRestart = this.restartIndex + 1 < this.numRestarts ? this.restartPoint(this.restartIndex + 1) : limit;
    }
    return true;
  }

  private corrupt(what: string): never {
    const at = { file: this.path, offset: this.blockOffset };
    this.clear();
    throw new ErrCorruption(`malformed table block: ${what}`, at);
  }
}
