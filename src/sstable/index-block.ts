/**
 * The index block, decoded once when a table opens into flat arrays, so that finding the data
 * block for a key is a binary search with no varint decoding and no allocation. Entry i maps
 * the last internal key of data block i to its handle.
 *
 * Search accelerator: all keys' user parts share the prefix of the first and last key (length
 * `prefixLen`). `heads[i]` holds user bytes [prefixLen, prefixLen + 4) of key i as a big-endian
 * word, zero-padded past the end of the user key. When two heads differ they order their keys
 * exactly as compareInternal does (a user key that ends early pads with zeros, and is the
 * smaller one), so the binary search compares one word per step and reads the keys only on a
 * tie.
 *
 * Invariants checked at decode: at least one entry; keys strictly increasing; handles in file
 * order, not overlapping, and ending before `dataEnd` (the first metadata block).
 */
import { ErrCorruption } from '../api/errors.js';
import { TRAILER_BYTES } from '../codec/keys.js';
import { getVarint, putVarint } from '../codec/varint.js';
import { BlockIter } from './block.js';
import { compareInternalRange, mismatch } from './compare.js';
import { BlockTrailer } from './format.js';

/** User bytes [start + skip, start + skip + 4) of a key, big-endian, zero past `userEnd`. */
function headOf(b: Uint8Array, start: number, userEnd: number, skip: number): number {
  let h = 0;
  for (let i = 0; i < 4; i++) {
    const p = start + skip + i;
    h = h * 256 + (p < userEnd ? b[p]! : 0);
  }
  return h;
}

/** Encodes a block handle (offset varint, size varint) as an index value. */
export function encodeHandle(buf: Uint8Array, offset: number, size: number): Uint8Array {
  const end = putVarint(buf, putVarint(buf, 0, offset), size);
  return buf.subarray(0, end);
}

/** Room `encodeHandle` needs: two varints of at most 8 bytes. */
export const HANDLE_BYTES_MAX = 16;

export class IndexTable {
  private constructor(
    readonly count: number,
    /** Keys back to back; key i is keys[keyEnds[i - 1] (or 0), keyEnds[i]). */
    private readonly keys: Uint8Array,
    private readonly keyEnds: Uint32Array,
    /** Data block handles, by entry. */
    readonly offsets: readonly number[],
    readonly sizes: readonly number[],
    private readonly prefixLen: number,
    private readonly heads: Uint32Array,
  ) {}

  /** Decodes index block contents; throws ErrCorruption naming `path` and `blockOffset`. */
  static decode(contents: Uint8Array, path: string, blockOffset: number, dataEnd: number): IndexTable {
    const fail = (what: string): never => {
      throw new ErrCorruption(`table index block: ${what}`, { file: path, offset: blockOffset });
    };
    const it = new BlockIter();
    it.reset(contents, path, blockOffset);
    let keys = new Uint8Array(Math.max(64, contents.length));
    let keyBytes = 0;
    const ends: number[] = [];
    const offsets: number[] = [];
    const sizes: number[] = [];
    const cursor = { pos: 0 };
    let nextFree = 0;
    for (it.seekToFirst(); it.valid(); it.next()) {
      const kb = it.keyBytes();
      const kl = it.keyLength();
      if (ends.length > 0) {
        const prevStart = ends.length > 1 ? ends[ends.length - 2]! : 0;
        if (compareInternalRange(keys, prevStart, keyBytes, kb, 0, kl) >= 0) fail('keys out of order');
      }
      if (keyBytes + kl > keys.length) {
        const grown = new Uint8Array(Math.max(keyBytes + kl, keys.length * 2));
        grown.set(keys.subarray(0, keyBytes));
        keys = grown;
      }
      keys.set(kb.subarray(0, kl), keyBytes);
      keyBytes += kl;
      ends.push(keyBytes);
      const v = it.value();
      cursor.pos = 0;
      const offset = getVarint(v, cursor);
      const size = offset < 0 ? -1 : getVarint(v, cursor);
      if (size < 0 || cursor.pos !== v.length) fail(`bad block handle in entry ${ends.length - 1}`);
      if (offset < nextFree || size === 0 || offset + size + BlockTrailer.bytes > dataEnd) {
        fail(`block handle ${ends.length - 1} (offset ${offset}, size ${size}) is out of range`);
      }
      nextFree = offset + size + BlockTrailer.bytes;
      offsets.push(offset);
      sizes.push(size);
    }
    if (ends.length === 0) fail('no entries');
    const n = ends.length;
    const lastStart = n > 1 ? ends[n - 2]! : 0;
    const firstUser = ends[0]! - TRAILER_BYTES;
    const lastUser = keyBytes - lastStart - TRAILER_BYTES;
    const m = mismatch(keys, 0, firstUser, keys, lastStart, lastUser, 0);
    const prefixLen = m >= 0 ? m : Math.min(firstUser, lastUser);
    const heads = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const start = i === 0 ? 0 : ends[i - 1]!;
      heads[i] = headOf(keys, start, ends[i]! - TRAILER_BYTES, prefixLen);
    }
    return new IndexTable(n, keys.slice(0, keyBytes), Uint32Array.from(ends), offsets, sizes, prefixLen, heads);
  }

  /** First entry whose key is >= target[tStart, tEnd); `count` if none. */
  lowerBound(target: Uint8Array, tStart: number, tEnd: number): number {
    const keys = this.keys;
    const ends = this.keyEnds;
    const p = this.prefixLen;
    const tUserEnd = tEnd - TRAILER_BYTES;
    if (tUserEnd - tStart < p || mismatch(keys, 0, p, target, tStart, p, 0) >= 0) {
      // The target leaves the shared prefix: it sorts before every key or after every key.
      return compareInternalRange(keys, 0, ends[0]!, target, tStart, tEnd) >= 0 ? 0 : this.count;
    }
    const tHead = headOf(target, tStart, tUserEnd, p);
    const heads = this.heads;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const h = heads[mid]!;
      let below: boolean;
      if (h !== tHead) below = h < tHead;
      else below = compareInternalRange(keys, mid === 0 ? 0 : ends[mid - 1]!, ends[mid]!, target, tStart, tEnd) < 0;
      if (below) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Key of entry i (a view). */
  key(i: number): Uint8Array {
    return this.keys.subarray(i === 0 ? 0 : this.keyEnds[i - 1]!, this.keyEnds[i]!);
  }

  /** Memory held by the decoded index. */
  get byteLength(): number {
    return this.keys.byteLength + this.keyEnds.byteLength + this.heads.byteLength + this.count * 16;
  }
}
