/**
 * The memtable's key filter (src/memtable/key-filter.ts): never a false negative, false
 * positives near what its size promises, and a memtable get that it answers is the same answer
 * the skiplist would give.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KeyFilter, FILTER_BYTES_MAX } from '../../src/memtable/key-filter.js';
import { Memtable } from '../../src/memtable/index.js';
import { encodeValue, EntryKind } from '../../src/codec/value.js';

const enc = new TextEncoder();
const key = (i: number): Uint8Array => enc.encode(`user/${String(i).padStart(10, '0')}`);
const hashOf = (k: Uint8Array): number => KeyFilter.hash(k, 0, k.length);

describe('memtable key filter', () => {
  test('sized at 1/32 of the arena, a power-of-two count of 64-byte blocks, capped', () => {
    expect(new KeyFilter(1024).bytes).toBe(64);
    expect(new KeyFilter(4 << 20).bytes).toBe(128 << 10);
    expect(new KeyFilter((4 << 20) + 1000).bytes).toBe(128 << 10);
    expect(new KeyFilter(1 << 30).bytes).toBe(FILTER_BYTES_MAX);
  });

  test('every added key is reported as maybe present (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { maxLength: 300 }), fc.integer({ min: 1024, max: 1 << 20 }), (keys, arena) => {
        const f = new KeyFilter(arena);
        for (const k of keys) f.add(hashOf(k));
        for (const k of keys) expect(f.mayContain(hashOf(k))).toBe(true);
      }),
    );
  });

  test('false positives stay low at the densest fill a memtable reaches', () => {
    // 4 MiB arena, 80,000 keys: ~52 arena bytes each, about the smallest entries (12 bits each).
    const f = new KeyFilter(4 << 20);
    const n = 80_000;
    for (let i = 0; i < n; i++) f.add(hashOf(key(2 * i)));
    let fp = 0;
    const probes = 100_000;
    for (let i = 0; i < probes; i++) if (f.mayContain(hashOf(key(2 * i + 1)))) fp++;
    expect(fp / probes).toBeLessThan(0.012);
    // And at the bench's entry size (~160 arena bytes) almost none.
    const g = new KeyFilter(4 << 20);
    for (let i = 0; i < 26_000; i++) g.add(hashOf(key(2 * i)));
    let fp2 = 0;
    for (let i = 0; i < probes; i++) if (g.mayContain(hashOf(key(2 * i + 1)))) fp2++;
    expect(fp2 / probes).toBeLessThan(0.001);
  });

  test('a memtable get agrees with its entries whether or not the filter answers', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 200 }), (written, asked) => {
        const m = new Memtable(64 * 1024);
        const held = new Set<number>();
        let version = 1;
        for (const i of written) {
          if (!m.add(key(i), version++, encodeValue(EntryKind.Put, enc.encode(`v${i}`)))) break;
          held.add(i);
        }
        for (const i of [...asked, ...written]) {
          const k = key(i);
          const viaHash = m.get(k, version, hashOf(k));
          const plain = m.get(k, version);
          expect(viaHash === undefined).toBe(!held.has(i));
          expect(plain === undefined).toBe(!held.has(i));
        }
      }),
    );
  });
});
