/**
 * Damage anywhere in a table must surface as ErrCorruption (naming the file and an offset) or
 * leave the answers right: never wrong data, never another error type, never a hang.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrCorruption } from '../../src/api/errors.js';
import { bytesEqual, putU32 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { userKeyOf, versionOf } from '../../src/codec/keys.js';
import { BlockCache } from '../../src/sstable/cache.js';
import { readFooter } from '../../src/sstable/footer.js';
import { Footer } from '../../src/sstable/format.js';
import type { TableReader } from '../../src/sstable/reader.js';
import { build, ik, MemFile, open, opts, put, randomEntries, rng, type Entry } from './sstable-helpers.js';

const PATH = 'db/000042.sst';

/** Names the region of the file holding byte `pos`, for failure messages. */
function region(file: MemFile, pos: number): string {
  const size = file.size();
  if (pos >= size - Footer.bytes) return 'footer';
  const f = readFooter(file, size);
  const within = (h: { offset: number; size: number }): boolean => pos >= h.offset && pos < h.offset + h.size + 5;
  if (within(f.index)) return 'index block';
  if (within(f.properties)) return 'properties block';
  if (f.bloom.size > 0 && within(f.bloom)) return 'bloom block';
  return 'data block';
}

function expectCorruption(e: unknown, what: string): void {
  if (!(e instanceof ErrCorruption)) throw new Error(`${what}: expected ErrCorruption, got ${String(e)}`, { cause: e });
  expect(e.file, what).toBe(PATH);
  expect(typeof e.offset, what).toBe('number');
  expect(e.message).toContain(PATH);
}

/** Reads everything every way; each answer must be right unless ErrCorruption was thrown. */
function checkAnswers(t: TableReader, entries: readonly Entry[], what: string): number {
  let errors = 0;
  const attempt = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      expectCorruption(e, what);
      errors++;
    }
  };
  attempt(() => {
    const it = t.iterator();
    let i = 0;
    for (it.seekToFirst(); it.valid(); it.next(), i++) {
      if (!bytesEqual(it.key(), entries[i]![0]) || !bytesEqual(it.value(), entries[i]![1])) expect.fail(`${what}: wrong entry ${i} forward`);
    }
    expect(i, what).toBe(entries.length);
  });
  attempt(() => {
    const it = t.iterator();
    let i = entries.length - 1;
    for (it.seekToLast(); it.valid(); it.prev(), i--) {
      if (!bytesEqual(it.key(), entries[i]![0]) || !bytesEqual(it.value(), entries[i]![1])) expect.fail(`${what}: wrong entry ${i} backward`);
    }
    expect(i, what).toBe(-1);
  });
  for (const [k, v] of entries) {
    attempt(() => {
      const got = t.get(userKeyOf(k), versionOf(k));
      if (got === undefined || !bytesEqual(got, v)) expect.fail(`${what}: wrong get`);
    });
  }
  return errors;
}

describe('a flipped byte anywhere', () => {
  for (const compression of [Compression.None, Compression.Snappy]) {
    it(`gives ErrCorruption or correct data, and verify() finds it (${compression === Compression.None ? 'plain' : 'snappy'})`, () => {
      const entries = randomEntries(rng(99), 40, 2, 30);
      const { file } = build(entries, opts({ blockSize: 128, restartInterval: 4, compression }), PATH);
      const clean = file.bytes();
      const r = rng(100);
      const caught: Record<string, number> = {};
      for (let pos = 0; pos < clean.length; pos++) {
        const damaged = clean.slice();
        damaged[pos] = damaged[pos]! ^ (1 << Math.floor(r() * 8));
        const f = MemFile.from(damaged, PATH);
        const what = `flip at ${pos} (${region(file, pos)})`;
        let t: TableReader;
        try {
          t = open(f, new BlockCache(1 << 20));
        } catch (e) {
          expectCorruption(e, what);
          expect(f.closed, `${what}: a failed open closes the file`).toBe(true);
          caught[region(file, pos)] = (caught[region(file, pos)] ?? 0) + 1;
          continue;
        }
        const errors = checkAnswers(t, entries, what);
        const problems = t.verify();
        expect(problems.length, `${what}: verify must see the damage`).toBeGreaterThan(0);
        if (region(file, pos) === 'data block') expect(errors, what).toBeGreaterThan(0);
        caught[region(file, pos)] = (caught[region(file, pos)] ?? 0) + 1;
        t.close();
      }
      expect(Object.keys(caught).sort()).toEqual(['bloom block', 'data block', 'footer', 'index block', 'properties block']);
    });
  }

  it('random multi-byte damage never yields wrong data', () => {
    const entries = randomEntries(rng(5), 60, 3, 50);
    const { file } = build(entries, opts({ blockSize: 200, compression: Compression.Snappy }), PATH);
    const clean = file.bytes();
    const r = rng(6);
    for (let round = 0; round < 1500; round++) {
      const damaged = clean.slice();
      const start = Math.floor(r() * damaged.length);
      const len = 1 + Math.floor(r() * 16);
      for (let i = start; i < Math.min(damaged.length, start + len); i++) damaged[i] = Math.floor(r() * 256);
      try {
        checkAnswers(open(MemFile.from(damaged, PATH)), entries, `round ${round}`);
      } catch (e) {
        expectCorruption(e, `round ${round}`);
      }
    }
  });
});

describe('damaged files', () => {
  const entries = randomEntries(rng(1), 50, 1);
  let clean: Uint8Array = new Uint8Array(0);
  beforeAll(() => {
    clean = build(entries, opts({ blockSize: 256 }), PATH).file.bytes();
  });

  it('every truncation gives ErrCorruption', () => {
    for (let len = 0; len < clean.length; len++) {
      try {
        open(MemFile.from(clean.subarray(0, len), PATH));
        expect.fail(`truncated to ${len} bytes opened`);
      } catch (e) {
        expectCorruption(e, `truncated to ${len}`);
      }
    }
  });

  it('a file too short names its size', () => {
    expect(() => open(MemFile.from(new Uint8Array(10), PATH))).toThrow(/too short/);
  });

  it('trailing garbage after the footer gives bad magic', () => {
    const f = MemFile.from(clean, PATH);
    f.writeAt(new Uint8Array(3), clean.length);
    expect(() => open(f)).toThrow(/bad magic/);
  });

  it('a zeroed file gives ErrCorruption', () => {
    expect(() => open(MemFile.from(new Uint8Array(clean.length), PATH))).toThrow(ErrCorruption);
  });

  it('an unknown format version is named in the error', () => {
    const b = clean.slice();
    putU32(b, b.length - Footer.bytes + Footer.version, 2);
    expect(() => open(MemFile.from(b, PATH))).toThrow(/unknown table format version 2/);
  });

  it('damage found after open (cold cache) surfaces on the read that meets it, with the block offset', () => {
    const f = MemFile.from(clean, PATH);
    const t = open(f, new BlockCache(0));
    const first = readFooter(f, f.size());
    expect(first.index.offset).toBeGreaterThan(0);
    f.writeAt(new Uint8Array([clean[10]! ^ 0xff]), 10); // inside data block 0
    try {
      t.get(userKeyOf(entries[0]![0]), versionOf(entries[0]![0]));
      expect.fail('damaged block was read without error');
    } catch (e) {
      expectCorruption(e, 'get');
      expect((e as ErrCorruption).offset).toBe(0);
      expect((e as ErrCorruption).message).toMatch(/checksum mismatch/);
    }
    const problems = t.verify();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.offset).toBe(0);
    // Other blocks still read fine.
    const [k, v] = entries.at(-1)!;
    expect(t.get(userKeyOf(k), versionOf(k))).toEqual(v);
  });

  it('verify() of a clean table is empty', () => {
    expect(open(MemFile.from(clean, PATH)).verify()).toEqual([]);
    expect(open(build([[ik('a', 1), put('x')]]).file).verify()).toEqual([]);
  });
});
