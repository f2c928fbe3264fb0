/**
 * Whole-table bloom filter over USER keys (every version of a user key is added once).
 *
 *   bloom block = bit array (ceil(bits / 8) bytes) | probe count k (u8)
 *
 * Sizing for a false-positive rate p: bits/key = -ln(p) / ln(2)^2, k = round(bits/key * ln 2)
 * (p = 0.01 gives 9.59 bits/key and 7 probes). Probes use double hashing from one 32-bit hash h:
 *
 *   delta = fmix32(h) (MurmurHash3's finalizer); h_0 = h; h_{i+1} = (h_i + delta) mod 2^32;
 *   probe i sets bit ((h_i & 0x7fffffff) mod bits) of the array, bit b being
 *   (byte b >> 3) & (1 << (b & 7)).
 *
 * Dropping the top bit keeps every operand a 31-bit integer, so V8 does an integer modulo
 * instead of a floating-point one (measured 4x faster); it limits a filter to 2^31 bits.
 *
 * LevelDB takes delta = rotr(h, 17) instead; with it we measured 1.25-1.5% false positives at a
 * 1% target (delta is too correlated with h), against ~1.0% with fmix32, as good as 7 separate
 * hashes.
 *
 * The hash is xxHash32(userKey, BLOOM_HASH_SEED). It is computed by `bloomHash`, a pure-JS
 * xxHash32 over a byte range, which gives exactly the bits of codec/checksum.ts `hash32` (a test
 * checks this) but is faster for short keys, because a call into xxhash-wasm copies the key
 * into WebAssembly memory first. Measured on Node 20 with 16-byte keys: pure JS ~25-30 ns/hash,
 * `hash32` ~90 ns/hash. It also hashes the user-key part of an internal key without a view.
 */
import { BLOOM_BITS_MIN, BLOOM_HASH_SEED, BLOOM_PROBES_MAX } from './format.js';
import { EMPTY } from '../codec/bytes.js';
import { giveScratch, takeScratch } from './scratch.js';

/** Probe positions are 31-bit integers. */
const BLOOM_BYTES_MAX = 0x7fff_ffff >>> 3;

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's 32-bit finalizer: the probe step, decorrelated from the hash itself. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function lane(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** xxHash32 of b[start, end) with `seed` (unsigned result). */
export function xxHash32Range(b: Uint8Array, start: number, end: number, seed: number): number {
  const len = end - start;
  let p = start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (p <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(lane(b, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(lane(b, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(lane(b, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(lane(b, p + 12), P2)) | 0, 13), P1);
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(lane(b, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(b[p]!, P5)) | 0, 11), P1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bloom hash of the user key in b[start, end). */
export function bloomHash(b: Uint8Array, start: number, end: number): number {
  return xxHash32Range(b, start, end, BLOOM_HASH_SEED);
}

/** Bits per key for a false-positive rate in (0, 1). */
export function bloomBitsPerKey(falsePositiveRate: number): number {
  return -Math.log(falsePositiveRate) / (Math.LN2 * Math.LN2);
}

/** Probe count for a bits-per-key figure, clamped to [1, BLOOM_PROBES_MAX]. */
export function bloomProbes(bitsPerKey: number): number {
  const k = Math.round(bitsPerKey * Math.LN2);
  return k < 1 ? 1 : k > BLOOM_PROBES_MAX ? BLOOM_PROBES_MAX : k;
}

/**
 * Collects key hashes while a table is written; `finish` sizes and fills the filter. Its memory
 * comes from the thread's scratch pool (scratch.ts); `release` hands it back once the filter
 * has been written.
 */
export class BloomBuilder {
  private hashMemory: Uint8Array;
  private hashes: Uint32Array;
  private count = 0;
  private filterMemory: Uint8Array | undefined;

  constructor(private readonly falsePositiveRate: number) {
    if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new RangeError(`bloom false-positive rate must be in (0, 1), got ${falsePositiveRate}`);
    }
    this.hashMemory = takeScratch(4096);
    this.hashes = new Uint32Array(this.hashMemory.buffer, 0, this.hashMemory.length >>> 2);
  }

  get keys(): number {
    return this.count;
  }

  /** Adds the user key in b[start, end). The caller adds each distinct user key once. */
  add(b: Uint8Array, start: number, end: number): void {
    if (this.count === this.hashes.length) this.grow();
    this.hashes[this.count++] = bloomHash(b, start, end);
  }

  private grow(): void {
    const memory = takeScratch(Math.max(4096, this.hashes.length * 8));
    const hashes = new Uint32Array(memory.buffer, 0, memory.length >>> 2);
    hashes.set(this.hashes.subarray(0, this.count));
    giveScratch(this.hashMemory);
    this.hashMemory = memory;
    this.hashes = hashes;
  }

  /**
   * Bloom block contents: bit array then probe count. A view into this builder's memory: valid
   * until `release`.
   */
  finish(): Uint8Array {
    const bitsPerKey = bloomBitsPerKey(this.falsePositiveRate);
    const k = bloomProbes(bitsPerKey);
    const bytes = Math.ceil(Math.max(BLOOM_BITS_MIN, Math.ceil(this.count * bitsPerKey)) / 8);
    if (bytes > BLOOM_BYTES_MAX) throw new RangeError(`bloom filter for ${this.count} keys exceeds ${BLOOM_BYTES_MAX} bytes`);
    const bits = bytes * 8;
    const previous = this.filterMemory;
    this.filterMemory = takeScratch(bytes + 1);
    if (previous !== undefined) giveScratch(previous);
    const out = this.filterMemory.subarray(0, bytes + 1);
    out.fill(0);
    for (let i = 0; i < this.count; i++) {
      let h = this.hashes[i]! | 0;
      const delta = fmix32(h) | 0;
      for (let j = 0; j < k; j++) {
        const pos = (h & 0x7fffffff) % bits;
        out[pos >>> 3]! |= 1 << (pos & 7);
        h = (h + delta) | 0;
      }
    }
    out[bytes] = k;
    return out;
  }

  /** Hands the builder's memory back to the scratch pool; neither it nor `finish`'s result may be used after. */
  release(): void {
    giveScratch(this.hashMemory);
    this.hashMemory = EMPTY;
    this.hashes = NO_HASHES;
    this.count = 0;
    if (this.filterMemory !== undefined) giveScratch(this.filterMemory);
    this.filterMemory = undefined;
  }
}

const NO_HASHES = new Uint32Array(0);

/** A loaded filter. `parse` returns an error message instead of throwing on bad contents. */
export class BloomFilter {
  private constructor(
    private readonly bitArray: Uint8Array,
    private readonly bits: number,
    readonly probes: number,
  ) {}

  static parse(contents: Uint8Array): BloomFilter | string {
    if (contents.length < 2) return `bloom block of ${contents.length} bytes is too short`;
    const k = contents[contents.length - 1]!;
    if (k < 1 || k > BLOOM_PROBES_MAX) return `bloom block declares ${k} probes`;
    const bytes = contents.length - 1;
    if (bytes > BLOOM_BYTES_MAX) return `bloom block of ${bytes} bytes is larger than ${BLOOM_BYTES_MAX}`;
    return new BloomFilter(contents.subarray(0, bytes), bytes * 8, k);
  }

  /** Size of the bit array in bytes. */
  get byteLength(): number {
    return this.bitArray.length;
  }

  mayContainHash(hash: number): boolean {
    const bits = this.bits;
    const arr = this.bitArray;
    let h = hash | 0;
    const delta = fmix32(h) | 0;
    for (let j = 0; j < this.probes; j++) {
      const pos = (h & 0x7fffffff) % bits;
      if ((arr[pos >>> 3]! & (1 << (pos & 7))) === 0) return false;
      h = (h + delta) | 0;
    }
    return true;
  }

  /** Whether the user key in b[start, end) may have been added. */
  mayContain(b: Uint8Array, start = 0, end = b.length): boolean {
    return this.mayContainHash(bloomHash(b, start, end));
  }
}
