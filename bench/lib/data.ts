/**
 * The data every engine sees: the same keys, in the same order, with the same values.
 *
 * Keys are 16 ASCII digits, `2 * i` zero-padded (db_bench's `%016d`), so that key `i` sorts by
 * `i` and every odd number is a key that lies inside the loaded range but was never written:
 * `readmissing` asks for those, so no engine can answer "missing" from a table's key range
 * alone. Values are views into one pool built of 50-byte random runs each written twice, so
 * any value is about half compressible (db_bench's compression ratio 0.5) and nothing is
 * allocated per value.
 */
export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

/** xorshift32: small, fast, seeded; the same seed gives every engine the same sequence. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
}

const DIGITS = 16;

/** Writes key number `n` (already doubled or doubled-plus-one) as 16 ASCII digits. */
function writeDigits(out: Buffer, n: number): Buffer {
  for (let p = DIGITS - 1; p >= 0; p--) {
    out[p] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return out;
}

/** The key of entry `i` (a fresh buffer the engine may keep). */
export function keyOf(i: number): Buffer {
  return writeDigits(Buffer.allocUnsafe(KEY_BYTES), 2 * i);
}

/** A key between entries `i` and `i + 1` that is never written. */
export function missingKeyOf(i: number): Buffer {
  return writeDigits(Buffer.allocUnsafe(KEY_BYTES), 2 * i + 1);
}

const RUN = 50;
const POOL_VALUES = 8191;

/** Values by entry number (ValuePool, or a view of one that yields different values). */
export interface Values {
  readonly size: number;
  valueOf(i: number): Buffer;
}

export class ValuePool implements Values {
  private readonly pool: Buffer;
  readonly size: number;

  /** `compressible` false: every byte random (nothing for Snappy to save). */
  constructor(size: number, seed = 42, compressible = true) {
    this.size = size;
    const rng = new Rng(seed);
    const bytes = Math.ceil((POOL_VALUES * 100 + size) / (2 * RUN)) * 2 * RUN;
    const pool = Buffer.allocUnsafe(bytes);
    for (let off = 0; off < bytes; off += 2 * RUN) {
      for (let j = 0; j < (compressible ? RUN : 2 * RUN); j++) pool[off + j] = rng.next() & 0xff;
      if (compressible) pool.copy(pool, off + RUN, off, off + RUN);
    }
    this.pool = pool;
  }

  /** Value `i`: a view the engine must not modify (every engine here copies it). */
  valueOf(i: number): Buffer {
    const off = (i % POOL_VALUES) * 100;
    return this.pool.subarray(off, off + this.size);
  }
}

/** A seeded permutation of [0, n): the order of `fillrandom` (every key written exactly once). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
