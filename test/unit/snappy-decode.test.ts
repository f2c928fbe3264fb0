/** The hand-written snappy decoder against snappyjs's encoder: round trips and damage. */
import { fc, test } from '@fast-check/vitest';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { snappyDecode, SnappyError } from '../../src/codec/snappy-decode.js';

const compressible = fc
  .array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom(new Uint8Array(100).fill(97), new Uint8Array([1, 2, 3, 1, 2, 3, 1, 2, 3]))), { maxLength: 200 })
  .map((parts) => {
    const out: number[] = [];
    for (const p of parts) out.push(...p, ...p.subarray(0, p.length >> 1));
    return new Uint8Array(out);
  });

describe('snappy decoder', () => {
  test.prop([compressible])('decodes what snappyjs encodes', (data) => {
    expect(Buffer.from(snappyDecode(compress(data))).equals(Buffer.from(data))).toBe(true);
  });

  test.prop([fc.uint8Array({ maxLength: 70_000 })])('decodes incompressible data (long literals)', (data) => {
    expect(Buffer.from(snappyDecode(compress(data))).equals(Buffer.from(data))).toBe(true);
  });

  test.prop([compressible, fc.nat(), fc.integer({ min: 1, max: 255 })])('a damaged stream decodes to something or throws SnappyError, never anything else', (data, at, mask) => {
    const c = compress(data);
    if (c.length === 0) return;
    c[at % c.length]! ^= mask;
    try {
      snappyDecode(c, 1 << 20);
    } catch (e) {
      expect(e).toBeInstanceOf(SnappyError);
    }
  });

  it('decodes into a caller buffer when it is large enough, else into a fresh one', () => {
    const data = new Uint8Array(3000).map((_, i) => (i % 97) ^ (i >> 5));
    const c = compress(data);
    const big = new Uint8Array(4096);
    const a = snappyDecode(c, Infinity, big);
    expect(a.buffer).toBe(big.buffer);
    expect(Buffer.from(a).equals(Buffer.from(data))).toBe(true);
    const small = new Uint8Array(100);
    const b = snappyDecode(c, Infinity, small);
    expect(b.buffer).not.toBe(small.buffer);
    expect(Buffer.from(b).equals(Buffer.from(data))).toBe(true);
  });

  it('refuses output beyond maxLength', () => {
    expect(() => snappyDecode(compress(new Uint8Array(1000)), 999)).toThrow(SnappyError);
  });
});
