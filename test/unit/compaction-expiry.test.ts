/**
 * Compactions for expired entries (compaction/expiry.ts): the estimate, the new table
 * properties behind it, and the engine reclaiming the space of entries that expired after their
 * table reached the last level, where no other compaction would ever read them again (keys that
 * only grow), also while the store sits idle.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DB } from '../../src/api/db.js';
import { allExpired, EXPIRED_SHARE_MIN, expiredShare, expiryDueAt } from '../../src/compaction/expiry.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { decodeProperties, encodeProperties, type TableProperties } from '../../src/sstable/properties.js';
import { makeInternalKey } from '../../src/codec/keys.js';
import { utf8 } from '../../src/codec/bytes.js';
import { openMem, s, TINY } from '../helpers/db.js';

describe('expired share estimate', () => {
  const p = { entries: 1000, expiringEntries: 1000, minExpiresAt: 1000, maxExpiresAt: 1999 };

  it('grows from 0 at the earliest expiry to the TTL share at the latest, evenly in between', () => {
    expect(expiredShare(p, 999)).toBe(0);
    expect(expiredShare(p, 1000)).toBeCloseTo(0.001);
    expect(expiredShare(p, 1499)).toBeCloseTo(0.5);
    expect(expiredShare(p, 1999)).toBe(1);
    expect(expiredShare(p, 5000)).toBe(1);
    expect(expiredShare({ ...p, expiringEntries: 400 }, 5000)).toBeCloseTo(0.4);
    // All expiring in the same second.
    expect(expiredShare({ ...p, maxExpiresAt: 1000 }, 1000)).toBe(1);
  });

  it('expiryDueAt is the first second the share reaches the minimum', () => {
    const due = expiryDueAt(p)!;
    expect(expiredShare(p, due)).toBeGreaterThanOrEqual(EXPIRED_SHARE_MIN);
    expect(expiredShare(p, due - 1)).toBeLessThan(EXPIRED_SHARE_MIN);
    expect(due).toBe(1249);
    expect(expiryDueAt({ ...p, maxExpiresAt: 1000 })).toBe(1000);
    const half = { ...p, expiringEntries: 500 };
    expect(expiredShare(half, expiryDueAt(half)!)).toBeGreaterThanOrEqual(EXPIRED_SHARE_MIN);
    expect(expiredShare(half, expiryDueAt(half)! - 1)).toBeLessThan(EXPIRED_SHARE_MIN);
  });

  it('never due when too few entries have a TTL, or none', () => {
    expect(expiryDueAt({ ...p, expiringEntries: 200 })).toBeUndefined();
    expect(expiredShare({ ...p, expiringEntries: 200 }, 1e9)).toBeLessThan(EXPIRED_SHARE_MIN);
    const none = { entries: 1000, expiringEntries: 0, minExpiresAt: 0, maxExpiresAt: 0 };
    expect(expiryDueAt(none)).toBeUndefined();
    expect(expiredShare(none, 1e9)).toBe(0);
  });

  it('a table written before the TTL count was recorded (earliest expiry alone) just qualifies once that has passed', () => {
    const legacy = { entries: 1000, expiringEntries: 0, minExpiresAt: 1000, maxExpiresAt: 0 };
    expect(expiryDueAt(legacy)).toBe(1000);
    expect(expiredShare(legacy, 999)).toBe(0);
    expect(expiredShare(legacy, 1000)).toBe(EXPIRED_SHARE_MIN);
  });

  it('allExpired: every entry has a TTL and the latest has passed', () => {
    expect(allExpired(p, 1998)).toBe(false);
    expect(allExpired(p, 1999)).toBe(true);
    expect(allExpired({ ...p, expiringEntries: 999 }, 5000)).toBe(false);
  });
});

describe('expiry properties (tags 11 and 12)', () => {
  const base: TableProperties = {
    entries: 10,
    minVersion: 1,
    maxVersion: 10,
    smallest: makeInternalKey(utf8('a'), 10),
    largest: makeInternalKey(utf8('z'), 1),
    dataBlocks: 1,
    tombstones: 0,
    rawKeyBytes: 100,
    rawValueBytes: 100,
    minExpiresAt: 0,
    maxExpiresAt: 0,
    expiringEntries: 0,
  };

  it('round-trip; absent reads as 0; a table with the earliest expiry alone (before tags 11 and 12) still reads', () => {
    const ttl = { ...base, minExpiresAt: 1_700_000_000, maxExpiresAt: 1_800_000_000, expiringEntries: 4 };
    expect(decodeProperties(encodeProperties(ttl))).toEqual(ttl);
    expect(decodeProperties(encodeProperties(base))).toEqual(base);
    expect(encodeProperties(base).length).toBeLessThan(encodeProperties(ttl).length);
    const older = { ...base, minExpiresAt: 1_700_000_000 };
    expect(decodeProperties(encodeProperties(older))).toEqual(older);
  });

  it('inconsistent expiry properties are damage', () => {
    for (const bad of [
      { ...base, minExpiresAt: 5, maxExpiresAt: 4, expiringEntries: 1 },
      { ...base, minExpiresAt: 0, maxExpiresAt: 4, expiringEntries: 1 },
      { ...base, minExpiresAt: 1, maxExpiresAt: 4, expiringEntries: 11 },
      { ...base, minExpiresAt: 1, maxExpiresAt: 4, expiringEntries: 6, tombstones: 5 },
    ]) {
      expect(typeof decodeProperties(encodeProperties(bad))).toBe('string');
    }
  });
});

describe('expiry compactions in the engine', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const key = (i: number): string => `k${String(i).padStart(5, '0')}`;
  const lasting = (i: number): boolean => i % 4 === 0;
  /** TINY with memtables large enough for the loading transactions. */
  const OPTIONS = { ...TINY, memtableSize: 16 * 1024 };

  /** Fakes Date (timers stay real) at 2026-01-01 00:00 UTC; returns that time in unix seconds. */
  function startClock(): number {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    return Math.floor(Date.now() / 1000);
  }

  function tenMinutesLater(): void {
    vi.setSystemTime(new Date('2026-01-01T00:10:00Z'));
  }

  /** Growing keys, three of four with a TTL ending at `expiresAt`; then everything into the last level. */
  async function load(db: DB, n: number, expiresAt: number): Promise<void> {
    for (let i = 0; i < n; i += 5) {
      await db.update((t) => {
        for (let j = i; j < i + 5; j++) t.put(key(j), `v${j}-${'x'.repeat(30)}`, lasting(j) ? undefined : { expiresAt });
      });
    }
    await db.flatten();
  }

  const engineOf = (db: DB) => (db as unknown as { engine: { compactor: { idle(): Promise<void> }; stats: { expiryCompactions: number } } }).engine;

  async function until(what: string, ok: () => boolean, ms = 8000): Promise<void> {
    // performance.now(): some tests fake Date.
    const t = performance.now();
    while (!ok()) {
      if (performance.now() - t > ms) expect.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function expectOnlyLasting(db: DB, n: number): void {
    for (let i = 0; i < n; i++) {
      const got = db.getSync(key(i));
      if (lasting(i)) expect(got === undefined ? undefined : s(got)).toBe(`v${i}-${'x'.repeat(30)}`);
      else expect(got).toBeUndefined();
    }
  }

  it('entries that expire after reaching the last level are dropped by the next flush that finds nothing else to do', async () => {
    const now = startClock();
    const { db } = await openMem(undefined, OPTIONS);
    await load(db, 600, now + 100);
    const before = db.stats();
    expect(before.levels[6]!.entries).toBe(600);
    expect(before.counters.expiryCompactions).toBe(0);
    // Time passes; entries expire. A write and a flush give the compactor a turn.
    tenMinutesLater();
    await db.put('zz', 'x');
    await db.flush();
    await until('expiry compactions', () => db.stats().counters.expiryCompactions > 0 && db.stats().compactionsRunning === 0);
    await engineOf(db).compactor.idle();
    const after = db.stats();
    expect(after.levels[6]!.entries).toBeLessThanOrEqual(150 + 150 * EXPIRED_SHARE_MIN);
    expect(after.tableBytes).toBeLessThan(before.tableBytes * 0.6);
    expectOnlyLasting(db, 600);
    expect((await db.verify()).problems).toEqual([]);
    await db.close();
  });

  it("an idle store reclaims them too (a timer looks when the first table is due)", { timeout: 15_000 }, async () => {
    const { db } = await openMem(undefined, OPTIONS);
    await load(db, 300, Math.floor(Date.now() / 1000) + 2);
    expect(db.stats().levels[6]!.entries).toBe(300);
    // No writes from here on.
    await until('an expiry compaction on an idle store', () => db.stats().counters.expiryCompactions > 0 && db.stats().compactionsRunning === 0);
    await engineOf(db).compactor.idle();
    expect(db.stats().levels[6]!.entries).toBeLessThan(300);
    expectOnlyLasting(db, 300);
    await db.close();
  });

  it('a last-level table in which every entry expired is dropped without being read', async () => {
    const now = startClock();
    const { db } = await openMem(undefined, OPTIONS);
    for (let i = 0; i < 300; i += 5) {
      await db.update((t) => {
        for (let j = i; j < i + 5; j++) t.put(key(j), `v${j}`, { expiresAt: now + 100 });
      });
    }
    await db.flatten();
    const tables = db.stats().levels[6]!.tables;
    expect(tables).toBeGreaterThan(1);
    const readBefore = db.stats().levels[6]!.compactionBytesRead;
    tenMinutesLater();
    await db.put('zz', 'x');
    await db.flush();
    await until('the tables to go', () => db.stats().levels[6]!.entries <= 1 && db.stats().compactionsRunning === 0);
    await engineOf(db).compactor.idle();
    expect(db.stats().counters.expiryCompactions).toBeGreaterThanOrEqual(tables);
    // Dropped, not rewritten: nothing more was read for it (the flush's table may have been merged).
    expect(db.stats().levels[6]!.compactionBytesRead - readBefore).toBeLessThan(1000);
    for (let i = 0; i < 300; i++) expect(db.getSync(key(i))).toBeUndefined();
    expect(s(db.getSync('zz')!)).toBe('x');
    await db.close();
  });

  it('an expiry compaction that fails is not retried (an idle store would retry forever) and blocks nothing', async () => {
    const now = startClock();
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const db = await open({ path: '/db', fs, ...TINY, memtableSize: 16 * 1024 });
    await load(db, 300, now + 100);
    tenMinutesLater();
    // No space for new tables from here on.
    fs.addRule({ fault: 'ENOSPC', kind: 'write', path: /\.sst$/, times: Infinity });
    const compactor = (db as unknown as { engine: { compactor: { schedule(): void; idle(): Promise<void>; failures: number } } }).engine.compactor;
    const tables = db.stats().levels[6]!.tables;
    // Each table that qualifies is tried once; then nothing more is tried, however often the
    // compactor looks (timers, flushes).
    const settle = async (): Promise<number> => {
      for (let i = 0; i < 2 * tables + 5; i++) {
        compactor.schedule();
        await new Promise((resolve) => setTimeout(resolve, 20));
        await compactor.idle();
      }
      return compactor.failures;
    };
    const first = await settle();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(tables);
    expect(await settle()).toBe(first);
    expect(db.stats().failed).toBeUndefined();
    // Writes go on (into the memtable), and every entry still reads as before.
    await db.put('after', 'x');
    expectOnlyLasting(db, 300);
    await db.close();
  });

  it('a snapshot older than the entries holds the compaction back until it is released', async () => {
    const now = startClock();
    const { db } = await openMem(undefined, OPTIONS);
    const snap = db.snapshot();
    await load(db, 300, now + 100);
    tenMinutesLater();
    await db.put('zz', 'x');
    await db.flush();
    await engineOf(db).compactor.idle();
    expect(db.stats().counters.expiryCompactions).toBe(0);
    snap.release();
    await db.put('zz', 'y');
    await db.flush();
    await until('expiry compactions after the release', () => db.stats().counters.expiryCompactions > 0 && db.stats().compactionsRunning === 0);
    await engineOf(db).compactor.idle();
    expectOnlyLasting(db, 300);
    await db.close();
  });
});

describe('expiry compactions against a model', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Seeded random writes with TTLs ending in the future, deletions, overwrites and a clock that
  // moves on: after every step, each key reads as the model says (a value, or nothing once it
  // expired or was deleted), including after a reopen.
  it.each([1, 2, 3, 4])('seed %i: every key reads as the model says while the clock moves and expired entries are compacted away, also after a crash at any point', async (seed) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let clock = Date.UTC(2026, 0, 1);
    vi.setSystemTime(clock);
    let x = seed * 2654435761;
    const rnd = (n: number): number => {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
      return (x >>> 0) % n;
    };
    const model = new Map<string, { v: string; expiresAt: number }>();
    const KEYS = 1500;
    const options = { ...TINY, memtableSize: 32 * 1024 };
    const fs = new MemoryFileSystem();
    let { db } = await openMem(fs, options);
    const nowS = (): number => Math.floor(clock / 1000);
    const check = (what: string, from: DB = db): void => {
      for (let k = 0; k < KEYS; k++) {
        const m = model.get(key(k));
        const want = m === undefined || (m.expiresAt !== 0 && m.expiresAt <= nowS()) ? undefined : m.v;
        const got = from.getSync(key(k));
        if ((got === undefined ? undefined : s(got)) !== want) expect.fail(`${what}: ${key(k)} read ${got === undefined ? 'nothing' : s(got)}, model says ${want ?? 'nothing'}`);
      }
    };
    const key = (k: number): string => `k${String(k).padStart(4, '0')}`;
    for (let step = 0; step < 150; step++) {
      await db.update((t) => {
        for (let i = 0; i < 10; i++) {
          const k = rnd(KEYS);
          const r = rnd(10);
          if (r < 1) {
            t.delete(key(k));
            model.delete(key(k));
          } else {
            const v = `s${step}-${i}-${'y'.repeat(rnd(40))}`;
            const expiresAt = r < 6 ? nowS() + 1 + rnd(300) : 0;
            t.put(key(k), v, expiresAt === 0 ? undefined : { expiresAt });
            model.set(key(k), { v, expiresAt });
          }
        }
      }, { sync: true });
      if (rnd(4) === 0) await db.flush();
      if (rnd(60) === 0) await db.flatten();
      if (rnd(3) === 0) {
        clock += rnd(10_000);
        vi.setSystemTime(clock);
      }
      check(`step ${step}`);
      if (rnd(4) === 0) {
        // A crash now, with flushes and (expiry) compactions possibly in flight: every write
        // was synced, so the model holds exactly.
        const crashed = await open({ path: '/db', fs: fs.crashClone({ seed: step, keepUnsynced: rnd(2) === 0 ? 'none' : 'random' }), ...options });
        check(`step ${step}, after a crash`, crashed);
        await crashed.close();
      }
      if (rnd(15) === 0) {
        await db.close();
        ({ db } = await openMem(fs, options));
        check(`step ${step}, reopened`);
      }
    }
    // Everything with a TTL expires; writes give the compactor turns until nothing is left to do.
    clock += 400_000;
    vi.setSystemTime(clock);
    for (let i = 0; i < 3; i++) {
      await db.put('zz', `${i}`);
      await db.flush();
      await (db as unknown as { engine: { compactor: { idle(): Promise<void> } } }).engine.compactor.idle();
    }
    check('after the last expiry');
    expect(db.stats().counters.expiryCompactions).toBeGreaterThan(0);
    expect((await db.verify()).problems).toEqual([]);
    await db.close();
  });
});
