/**
 * The hand-written snappy encoder: its output must be ordinary Snappy (snappyjs's decoder and
 * ours read it back exactly), never longer than the format's bound, and the same bytes as the
 * reference algorithm would choose are not required, only a faithful round trip.
 */
import { fc, test } from '@fast-check/vitest';
import { uncompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { snappyDecode } from '../../src/codec/snappy-decode.js';
import { snappyEncode, snappyMaxLength } from '../../src/codec/snappy-encode.js';

/** Runs of random bytes, each followed by a copy of part of itself or of an earlier run. */
const compressible = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 80 }),
      fc.constantFrom(new Uint8Array(300).fill(97), new Uint8Array([1, 2, 3, 1, 2, 3, 1, 2, 3]), new Uint8Array(5)),
    ),
    { maxLength: 300 },
  )
  .map((parts) => {
    const out: number[] = [];
    for (const p of parts) out.push(...p, ...p.subarray(0, p.length >> 1));
    return new Uint8Array(out);
  });

function roundTrips(data: Uint8Array): void {
  const c = snappyEncode(data).slice();
  expect(c.length).toBeLessThanOrEqual(snappyMaxLength(data.length));
  expect(Buffer.from(snappyDecode(c)).equals(Buffer.from(data))).toBe(true);
  expect(Buffer.from(uncompress(c)).equals(Buffer.from(data))).toBe(true);
}

describe('snappy encoder', () => {
  test.prop([compressible])('round trips compressible data through both decoders', roundTrips);
  test.prop([fc.uint8Array({ maxLength: 5000 })])('round trips random data', roundTrips);

  it('round trips the edge sizes: empty, below the input margin, fragment boundaries', () => {
    for (const n of [0, 1, 4, 14, 15, 16, 17, 255, 256, 257, 4096, 65535, 65536, 65537, 131072, 200_003]) {
      const rnd = new Uint8Array(n).map((_, i) => (Math.imul(i + 1, 2654435761) >>> 24) & 0xff);
      roundTrips(rnd);
      roundTrips(new Uint8Array(n).fill(7));
      roundTrips(new Uint8Array(n).map((_, i) => (i % 251) & 0xff));
    }
  });

  it('periodic data (overlapping copies of every small offset) round trips', () => {
    for (let period = 1; period <= 9; period++) {
      for (const n of [20, 100, 4096]) roundTrips(new Uint8Array(n).map((_, i) => ((i % period) * 37 + period) & 0xff));
    }
  });

  it('long matches and literals use every element form (copies of 1- and 2-byte offsets, literal lengths of 1 and 2 bytes)', () => {
    const lit = new Uint8Array(70_000).map((_, i) => (Math.imul(i + 7, 2246822519) >>> 23) & 0xff);
    const parts = [lit.subarray(0, 3000), lit.subarray(0, 3000), lit.subarray(5000, 5100), lit.subarray(5000, 5010), new Uint8Array(1000).fill(1)];
    const data = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    roundTrips(data);
    // Repetitive data compresses well; random data stays within the bound.
    expect(snappyEncode(new Uint8Array(4096).fill(3)).length).toBeLessThan(300);
  });

  it('returns a view that the next call reuses (callers copy it first)', () => {
    const a = snappyEncode(new Uint8Array(100).fill(1));
    const before = a.slice();
    snappyEncode(new Uint8Array(100).fill(2));
    expect(Buffer.from(a).equals(Buffer.from(before))).toBe(false);
  });
});
