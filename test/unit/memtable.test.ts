/**
 * Model-based tests of the arena skiplist memtable: every answer is checked against a plain
 * sorted array of internal keys. Keys come from a tiny alphabet (with 0x00, so "ab" and "ab\0"
 * share a padded prefix) and lengths 0..6 (across the 4-byte prefix kept in towers), with many
 * versions per key; O(n) invariant checks run after every insert.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compareBytes, toHex } from '../../src/codec/bytes.js';
import { VERSION_MAX, compareInternal, makeInternalKey } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import type { InternalIterator } from '../../src/codec/iterator.js';
import { INVARIANTS, Memtable } from '../../src/memtable/index.js';

beforeAll(() => {
  INVARIANTS.enabled = true;
});
afterAll(() => {
  INVARIANTS.enabled = false;
});

interface Entry {
  ikey: Uint8Array;
  userKey: Uint8Array;
  version: number;
  value: Uint8Array;
}

/** Sorted-array model of the memtable. */
class Model {
  readonly entries: Entry[] = [];

  has(userKey: Uint8Array, version: number): boolean {
    const ikey = makeInternalKey(userKey, version);
    return this.entries.some((e) => compareInternal(e.ikey, ikey) === 0);
  }

  add(userKey: Uint8Array, version: number, value: Uint8Array): void {
    const ikey = makeInternalKey(userKey, version);
    let i = 0;
    while (i < this.entries.length && compareInternal(this.entries[i]!.ikey, ikey) < 0) i++;
    this.entries.splice(i, 0, { ikey, userKey, version, value });
  }

  get(userKey: Uint8Array, readVersion: number): Uint8Array | undefined {
    const e = this.entries.find((x) => compareBytes(x.userKey, userKey) === 0 && x.version <= readVersion);
    return e?.value;
  }

  /** Index of the first entry >= target, or -1. */
  seek(target: Uint8Array): number {
    const i = this.entries.findIndex((e) => compareInternal(e.ikey, target) >= 0);
    return i;
  }

  /** Index of the last entry <= target, or -1. */
  seekForPrev(target: Uint8Array): number {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (compareInternal(this.entries[i]!.ikey, target) <= 0) return i;
    }
    return -1;
  }
}

const keyByte = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0x80, 0xff);
const plainKeyArb = fc.array(keyByte, { maxLength: 6 }).map((a) => Uint8Array.from(a));
// Keys that mostly share long leading bytes (the skiplist takes its prefixes after them and
// recomputes them when an insert shortens the shared part), mixed with keys that do not.
const sharedLead = fc.constantFrom([0x61, 0x61, 0x61, 0x61, 0x61], [0x61, 0x61, 0x61, 0x61, 0x62], [0x61, 0x61, 0x61], [0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
const userKeyArb = fc.oneof(
  { weight: 1, arbitrary: plainKeyArb },
  { weight: 3, arbitrary: fc.tuple(sharedLead, plainKeyArb).map(([lead, k]) => Uint8Array.from([...lead, ...k])) },
);
const versionArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(VERSION_MAX, VERSION_MAX - 1, 2 ** 32, 2 ** 32 - 1, 2 ** 31, 255, 256) },
);
const encodedValueArb = fc
  .tuple(fc.boolean(), fc.uint8Array({ maxLength: 24 }), fc.nat({ max: 3 }))
  .map(([put, bytes, extra]) =>
    put
      ? encodeValue(EntryKind.Put, bytes, extra === 1 ? 1_700_000_000 : 0, extra === 2 ? 7 : -1)
      : encodeValue(EntryKind.Delete, undefined),
  );
const insertArb = fc.record({ userKey: userKeyArb, version: versionArb, value: encodedValueArb });
const seedArb = fc.integer({ min: 0, max: 0xffffffff });
/** A seek target: any internal key, not necessarily present. */
const targetArb = fc.tuple(userKeyArb, versionArb).map(([k, v]) => makeInternalKey(k, v));

type Insert = { userKey: Uint8Array; version: number; value: Uint8Array };

/** Applies inserts to a fresh memtable and model; duplicates must throw and change nothing. */
function build(inserts: Insert[], seed: number): { mt: Memtable; model: Model } {
  const mt = new Memtable(1 << 20, { seed });
  const model = new Model();
  for (const { userKey, version, value } of inserts) {
    if (model.has(userKey, version)) {
      const used = mt.usedBytes;
      expect(() => mt.add(userKey, version, value)).toThrow(/already present/);
      expect(mt.usedBytes).toBe(used);
      expect(mt.entries).toBe(model.entries.length);
      continue;
    }
    expect(mt.add(userKey, version, value)).toBe(true);
    model.add(userKey, version, value);
  }
  return { mt, model };
}

function describeEntry(it: InternalIterator): string {
  return it.valid() ? `${toHex(it.key())}=${toHex(it.value())}` : 'invalid';
}

function expectAt(it: InternalIterator, model: Model, i: number): void {
  const want = i < 0 ? 'invalid' : `${toHex(model.entries[i]!.ikey)}=${toHex(model.entries[i]!.value)}`;
  expect(describeEntry(it)).toBe(want);
}

describe('memtable against a sorted model', () => {
  test('forward and backward scans return every entry in internal-key order', () => {
    fc.assert(
      fc.property(fc.array(insertArb, { maxLength: 120 }), seedArb, (inserts, seed) => {
        const { mt, model } = build(inserts, seed);
        expect(mt.entries).toBe(model.entries.length);
        const it = mt.iterator();
        let i = 0;
        for (it.seekToFirst(); it.valid(); it.next()) expectAt(it, model, i++);
        expect(i).toBe(model.entries.length);
        i = model.entries.length - 1;
        for (it.seekToLast(); it.valid(); it.prev()) expectAt(it, model, i--);
        expect(i).toBe(-1);
        it.close();
      }),
    );
  });

  test('get returns the newest version at or below the read version', () => {
    fc.assert(
      fc.property(
        fc.array(insertArb, { maxLength: 120 }),
        fc.array(fc.tuple(userKeyArb, versionArb), { minLength: 1, maxLength: 60 }),
        seedArb,
        (inserts, reads, seed) => {
          const { mt, model } = build(inserts, seed);
          // Read inserted keys too, at their own versions and around them.
          const probes = [...reads];
          for (const { userKey, version } of inserts.slice(0, 20)) {
            probes.push([userKey, version], [userKey, Math.max(0, version - 1)], [userKey, VERSION_MAX]);
          }
          for (const [userKey, readVersion] of probes) {
            const got = mt.get(userKey, readVersion);
            const want = model.get(userKey, readVersion);
            expect(got === undefined ? 'none' : toHex(got)).toBe(want === undefined ? 'none' : toHex(want));
          }
        },
      ),
    );
  });

  test('seek, seekForPrev and mixed next/prev agree with the model', () => {
    const opArb = fc.oneof(
      targetArb.map((t) => ({ op: 'seek' as const, t })),
      targetArb.map((t) => ({ op: 'seekForPrev' as const, t })),
      fc.constant({ op: 'first' as const }),
      fc.constant({ op: 'last' as const }),
      fc.constant({ op: 'next' as const }),
      fc.constant({ op: 'prev' as const }),
    );
    fc.assert(
      fc.property(fc.array(insertArb, { maxLength: 80 }), fc.array(opArb, { maxLength: 60 }), seedArb, (inserts, ops, seed) => {
        const { mt, model } = build(inserts, seed);
        const it = mt.iterator();
        let pos = -1;
        for (const o of ops) {
          switch (o.op) {
            case 'seek':
              it.seek(o.t);
              pos = model.seek(o.t);
              break;
            case 'seekForPrev':
              it.seekForPrev(o.t);
              pos = model.seekForPrev(o.t);
              break;
            case 'first':
              it.seekToFirst();
              pos = model.entries.length > 0 ? 0 : -1;
              break;
            case 'last':
              it.seekToLast();
              pos = model.entries.length - 1;
              break;
            case 'next':
              if (pos < 0) continue;
              it.next();
              pos = pos + 1 < model.entries.length ? pos + 1 : -1;
              break;
            case 'prev':
              if (pos < 0) continue;
              it.prev();
              pos -= 1;
              break;
          }
          expectAt(it, model, pos);
        }
      }),
    );
  });

  test('an iterator keeps its place while inserts land around it', () => {
    const stepArb = fc.oneof(
      insertArb.map((ins) => ({ op: 'insert' as const, ins })),
      fc.constant({ op: 'next' as const }),
      fc.constant({ op: 'prev' as const }),
      targetArb.map((t) => ({ op: 'seek' as const, t })),
    );
    fc.assert(
      fc.property(fc.array(insertArb, { minLength: 1, maxLength: 40 }), fc.array(stepArb, { maxLength: 80 }), seedArb, (inserts, steps, seed) => {
        const { mt, model } = build(inserts, seed);
        const it = mt.iterator();
        it.seekToFirst();
        let current: Uint8Array | undefined = it.valid() ? it.key().slice() : undefined;
        for (const s of steps) {
          if (s.op === 'insert') {
            if (model.has(s.ins.userKey, s.ins.version)) continue;
            expect(mt.add(s.ins.userKey, s.ins.version, s.ins.value)).toBe(true);
            model.add(s.ins.userKey, s.ins.version, s.ins.value);
          } else if (s.op === 'seek') {
            it.seek(s.t);
          } else {
            if (current === undefined) continue;
            if (s.op === 'next') it.next();
            else it.prev();
          }
          // This implementation sees every entry linked so far: next() follows the live link,
          // prev() searches again.
          let pos: number;
          if (s.op === 'insert') pos = current === undefined ? -1 : model.seek(current);
          else if (s.op === 'seek') pos = model.seek(s.t);
          else if (s.op === 'next') pos = model.seek(current!) + 1;
          else pos = model.seek(current!) - 1;
          if (pos >= model.entries.length) pos = -1;
          expectAt(it, model, pos);
          current = it.valid() ? it.key().slice() : undefined;
        }
      }),
    );
  });

  test('addEntry stores the same bytes as add with encodeValue', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            userKey: userKeyArb,
            version: versionArb,
            del: fc.boolean(),
            value: fc.uint8Array({ maxLength: 40 }),
            expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
            userMeta: fc.option(fc.integer({ min: -1, max: 255 }), { nil: undefined }),
          }),
          { maxLength: 60 },
        ),
        (entries) => {
          const a = new Memtable(1 << 20, { seed: 1 });
          const b = new Memtable(1 << 20, { seed: 1 });
          const model = new Model();
          for (const e of entries) {
            if (model.has(e.userKey, e.version)) continue;
            const kind = e.del ? EntryKind.Delete : EntryKind.Put;
            const value = e.del ? undefined : e.value;
            const encoded = encodeValue(kind, value, e.expiresAt, e.userMeta);
            model.add(e.userKey, e.version, encoded);
            expect(a.add(e.userKey, e.version, encoded)).toBe(true);
            expect(b.addEntry(e.userKey, e.version, kind, value, e.expiresAt, e.userMeta)).toBe(true);
          }
          expect(a.usedBytes).toBe(b.usedBytes);
          expect(a.userBytes).toBe(b.userBytes);
          const ia = a.iterator();
          const ib = b.iterator();
          let i = 0;
          for (ia.seekToFirst(), ib.seekToFirst(); ia.valid(); ia.next(), ib.next()) {
            expectAt(ia, model, i);
            expectAt(ib, model, i++);
          }
          expect(ib.valid()).toBe(false);
        },
      ),
    );
  });
});
