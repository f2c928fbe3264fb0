/**
 * A blocked bloom filter over the user keys of one memtable, so that a get for a key the
 * memtable does not hold skips its skiplist search. That search is a chain of ~log2(n) likely
 * cache misses (~1.5 µs in a 4 MiB memtable), and a get asks the active memtable and every
 * sealed one waiting for its flush before any table: right after a burst of writes, four or
 * five memtables for nearly every key. The filter answers with one cache line.
 *
 * Layout: `blocks` blocks of 512 bits (16 words), a power of two. A key's 32-bit hash h (the
 * table blooms' hash, sstable/bloom.ts `bloomHash`, so a get hashes its key once for every
 * memtable and table) picks block h & (blocks - 1); g = fmix32(h) gives a start a = g & 511 and
 * an odd step d = ((g >>> 9) & 511) | 1, and the key sets bits a + i·d (mod 512), i < PROBES.
 * An odd step modulo 512 never repeats within a block, so every probe is a distinct bit.
 *
 * Size: 1/32 of the arena (one bit per 4 arena bytes), at least one block, at most
 * FILTER_BYTES_MAX: ~12 bits per entry for the smallest entries (~50 arena bytes with key,
 * value, tower and header; ~0.4% false positives) and ~40 for 16-byte keys with 100-byte
 * values (~0.03%). Not persisted: a memtable replayed from the WAL refills it as it replays.
 */
import { bloomHash, fmix32 } from '../sstable/bloom.js';

const BLOCK_WORDS = 16;
const BLOCK_BITS = BLOCK_WORDS * 32;
const PROBES = 6;
/** Largest filter: 8 MiB, at 1/32 the filter of a 256 MiB memtable. */
export const FILTER_BYTES_MAX = 8 * 1024 * 1024;
/** Filter bytes per arena byte. */
const FILTER_RATIO = 1 / 32;

export class KeyFilter {
  private readonly words: Int32Array;
  private readonly blockMask: number;

  constructor(arenaBytes: number) {
    const want = Math.min(FILTER_BYTES_MAX, arenaBytes * FILTER_RATIO);
    let blocks = 1;
    while (blocks * 2 * BLOCK_WORDS * 4 <= want) blocks *= 2;
    this.words = new Int32Array(blocks * BLOCK_WORDS);
    this.blockMask = blocks - 1;
  }

  /** Bytes the filter holds. */
  get bytes(): number {
    return this.words.byteLength;
  }

  /** The filter hash of the user key in b[start, end). */
  static hash(b: Uint8Array, start: number, end: number): number {
    return bloomHash(b, start, end);
  }

  add(hash: number): void {
    this.probe(hash, true);
  }

  /** False only if no key with this hash was added. */
  mayContain(hash: number): boolean {
    return this.probe(hash, false);
  }

  /**
   * The key's probe bits, one walk for both sides so that adding and asking can never disagree
   * on a position: sets them (`set`), or reports whether all of them are set.
   */
  private probe(hash: number, set: boolean): boolean {
    const words = this.words;
    const base = (hash & this.blockMask) * BLOCK_WORDS;
    const g = fmix32(hash);
    const d = ((g >>> 9) & (BLOCK_BITS - 1)) | 1;
    let bit = g & (BLOCK_BITS - 1);
    for (let i = 0; i < PROBES; i++) {
      const w = base + (bit >>> 5);
      const mask = 1 << (bit & 31);
      if (set) words[w]! |= mask;
      else if ((words[w]! & mask) === 0) return false;
      bit = (bit + d) & (BLOCK_BITS - 1);
    }
    return true;
  }
}
