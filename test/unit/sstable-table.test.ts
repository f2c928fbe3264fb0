import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, compareRange, utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import type { InternalIterator } from '../../src/codec/iterator.js';
import { compareInternal, makeInternalKey, TRAILER_BYTES, userKeyOf, versionOf } from '../../src/codec/keys.js';
import { EntryKind, kindOf } from '../../src/codec/value.js';
import { ErrCorruption } from '../../src/api/errors.js';
import { BlockCache, SPARE_BLOCK_MAX } from '../../src/sstable/cache.js';
import { READAHEAD_BYTES } from '../../src/sstable/reader.js';
import { TableBuilder, type TableOptions } from '../../src/sstable/builder.js';
import { build, del, ik, MemFile, open, opts, put, randomEntries, rng, sortEntries, type Entry } from './sstable-helpers.js';

const OPTION_SETS: [string, TableOptions][] = [];
for (const compression of [Compression.None, Compression.Snappy]) {
  const c = compression === Compression.None ? 'none' : 'snappy';
  for (const restartInterval of [1, 2, 16]) {
    OPTION_SETS.push([`64B blocks, restart ${restartInterval}, ${c}`, opts({ blockSize: 64, restartInterval, compression })]);
  }
  OPTION_SETS.push([`4KiB blocks, restart 16, ${c}`, opts({ compression })]);
}
OPTION_SETS.push(['no bloom filter', opts({ bloomFalsePositiveRate: 0, blockSize: 256 })]);

function scanForward(it: InternalIterator): Entry[] {
  const out: Entry[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) out.push([it.key().slice(), it.value().slice()]);
  return out;
}

function scanBackward(it: InternalIterator): Entry[] {
  const out: Entry[] = [];
  for (it.seekToLast(); it.valid(); it.prev()) out.push([it.key().slice(), it.value().slice()]);
  return out.reverse();
}

function expectSame(got: Entry[], want: readonly Entry[], label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!bytesEqual(got[i]![0], want[i]![0]) || !bytesEqual(got[i]![1], want[i]![1])) {
      expect.fail(`${label}: entry ${i} differs`);
    }
  }
}

/** Model of get: newest entry of `user` with version <= readVersion. */
function modelGet(entries: readonly Entry[], user: Uint8Array, readVersion: number): Uint8Array | undefined {
  for (const [k, v] of entries) {
    if (compareRange(k, 0, k.length - TRAILER_BYTES, user, 0, user.length) === 0 && versionOf(k) <= readVersion) return v;
  }
  return undefined;
}

describe('table round trip', () => {
  for (const [name, options] of OPTION_SETS) {
    it(`scans, seeks and gets every entry (${name})`, () => {
      const seed = 42 + name.length;
      const entries = randomEntries(rng(seed), 400, 3, 120);
      const { file, meta } = build(entries, options);
      const t = open(file);
      const label = `${name}, seed ${seed}`;
      expect(t.meta).toEqual(meta);
      expect(meta.entries).toBe(entries.length);
      expect(bytesEqual(meta.smallest, entries[0]![0])).toBe(true);
      expect(bytesEqual(meta.largest, entries.at(-1)![0])).toBe(true);
      expect(meta.fileSize).toBe(file.size());
      const versions = entries.map(([k]) => versionOf(k));
      expect(meta.minVersion).toBe(Math.min(...versions));
      expect(meta.maxVersion).toBe(Math.max(...versions));
      if (options.blockSize === 64) expect(t.properties.dataBlocks).toBeGreaterThan(100);
      expect(t.properties.tombstones).toBe(entries.filter(([, v]) => kindOf(v) === EntryKind.Delete).length);

      const it = t.iterator();
      expectSame(scanForward(it), entries, label);
      expectSame(scanBackward(it), entries, label);
      for (const [k, v] of entries) {
        it.seek(k);
        expect(it.valid() && bytesEqual(it.key(), k) && bytesEqual(it.value(), v), label).toBe(true);
        it.seekForPrev(k);
        expect(it.valid() && bytesEqual(it.key(), k), label).toBe(true);
        const user = userKeyOf(k);
        expect(t.mayContain(user)).toBe(true);
        const got = t.get(user, versionOf(k));
        expect(got !== undefined && bytesEqual(got, v), label).toBe(true);
      }
      it.close();
      const scan = t.scan();
      expectSame(scanForward(scan), entries, `${label}, readahead scan`);
      expectSame(scanBackward(scan), entries, `${label}, readahead scan backward`);
      scan.seek(entries[entries.length >> 1]![0]);
      expect(scan.valid() && bytesEqual(scan.key(), entries[entries.length >> 1]![0])).toBe(true);
      scan.close();
      expect(t.verify()).toEqual([]);
      t.close();
      expect(file.closed).toBe(true);
    });
  }

  it('a readahead scan reads windows of blocks, not one block per read, and still finds damage', () => {
    const r = rng(7);
    const entries = randomEntries(r, 9000, 1, 200);
    const { file } = build(entries, opts({ compression: Compression.Snappy }));
    expect(file.size()).toBeGreaterThan(3 * READAHEAD_BYTES);
    const t = open(file, new BlockCache(0));
    const before = file.reads;
    expectSame(scanForward(t.scan()), entries, 'scan');
    const windows = file.reads - before;
    expect(windows).toBeLessThanOrEqual(Math.ceil(file.size() / READAHEAD_BYTES) + 1);
    expect(t.properties.dataBlocks).toBeGreaterThan(10 * windows);
    t.close();

    // A flipped byte in a block of a later window: ErrCorruption naming that block's offset.
    const bytes = file.bytes();
    const at = 2 * READAHEAD_BYTES + 100;
    bytes[at]! ^= 0x40;
    const damaged = open(MemFile.from(bytes), new BlockCache(0));
    const it = damaged.scan();
    let seen = 0;
    let error: unknown;
    try {
      for (it.seekToFirst(); it.valid(); it.next()) seen++;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ErrCorruption);
    const offset = (error as ErrCorruption).offset!;
    expect(offset).toBeLessThanOrEqual(at);
    expect(offset).toBeGreaterThan(at - 8192);
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(entries.length);
  });

  it('a table of one entry', () => {
    const { file } = build([[ik('only', 3), put('v')]]);
    const t = open(file);
    const it = t.iterator();
    expectSame(scanForward(it), [[ik('only', 3), put('v')]], 'one');
    it.seek(ik('only', 4));
    expect(it.valid()).toBe(true);
    it.seek(ik('only', 2));
    expect(it.valid()).toBe(false);
    it.seekForPrev(ik('only', 2));
    expect(it.valid()).toBe(true);
    it.seekForPrev(ik('only', 4));
    expect(it.valid()).toBe(false);
    expect(t.get(utf8('only'), 2)).toBeUndefined();
    expect(t.get(utf8('onl'), 9)).toBeUndefined();
    expect(t.get(utf8('only\0'), 9)).toBeUndefined();
  });

  it('values larger than a block and a user key that is a prefix of another', () => {
    const big = new Uint8Array(20_000).map((_, i) => i * 7);
    const entries = sortEntries([
      [ik('a', 1), put(big)],
      [ik('a\0', 1), put('x')],
      [ik('ab', 2), put(big.subarray(5))],
      [ik('ab', 1), del()],
      [ik('abc', 9), put('')],
    ]);
    for (const compression of [Compression.None, Compression.Snappy]) {
      const { file } = build(entries, opts({ blockSize: 64, compression }));
      const t = open(file);
      expectSame(scanForward(t.iterator()), entries, 'big');
      expectSame(scanBackward(t.iterator()), entries, 'big');
      expect(t.get(utf8('ab'), 1)).toEqual(del());
      expect(t.verify()).toEqual([]);
    }
  });
});

describe('get with versions', () => {
  it('returns the newest version <= readVersion, tombstones included', () => {
    const entries = sortEntries([
      [ik('k', 10), put('v10')],
      [ik('k', 20), del()],
      [ik('k', 30), put('v30')],
      [ik('j', 25), put('j25')],
      [ik('l', 5), put('l5')],
    ]);
    const t = open(build(entries, opts({ blockSize: 32, restartInterval: 1 })).file);
    const k = utf8('k');
    expect(t.get(k, 9)).toBeUndefined();
    expect(t.get(k, 10)).toEqual(put('v10'));
    expect(t.get(k, 19)).toEqual(put('v10'));
    expect(t.get(k, 20)).toEqual(del());
    expect(t.get(k, 29)).toEqual(del());
    expect(t.get(k, 30)).toEqual(put('v30'));
    expect(t.get(k, Number.MAX_SAFE_INTEGER)).toEqual(put('v30'));
    expect(t.get(utf8('j'), 24)).toBeUndefined();
    expect(t.get(utf8('l'), 4)).toBeUndefined();
    expect(t.get(utf8('m'), 100)).toBeUndefined();
  });

  it('matches a model for random keys and read versions (several option sets)', () => {
    for (const [name, options] of OPTION_SETS) {
      const seed = 7 + name.length;
      const r = rng(seed);
      const entries = randomEntries(r, 200, 6, 20);
      const t = open(build(entries, options).file);
      const users = entries.map(([k]) => userKeyOf(k));
      for (let i = 0; i < 2000; i++) {
        const user = r() < 0.9 ? users[Math.floor(r() * users.length)]! : new Uint8Array([Math.floor(r() * 256)]);
        const rv = Math.floor(r() * 1100);
        const want = modelGet(entries, user, rv);
        const got = t.get(user, rv);
        if (want === undefined ? got !== undefined : got === undefined || !bytesEqual(got, want)) {
          expect.fail(`${name}, seed ${seed}: get at version ${rv} differs`);
        }
      }
    }
  });
});

describe('iterator against a sorted-array model', () => {
  type Op =
    | { op: 'seek' | 'seekForPrev'; user: number[]; version: number }
    | { op: 'first' | 'last' | 'next' | 'prev' };
  const userArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 4 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constantFrom<'seek' | 'seekForPrev'>('seek', 'seekForPrev'), user: userArb, version: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ op: fc.constantFrom<'first' | 'last' | 'next' | 'prev'>('first', 'last', 'next', 'next', 'prev', 'prev') }),
  );
  const entryArb = fc
    .uniqueArray(fc.tuple(userArb, fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 60, selector: ([u, v]) => `${u.join(',')}@${v}` })
    .map((keys) => sortEntries(keys.map(([u, v], i) => [makeInternalKey(Uint8Array.from(u), v), put(`v${i}`)] as Entry)));

  it('agrees on every step', () => {
    fc.assert(
      fc.property(
        entryArb,
        fc.array(opArb, { maxLength: 60 }),
        fc.constantFrom(16, 48, 256),
        fc.constantFrom(1, 2, 16),
        (entries, ops, blockSize, restartInterval) => {
          const t = open(build(entries, opts({ blockSize, restartInterval })).file);
          const it = t.iterator();
          let pos = -1; // model position; -1 = not valid
          for (const o of ops) {
            switch (o.op) {
              case 'seek': {
                const target = makeInternalKey(Uint8Array.from(o.user), o.version);
                it.seek(target);
                pos = entries.findIndex(([k]) => compareInternal(k, target) >= 0);
                break;
              }
              case 'seekForPrev': {
                const target = makeInternalKey(Uint8Array.from(o.user), o.version);
                it.seekForPrev(target);
                pos = entries.length - 1;
                while (pos >= 0 && compareInternal(entries[pos]![0], target) > 0) pos--;
                break;
              }
              case 'first':
                it.seekToFirst();
                pos = 0;
                break;
              case 'last':
                it.seekToLast();
                pos = entries.length - 1;
                break;
              case 'next':
                it.next();
                if (pos >= 0) pos = pos + 1 < entries.length ? pos + 1 : -1;
                break;
              case 'prev':
                it.prev();
                if (pos >= 0) pos = pos - 1;
                break;
            }
            expect(it.valid()).toBe(pos >= 0);
            if (pos >= 0) {
              expect(bytesEqual(it.key(), entries[pos]![0])).toBe(true);
              expect(bytesEqual(it.value(), entries[pos]![1])).toBe(true);
            }
          }
          it.close();
          expect(() => it.seekToFirst()).toThrow();
          t.close();
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('builder contract', () => {
  it('rejects keys out of order or repeated, and short keys', () => {
    const b = new TableBuilder(new MemFile(), 1, opts({}));
    b.add(ik('b', 5), put('x'));
    expect(() => b.add(ik('b', 5), put('x'))).toThrow(/strictly increasing/);
    expect(() => b.add(ik('b', 6), put('x'))).toThrow(/strictly increasing/);
    expect(() => b.add(ik('a', 1), put('x'))).toThrow(/strictly increasing/);
    expect(() => b.add(new Uint8Array(7), put('x'))).toThrow(RangeError);
    b.add(ik('b', 4), put('x'));
    expect(b.entries).toBe(2);
    // A user key that extends the previous one sorts after it; the shorter one after it does not.
    b.add(ik('bb', 9), put('x'));
    expect(() => b.add(ik('b', 3), put('x'))).toThrow(/strictly increasing/);
    expect(() => b.add(ik('ba', 1), put('x'))).toThrow(/strictly increasing/);
    b.add(ik('bb', 8), put('x'));
    b.add(ik('bc', 300), put('x'));
    expect(b.entries).toBe(5);
  });

  it('finish with no entries throws; add and finish after finish throw', () => {
    expect(() => new TableBuilder(new MemFile(), 1, opts({})).finish()).toThrow(/no entries/);
    const b = new TableBuilder(new MemFile(), 1, opts({}));
    b.add(ik('a', 1), put('x'));
    b.finish();
    expect(() => b.add(ik('b', 1), put('x'))).toThrow();
    expect(() => b.finish()).toThrow();
  });

  it('rejects options out of range', () => {
    const f = new MemFile();
    expect(() => new TableBuilder(f, 1, opts({ blockSize: 0 }))).toThrow(RangeError);
    expect(() => new TableBuilder(f, 1, opts({ restartInterval: 0 }))).toThrow(RangeError);
    expect(() => new TableBuilder(f, 1, opts({ bloomFalsePositiveRate: 1 }))).toThrow(RangeError);
    expect(() => new TableBuilder(f, 1, opts({ bloomFalsePositiveRate: -0.1 }))).toThrow(RangeError);
    expect(() => new TableBuilder(f, 1, opts({ compression: 7 as Compression }))).toThrow(RangeError);
  });

  it('estimatedSize grows with the data and ends near the file size', () => {
    const b = new TableBuilder(new MemFile(), 1, opts({ blockSize: 1024 }));
    let last = 0;
    for (let i = 0; i < 5000; i++) {
      b.add(ik(`key${String(i).padStart(6, '0')}`, 1), put('value-value'));
      const s = b.estimatedSize();
      expect(s).toBeGreaterThanOrEqual(last);
      last = s;
    }
    const meta = b.finish();
    expect(last).toBeLessThanOrEqual(meta.fileSize);
    expect(last).toBeGreaterThan(meta.fileSize * 0.8);
  });

  it('snappy shrinks compressible data and the file reads back the same', () => {
    const entries: Entry[] = [];
    for (let i = 0; i < 2000; i++) entries.push([ik(`user:${String(i).padStart(8, '0')}`, 1), put('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')]);
    const plain = build(entries, opts({ compression: Compression.None }));
    const snappy = build(entries, opts({ compression: Compression.Snappy }));
    expect(snappy.meta.fileSize).toBeLessThan(plain.meta.fileSize * 0.7);
    expectSame(scanForward(open(snappy.file).iterator()), entries, 'snappy');
  });
});

describe('reader and cache', () => {
  it('serves repeated reads from the cache and works with the cache disabled', () => {
    const entries = randomEntries(rng(5), 500, 1);
    const { file } = build(entries, opts({ blockSize: 256 }));
    const cache = new BlockCache(1 << 20);
    const t = open(file, cache);
    const user = userKeyOf(entries[100]![0]);
    t.get(user, 1000);
    const reads = file.reads;
    const hits = cache.hits;
    for (let i = 0; i < 10; i++) expect(t.get(user, 1000)).toEqual(entries[100]![1]);
    expect(file.reads).toBe(reads);
    expect(cache.hits).toBe(hits + 10);

    const { file: f2 } = build(entries, opts({ blockSize: 256 }));
    const t2 = open(f2, new BlockCache(0), 2);
    expectSame(scanForward(t2.iterator()), entries, 'no cache');
    expectSame(scanBackward(t2.iterator()), entries, 'no cache');
    expect(t2.get(user, 1000)).toEqual(entries[100]![1]);
  });

  it('a cache far smaller than the table evicts under its budget and reads stay right', () => {
    const entries = randomEntries(rng(6), 400, 2);
    const { file } = build(entries, opts({ blockSize: 128 }));
    const cache = new BlockCache(2048);
    const t = open(file, cache);
    expectSame(scanForward(t.iterator()), entries, 'small cache');
    expectSame(scanBackward(t.iterator()), entries, 'small cache');
    for (const [k, v] of entries) expect(t.get(userKeyOf(k), versionOf(k))).toEqual(v);
    expect(cache.usedBytes).toBeLessThanOrEqual(2048);
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.misses).toBeGreaterThan(t.properties.dataBlocks);
  });

  it('blocks read through the reused read buffer are copies: later reads never change a cached block', () => {
    for (const compression of [Compression.None, Compression.Snappy]) {
      const entries = randomEntries(rng(8), 300, 1, 200);
      const a = open(build(entries, opts({ blockSize: 512, compression })).file, new BlockCache(1 << 20), 1);
      const b = open(build(entries, opts({ blockSize: 512, compression })).file, new BlockCache(1 << 20), 2);
      const first = a.dataBlock(0);
      const copy = first.slice();
      const seen = new Set<ArrayBufferLike>([first.buffer]);
      for (let i = 1; i < a.properties.dataBlocks; i++) seen.add(a.dataBlock(i).buffer);
      for (let i = 0; i < b.properties.dataBlocks; i++) seen.add(b.dataBlock(i).buffer);
      expect(bytesEqual(first, copy)).toBe(true);
      // Every cached block owns its memory.
      expect(seen.size).toBe(a.properties.dataBlocks + b.properties.dataBlocks);
      for (const [k, v] of entries) expect(a.get(userKeyOf(k), versionOf(k))).toEqual(v);
    }
  });

  it('the memory of an evicted block is reused for the next miss, never that of a block an iterator was given', () => {
    for (const compression of [Compression.None, Compression.Snappy]) {
      const entries = randomEntries(rng(9), 600, 1, 100);
      const { file } = build(entries, opts({ blockSize: 512, compression }));
      // Room for about sixteen blocks of a hundred: nearly every lookup misses and evicts.
      const cache = new BlockCache(16 * 700);
      const t = open(file, cache);
      const blocks = t.properties.dataBlocks;
      expect(blocks).toBeGreaterThan(20);
      // An iterator holds block 0 (shared) while lookups churn the cache.
      const it = t.iterator();
      it.seekToFirst();
      const held = t.dataBlock(0, true);
      const heldCopy = held.slice();
      const buffers = new Set<ArrayBufferLike>();
      let reused = 0;
      for (let round = 0; round < 3; round++) {
        for (let i = 1; i < blocks; i++) {
          const b = t.dataBlock(i);
          expect(b.buffer).not.toBe(held.buffer);
          if (buffers.has(b.buffer)) reused++;
          buffers.add(b.buffer);
        }
      }
      expect(reused).toBeGreaterThan(blocks);
      expect(bytesEqual(held, heldCopy)).toBe(true);
      // The iterator, interleaved with lookups that miss, still sees every entry right.
      const got: Entry[] = [];
      let j = 0;
      for (; it.valid(); it.next()) {
        got.push([it.key().slice(), it.value().slice()]);
        const [k, v] = entries[(j++ * 37) % entries.length]!;
        expect(t.get(userKeyOf(k), versionOf(k))).toEqual(v);
      }
      expectSame(got, entries, `iterator next to reusing lookups (${compression})`);
      expect(cache.usedBytes).toBeLessThanOrEqual(16 * 700);
    }
  });

  it('reuse stays within an eighth of the capacity, and a damaged size header gets no buffer before the checksum fails', () => {
    const entries = randomEntries(rng(10), 800, 1, 100);
    const { file } = build(entries, opts({ blockSize: 512, compression: Compression.Snappy }));
    const cache = new BlockCache(16 * 700);
    const t = open(file, cache);
    for (let round = 0; round < 2; round++) for (const [k, v] of entries) expect(t.get(userKeyOf(k), versionOf(k))).toEqual(v);
    expect(cache.spareBytesHeld).toBeGreaterThan(0);
    expect(cache.spareBytesHeld).toBeLessThanOrEqual((16 * 700) / 8);
    // A cache too small to spare a block's memory keeps none.
    const tiny = new BlockCache(2000);
    const t2 = open(build(entries, opts({ blockSize: 512, compression: Compression.Snappy })).file, tiny, 2);
    for (const [k, v] of entries) expect(t2.get(userKeyOf(k), versionOf(k))).toEqual(v);
    expect(tiny.spareBytesHeld).toBe(0);
    expect(cache.take(SPARE_BLOCK_MAX + 1)).toBeUndefined();

    // A compressed block whose length header claims 4 GiB: ErrCorruption naming the block,
    // not a huge allocation or a RangeError.
    const big = new Uint8Array(4096).map((_, i) => i % 7);
    const built = build([[ik('a', 1), put(big)]], opts({ compression: Compression.Snappy }));
    const bytes = built.file.bytes();
    bytes.set([0xff, 0xff, 0xff, 0xff, 0x0f], 0);
    const damaged = open(MemFile.from(bytes), new BlockCache(1 << 20));
    expect(() => damaged.get(utf8('a'), 1)).toThrow(ErrCorruption);
  });

  it('a block larger than the reused read buffer (a huge value) reads back', () => {
    for (const compression of [Compression.None, Compression.Snappy]) {
      const big = new Uint8Array(1536 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      const entries: Entry[] = sortEntries([[ik('a', 1), put('small')], [ik('big', 1), put(big)], [ik('c', 1), put('x')]]);
      const t = open(build(entries, opts({ compression })).file, new BlockCache(0));
      for (const [k, v] of entries) expect(bytesEqual(t.get(userKeyOf(k), versionOf(k))!, v)).toBe(true);
    }
  });

  it('use after close throws', () => {
    const t = open(build([[ik('a', 1), put('x')]]).file);
    t.close();
    t.close();
    expect(() => t.get(utf8('a'), 1)).toThrow(/after close/);
    expect(() => t.iterator()).toThrow(/after close/);
  });
});
