import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCK_CACHE_ENTRY_OVERHEAD_BYTES as OVERHEAD, BlockCache } from '../../src/sstable/cache.js';

const block = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

describe('BlockCache', () => {
  it('counts hits and misses and returns what was set', () => {
    const c = new BlockCache(10_000);
    expect(c.get(1, 0)).toBeUndefined();
    const b = block(100, 7);
    c.set(1, 0, b);
    expect(c.get(1, 0)).toBe(b);
    expect(c.get(1, 100)).toBeUndefined();
    expect(c.get(2, 0)).toBeUndefined();
    expect(c.hits).toBe(1);
    expect(c.misses).toBe(3);
    expect(c.usedBytes).toBe(100 + OVERHEAD);
  });

  it('evicts least recently used blocks to stay within the byte budget', () => {
    const per = 100 + OVERHEAD;
    const c = new BlockCache(per * 3);
    c.set(1, 0, block(100));
    c.set(1, 1, block(100));
    c.set(1, 2, block(100));
    c.get(1, 0); // 0 is now the most recently used; 1 is the oldest
    c.set(1, 3, block(100));
    expect(c.usedBytes).toBe(per * 3);
    expect(c.get(1, 1)).toBeUndefined();
    expect(c.get(1, 0)).toBeDefined();
    expect(c.get(1, 2)).toBeDefined();
    expect(c.get(1, 3)).toBeDefined();
  });

  it('replacing a block recharges it', () => {
    const c = new BlockCache(10_000);
    c.set(1, 0, block(100));
    c.set(1, 0, block(300));
    expect(c.usedBytes).toBe(300 + OVERHEAD);
    expect(c.size).toBe(1);
    expect(c.get(1, 0)!.length).toBe(300);
  });

  it('evictFile drops only that file', () => {
    const c = new BlockCache(100_000);
    for (let i = 0; i < 10; i++) {
      c.set(1, i * 100, block(10));
      c.set(2, i * 100, block(10));
    }
    c.evictFile(1);
    c.evictFile(99);
    expect(c.size).toBe(10);
    expect(c.usedBytes).toBe(10 * (10 + OVERHEAD));
    expect(c.get(1, 0)).toBeUndefined();
    expect(c.get(2, 0)).toBeDefined();
    // the list is still sound after removals from its middle
    for (let i = 0; i < 100; i++) c.set(3, i, block(500));
    expect(c.usedBytes).toBeLessThanOrEqual(100_000);
  });

  it('capacity 0 disables caching', () => {
    const c = new BlockCache(0);
    c.set(1, 0, block(1));
    expect(c.get(1, 0)).toBeUndefined();
    expect(c.usedBytes).toBe(0);
    expect(c.misses).toBe(1);
  });

  it('a block larger than the budget is not cached and evicts nothing', () => {
    const c = new BlockCache(1000);
    c.set(1, 0, block(100));
    c.set(1, 1, block(5000));
    expect(c.get(1, 1)).toBeUndefined();
    expect(c.get(1, 0)).toBeDefined();
  });

  it('rejects a bad capacity', () => {
    expect(() => new BlockCache(-1)).toThrow(RangeError);
    expect(() => new BlockCache(1.5)).toThrow(RangeError);
  });

  it('matches an LRU model under random operations and never exceeds its budget', () => {
    type Op = { kind: 'get' | 'set' | 'evict'; file: number; off: number; len: number };
    const op = fc.record({
      kind: fc.constantFrom<'get' | 'set' | 'evict'>('get', 'set', 'set', 'get', 'evict'),
      file: fc.integer({ min: 1, max: 3 }),
      off: fc.integer({ min: 0, max: 8 }),
      len: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.array(op, { maxLength: 200 }), (cap, ops: Op[]) => {
        const c = new BlockCache(cap);
        const model: { key: string; len: number }[] = []; // most recent last
        for (const o of ops) {
          const key = `${o.file}:${o.off}`;
          const at = model.findIndex((m) => m.key === key);
          if (o.kind === 'get') {
            const got = c.get(o.file, o.off);
            expect(got?.length).toBe(at >= 0 ? model[at]!.len : undefined);
            if (at >= 0) model.push(...model.splice(at, 1));
          } else if (o.kind === 'set') {
            c.set(o.file, o.off, block(o.len));
            if (o.len + OVERHEAD <= cap) {
              if (at >= 0) model.splice(at, 1);
              model.push({ key, len: o.len });
              let used = model.reduce((s, m) => s + m.len + OVERHEAD, 0);
              while (used > cap) used -= model.shift()!.len + OVERHEAD;
            }
          } else {
            c.evictFile(o.file);
            for (let i = model.length - 1; i >= 0; i--) if (model[i]!.key.startsWith(`${o.file}:`)) model.splice(i, 1);
          }
          expect(c.usedBytes).toBeLessThanOrEqual(cap);
          expect(c.usedBytes).toBe(model.reduce((s, m) => s + m.len + OVERHEAD, 0));
          expect(c.size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
