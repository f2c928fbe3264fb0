/**
 * A small seeded pseudo-random generator (mulberry32) for crash clones, fault injection and
 * seeded tests. Not cryptographic. The same seed always gives the same sequence on every
 * platform, so a failing seed printed by a test reproduces the failure exactly.
 */

/** Returns a function giving uint32 values from the mulberry32 sequence of `seed`. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Convenience wrapper over `mulberry32`. */
export class Prng {
  private readonly nextRaw: () => number;

  /** `seed` must be an integer; only its low 32 bits matter. */
  constructor(readonly seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`PRNG seed must be an integer, got ${seed}`);
    this.nextRaw = mulberry32(seed);
  }

  /** Uniform uint32. */
  nextUint32(): number {
    return this.nextRaw();
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextRaw() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, bound). `bound` must be a positive safe integer. */
  nextInt(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound <= 0) throw new RangeError(`bound must be a positive integer, got ${bound}`);
    return Math.floor(this.nextFloat() * bound);
  }

  /** True with probability `p` (0 never, 1 always). */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** Picks one element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty array');
    return items[this.nextInt(items.length)]!;
  }
}
