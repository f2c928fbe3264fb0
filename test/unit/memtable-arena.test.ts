/**
 * The memtable's edges: a full arena, refused and duplicate inserts leaving no trace, seeded
 * determinism, argument checks, stats, and views that outlive later inserts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrIteratorClosed } from '../../src/api/errors.js';
import { toHex, utf8 } from '../../src/codec/bytes.js';
import { VERSION_MAX, makeInternalKey } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import { ARENA_BYTES_MAX, ARENA_BYTES_MIN, INVARIANTS, Memtable } from '../../src/memtable/index.js';

beforeAll(() => {
  INVARIANTS.enabled = true;
});
afterAll(() => {
  INVARIANTS.enabled = false;
});

function dump(mt: Memtable): string[] {
  const out: string[] = [];
  const it = mt.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) out.push(`${toHex(it.key())}=${toHex(it.value())}`);
  it.close();
  return out;
}

function state(mt: Memtable): unknown {
  return {
    entries: mt.entries,
    usedBytes: mt.usedBytes,
    userBytes: mt.userBytes,
    minVersion: mt.minVersion,
    maxVersion: mt.maxVersion,
    dump: dump(mt),
  };
}

function key(i: number): Uint8Array {
  return utf8(`key-${String(i).padStart(5, '0')}`);
}

describe('full arena', () => {
  test.each([ARENA_BYTES_MIN, 4096, 10_000])('add returns false and changes nothing when a %i-byte arena is full', (size) => {
    const mt = new Memtable(size, { seed: 7 });
    const value = encodeValue(EntryKind.Put, new Uint8Array(50).fill(9));
    let i = 0;
    while (mt.add(key(i), i + 1, value)) i++;
    expect(i).toBeGreaterThan(0);
    expect(mt.entries).toBe(i);
    expect(mt.usedBytes).toBeLessThanOrEqual(mt.capacityBytes);
    const before = state(mt);
    expect(mt.add(key(i), i + 1, value)).toBe(false);
    expect(mt.addEntry(key(i), i + 1, EntryKind.Put, new Uint8Array(50))).toBe(false);
    expect(mt.add(key(i), i + 1, new Uint8Array(size))).toBe(false);
    expect(state(mt)).toEqual(before);
    for (let j = 0; j < i; j++) expect(toHex(mt.get(key(j), VERSION_MAX)!)).toBe(toHex(value));
  });

  test('an entry larger than the whole arena is refused', () => {
    const mt = new Memtable(4096);
    expect(mt.add(utf8('k'), 1, new Uint8Array(5000))).toBe(false);
    expect(mt.add(new Uint8Array(5000), 1, new Uint8Array(1))).toBe(false);
    expect(mt.entries).toBe(0);
    expect(mt.hasRoomFor(Memtable.entrySize(5008, 1))).toBe(false);
  });

  test('hasRoomFor(entrySize) promises that the add succeeds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 40 }), fc.nat({ max: 300 })), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: ARENA_BYTES_MIN, max: 16_384 }),
        (sizes, arena) => {
          const mt = new Memtable(arena, { seed: arena });
          let version = 1;
          for (const [k, v] of sizes) {
            const userKey = new Uint8Array(k).fill(version & 0xff);
            const room = mt.hasRoomFor(Memtable.entrySize(k + 8, v));
            const added = mt.add(userKey, version++, new Uint8Array(v));
            if (room) expect(added).toBe(true);
            expect(mt.usedBytes).toBeLessThanOrEqual(mt.capacityBytes);
          }
        },
      ),
    );
  });

  test('a refused insert does not advance the tower RNG', () => {
    const a = new Memtable(ARENA_BYTES_MIN * 4, { seed: 99 });
    const b = new Memtable(ARENA_BYTES_MIN * 4, { seed: 99 });
    expect(a.add(utf8('huge'), 1, new Uint8Array(ARENA_BYTES_MIN * 8))).toBe(false);
    for (let i = 0; i < 40; i++) {
      expect(a.add(key(i), i + 1, new Uint8Array(3))).toBe(b.add(key(i), i + 1, new Uint8Array(3)));
    }
    expect(state(a)).toEqual(state(b));
  });
});

describe('duplicates and determinism', () => {
  test('inserting an existing (key, version) throws and leaves no trace', () => {
    const a = new Memtable(1 << 16, { seed: 5 });
    const b = new Memtable(1 << 16, { seed: 5 });
    for (const mt of [a, b]) {
      mt.add(utf8('k'), 3, encodeValue(EntryKind.Put, utf8('v3')));
      mt.add(utf8('k'), 2, encodeValue(EntryKind.Put, utf8('v2')));
    }
    const before = state(a);
    expect(() => a.add(utf8('k'), 3, encodeValue(EntryKind.Put, utf8('other')))).toThrow(/already present/);
    expect(() => a.addEntry(utf8('k'), 2, EntryKind.Delete, undefined)).toThrow(/already present/);
    expect(state(a)).toEqual(before);
    expect(toHex(a.get(utf8('k'), 3)!)).toBe(toHex(encodeValue(EntryKind.Put, utf8('v3'))));
    for (let i = 0; i < 50; i++) {
      a.add(key(i), 10, new Uint8Array(1));
      b.add(key(i), 10, new Uint8Array(1));
    }
    expect(state(a)).toEqual(state(b));
  });

  test('the same seed and inserts give the same arena usage; another seed may not', () => {
    const run = (seed: number): number => {
      const mt = new Memtable(1 << 20, { seed });
      for (let i = 0; i < 500; i++) mt.add(key((i * 7919) % 500), i, new Uint8Array(4));
      return mt.usedBytes;
    };
    expect(run(1)).toBe(run(1));
    const others = new Set([run(1), run(2), run(3), run(4)]);
    expect(others.size).toBeGreaterThan(1);
  });
});

describe('arguments', () => {
  test.each([0, ARENA_BYTES_MIN - 1, ARENA_BYTES_MAX + 1, 4096.5, Number.NaN])('arena size %d is a RangeError', (n) => {
    expect(() => new Memtable(n)).toThrow(RangeError);
  });

  test.each([-1, 1.5, VERSION_MAX + 1, Number.NaN])('version %d is a RangeError', (v) => {
    const mt = new Memtable(4096);
    expect(() => mt.add(utf8('k'), v, new Uint8Array(1))).toThrow(RangeError);
    expect(() => mt.addEntry(utf8('k'), v, EntryKind.Put, undefined)).toThrow(RangeError);
    expect(() => mt.get(utf8('k'), v)).toThrow(RangeError);
    expect(mt.entries).toBe(0);
  });

  test('seek targets shorter than a trailer are a RangeError', () => {
    const it = new Memtable(4096).iterator();
    expect(() => it.seek(new Uint8Array(7))).toThrow(RangeError);
    expect(() => it.seekForPrev(new Uint8Array(0))).toThrow(RangeError);
  });

  test('a closed iterator is invalid and refuses to move; close is idempotent', () => {
    const mt = new Memtable(4096);
    mt.add(utf8('a'), 1, new Uint8Array(1));
    const it = mt.iterator();
    it.seekToFirst();
    expect(it.valid()).toBe(true);
    it.close();
    it.close();
    expect(it.valid()).toBe(false);
    expect(() => it.seekToFirst()).toThrow(ErrIteratorClosed);
    expect(() => it.next()).toThrow(ErrIteratorClosed);
  });

  test('next, prev, key and value on an invalid iterator throw', () => {
    const it = new Memtable(4096).iterator();
    it.seekToFirst();
    expect(it.valid()).toBe(false);
    expect(() => it.next()).toThrow(/not valid/);
    expect(() => it.prev()).toThrow(/not valid/);
    expect(() => it.key()).toThrow(/not valid/);
    expect(() => it.value()).toThrow(/not valid/);
  });
});

describe('stats and views', () => {
  test('entries, versions and user bytes are tracked', () => {
    const mt = new Memtable(1 << 16);
    expect([mt.entries, mt.minVersion, mt.maxVersion, mt.userBytes]).toEqual([0, 0, 0, 0]);
    expect(mt.capacityBytes).toBe(1 << 16);
    const empty = mt.usedBytes;
    expect(empty).toBeGreaterThan(0);
    mt.add(utf8('abc'), 50, encodeValue(EntryKind.Put, utf8('hello'), 1_700_000_000, 3));
    mt.addEntry(utf8('b'), 7, EntryKind.Delete, undefined);
    mt.addEntry(utf8('c'), 2 ** 40, EntryKind.Put, utf8('xy'), 0, 1);
    expect([mt.entries, mt.minVersion, mt.maxVersion, mt.userBytes]).toEqual([3, 7, 2 ** 40, 3 + 5 + 1 + 1 + 2]);
    expect(mt.usedBytes).toBeGreaterThan(empty);
  });

  test('keys and values returned stay intact while more entries arrive', () => {
    const mt = new Memtable(1 << 20, { seed: 3 });
    const long = new Uint8Array(100).map((_, i) => i);
    mt.add(long, 1, encodeValue(EntryKind.Put, utf8('first')));
    const v = mt.get(long, 1)!;
    const it = mt.iterator();
    it.seekToFirst();
    const k = it.key();
    for (let i = 0; i < 2000; i++) mt.add(key(i), i + 2, encodeValue(EntryKind.Put, new Uint8Array(20).fill(i)));
    expect(toHex(v)).toBe(toHex(encodeValue(EntryKind.Put, utf8('first'))));
    expect(toHex(k)).toBe(toHex(makeInternalKey(long, 1)));
    expect(it.valid()).toBe(true);
    expect(toHex(it.key())).toBe(toHex(makeInternalKey(long, 1)));
  });

  test('a memtable of thousands of entries keeps order and finds every version', () => {
    INVARIANTS.enabled = false;
    const mt = new Memtable(1 << 22, { seed: 11 });
    for (let i = 0; i < 5000; i++) mt.addEntry(key(i % 1000), Math.floor(i / 1000) + 1, EntryKind.Put, utf8(`v${i}`));
    INVARIANTS.enabled = true;
    mt.checkInvariants();
    for (let i = 0; i < 1000; i++) {
      for (let v = 1; v <= 5; v++) {
        expect(toHex(mt.get(key(i), v)!)).toBe(toHex(encodeValue(EntryKind.Put, utf8(`v${(v - 1) * 1000 + i}`))));
      }
      expect(mt.get(key(i), 0)).toBeUndefined();
    }
  });
});
