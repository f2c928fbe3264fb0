import { describe, expect, it } from 'vitest';
import { ErrCorruption } from '../../src/api/errors.js';
import { bytesEqual } from '../../src/codec/bytes.js';
import { compareInternal } from '../../src/codec/keys.js';
import { BlockBuilder } from '../../src/sstable/block-builder.js';
import { BlockIter } from '../../src/sstable/block.js';
import { ik, randomBytes, randomEntries, rng, type Entry } from './sstable-helpers.js';

function buildBlock(entries: readonly Entry[], restartInterval: number): Uint8Array {
  const b = new BlockBuilder(restartInterval, 16);
  for (const [k, v] of entries) b.add(k, v);
  return b.finish().slice();
}

function iterFor(block: Uint8Array): BlockIter {
  const it = new BlockIter();
  it.reset(block, 'test.block', 0);
  return it;
}

function collectForward(it: BlockIter): Entry[] {
  const out: Entry[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) out.push([it.key().slice(), it.value().slice()]);
  return out;
}

function collectBackward(it: BlockIter): Entry[] {
  const out: Entry[] = [];
  for (it.seekToLast(); it.valid(); it.prev()) out.push([it.key().slice(), it.value().slice()]);
  return out.reverse();
}

function sameEntries(a: Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every(([k, v], i) => bytesEqual(k, b[i]![0]) && bytesEqual(v, b[i]![1]));
}

describe('block builder and iterator', () => {
  for (const interval of [1, 2, 3, 16, 1000]) {
    it(`round trips forward, backward and seeks (restartInterval ${interval})`, () => {
      const seed = 1000 + interval;
      const entries = randomEntries(rng(seed), 300, 3);
      const block = buildBlock(entries, interval);
      const it = iterFor(block);
      expect(sameEntries(collectForward(it), entries), `seed ${seed}`).toBe(true);
      expect(sameEntries(collectBackward(it), entries), `seed ${seed}`).toBe(true);
      for (let i = 0; i < entries.length; i++) {
        it.seek(entries[i]![0], 0, entries[i]![0].length);
        expect(it.valid()).toBe(true);
        expect(bytesEqual(it.key(), entries[i]![0])).toBe(true);
        // prev then next comes back to the same entry
        it.prev();
        if (i === 0) expect(it.valid()).toBe(false);
        else {
          expect(bytesEqual(it.key(), entries[i - 1]![0])).toBe(true);
          it.next();
          expect(bytesEqual(it.key(), entries[i]![0])).toBe(true);
        }
      }
    });
  }

  it('seek between keys lands on the next key, past the end is not valid', () => {
    const entries: Entry[] = ['b', 'd', 'f'].map((u) => [ik(u, 5), new Uint8Array([1, 2])]);
    const it = iterFor(buildBlock(entries, 2));
    it.seek(ik('a', 0), 0, 9);
    expect(bytesEqual(it.key(), ik('b', 5))).toBe(true);
    it.seek(ik('c', 9), 0, 9);
    expect(bytesEqual(it.key(), ik('d', 5))).toBe(true);
    it.seek(ik('d', 9), 0, 9); // newer version target sorts before d@5
    expect(bytesEqual(it.key(), ik('d', 5))).toBe(true);
    it.seek(ik('d', 4), 0, 9); // older version target sorts after d@5
    expect(bytesEqual(it.key(), ik('f', 5))).toBe(true);
    it.seek(ik('g', 0), 0, 9);
    expect(it.valid()).toBe(false);
  });

  it('keys longer than the reused buffer and empty values', () => {
    const long = (c: number): Uint8Array => new Uint8Array(300).fill(c);
    const entries: Entry[] = [
      [ik(long(1), 1), new Uint8Array(0)],
      [ik(long(2), 1), new Uint8Array(0)],
      [ik(long(2).subarray(0, 299), 1), new Uint8Array(5000)],
    ].sort((a, b) => compareInternal(a[0]!, b[0]!)) as Entry[];
    const it = iterFor(buildBlock(entries, 16));
    expect(sameEntries(collectForward(it), entries)).toBe(true);
    expect(sameEntries(collectBackward(it), entries)).toBe(true);
  });

  it('a block with no entries cannot be finished', () => {
    expect(() => new BlockBuilder(16).finish()).toThrow();
    expect(() => new BlockBuilder(0)).toThrow(RangeError);
  });
});

describe('damaged blocks', () => {
  /** Runs every kind of positioning over a block; only ErrCorruption may escape. */
  function exercise(block: Uint8Array, targets: readonly Uint8Array[]): void {
    const it = new BlockIter();
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof ErrCorruption)) throw e;
        expect(e.file).toBe('fuzz.block');
        expect(it.valid()).toBe(false);
      }
    };
    guard(() => {
      it.reset(block, 'fuzz.block', 0);
      let steps = 0;
      for (it.seekToFirst(); it.valid() && steps < 10_000; it.next()) steps++;
      expect(steps).toBeLessThan(10_000);
    });
    guard(() => {
      it.reset(block, 'fuzz.block', 0);
      let steps = 0;
      for (it.seekToLast(); it.valid() && steps < 10_000; it.prev()) steps++;
      expect(steps).toBeLessThan(10_000);
    });
    for (const t of targets) {
      guard(() => {
        it.reset(block, 'fuzz.block', 0);
        it.seek(t, 0, t.length);
        if (it.valid()) it.prev();
      });
    }
  }

  it('random bytes give ErrCorruption or entries, never another error or a hang', () => {
    const r = rng(7);
    const targets = [ik('a', 1), ik('zz', 3), ik('', 0)];
    for (let i = 0; i < 3000; i++) exercise(randomBytes(r, Math.floor(r() * 80)), targets);
  });

  it('mutated valid blocks give ErrCorruption or entries, never another error or a hang', () => {
    const r = rng(8);
    const entries = randomEntries(rng(9), 40, 2);
    const targets = entries.filter((_, i) => i % 5 === 0).map(([k]) => k);
    for (const interval of [1, 4, 16]) {
      const clean = buildBlock(entries, interval);
      for (let i = 0; i < 2000; i++) {
        const b = clean.slice();
        const flips = 1 + Math.floor(r() * 3);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(r() * b.length);
          b[at] = b[at]! ^ (1 + Math.floor(r() * 255));
        }
        exercise(b, targets);
      }
    }
  });

  it('a short block or a bad restart count is ErrCorruption naming file and offset', () => {
    const it = new BlockIter();
    expect(() => it.reset(new Uint8Array(3), 'x.sst', 4096)).toThrow(ErrCorruption);
    try {
      it.reset(new Uint8Array([0, 0, 0, 0, 9, 0, 0, 0]), 'x.sst', 4096);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ErrCorruption);
      expect((e as ErrCorruption).message).toContain('x.sst');
      expect((e as ErrCorruption).offset).toBe(4096);
    }
  });
});
