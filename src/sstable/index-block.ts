/**
 * The index block, decoded once when a table opens into flat arrays, so that finding the data
 * block for a key is a binary search over one byte buffer with no varint decoding and no
 * allocation. Entry i maps the last internal key of data block i to its handle.
 *
 * Invariants checked at decode: at least one entry; keys strictly increasing; handles in file
 * order, not overlapping, and ending before `dataEnd` (the first metadata block).
 */
import { ErrCorruption } from '../api/errors.js';
import { getVarint, putVarint } from '../codec/varint.js';
import { BlockIter, compareInternalRange } from './block.js';
import { BlockTrailer } from './format.js';

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
    readonly offsets: Float64Array,
    readonly sizes: Float64Array,
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
    return new IndexTable(
      ends.length,
      keys.slice(0, keyBytes),
      Uint32Array.from(ends),
      Float64Array.from(offsets),
      Float64Array.from(sizes),
    );
  }

  /** First entry whose key is >= target[tStart, tEnd); `count` if none. */
  lowerBound(target: Uint8Array, tStart: number, tEnd: number): number {
    const keys = this.keys;
    const ends = this.keyEnds;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = mid === 0 ? 0 : ends[mid - 1]!;
      if (compareInternalRange(keys, start, ends[mid]!, target, tStart, tEnd) < 0) lo = mid + 1;
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
    return this.keys.byteLength + this.keyEnds.byteLength + this.offsets.byteLength + this.sizes.byteLength;
  }
}
