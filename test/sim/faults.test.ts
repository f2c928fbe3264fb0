/**
 * The engine under file-system faults, one test per fault, each named after it. The store runs
 * on a MemoryFileSystem wrapped in a FaultFileSystem; a rule injects the fault; the test checks
 * the behaviour the README promises (section "Behaviour under faults"):
 *
 *  - a failed fsync of the WAL or the manifest fails the store: every later write reports the
 *    same ErrStoreFailed (with the fs error as its cause), reads of acknowledged data keep
 *    working, and a reopen recovers every acknowledged write;
 *  - ENOSPC is ErrInsufficientDiskSpace, loses nothing acknowledged, and writes work again
 *    once space is freed, without a reopen (flush and compaction back off and retry);
 *  - a torn WAL append is cut back and the next write succeeds;
 *  - a bit flip on a table read is ErrCorruption naming the file and offset, never a value;
 *    EIO on a table read is ErrIO, and the store stays usable;
 *  - verify() reports every damaged table block, WAL record and manifest record;
 *  - an I/O error while opening is a named error and leaves the data intact.
 * Each test adds the faults it injected to the figures `npm test` prints.
 */
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import { ErrCorruption, SettError } from '../../src/api/errors.js';
import { openWith } from '../../src/api/open.js';
import type { Options } from '../../src/api/options.js';
import { fromUtf8, getU32 } from '../../src/codec/bytes.js';
import { runCompaction } from '../../src/compaction/merge.js';
import type { CompactionRunner } from '../../src/engine/compactor.js';
import type { Engine } from '../../src/engine/engine.js';
import { FaultFileSystem, type FaultRule, type FsOpKind } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { FsError } from '../../src/fs/types.js';
import { open } from '../../src/index.js';
import { TINY } from '../helpers/db.js';
import { HookFileSystem } from '../helpers/hook-fs.js';
import { figures } from '../helpers/figures.js';

const PATH = '/db';

// ---------------------------------------------------------------------------------------------
// Helpers

function codeOf(e: unknown): string {
  return e instanceof SettError ? e.code : `${(e as Error)?.name}: ${(e as Error)?.message}`;
}

/** `p` must reject with a SettError of `code`; returns the error. */
async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<SettError> {
  try {
    await withTimeout(p, 10_000, what);
  } catch (e) {
    expect(codeOf(e), `${what}: ${(e as Error).message}`).toBe(code);
    return e as SettError;
  }
  return expect.fail(`${what}: resolved, expected ${code}`);
}

/** Fails (instead of hanging the suite) if `p` takes longer than `ms`. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const key = (i: number): string => `key${String(i).padStart(5, '0')}`;
const value = (i: number, tag = ''): string => `value ${i}${tag} `.padEnd(40 + (i % 7) * 9, '.');

/** What the store must hold: key → value, in a plain map. */
type Expected = Map<string, string>;

async function contents(db: DB): Promise<Expected> {
  const m: Expected = new Map();
  for (const [k, v] of await db.iterator().all()) m.set(fromUtf8(k), fromUtf8(v));
  return m;
}

async function expectContents(db: DB, want: Expected, what: string): Promise<void> {
  const got = await contents(db);
  expect([...got].sort(), `${what}: full scan`).toEqual([...want].sort());
  for (const [k, v] of want) expect(db.getSync(k) === undefined ? undefined : fromUtf8(db.getSync(k)!), `${what}: get ${k}`).toBe(v);
}

interface Rig {
  mem: MemoryFileSystem;
  fs: FaultFileSystem;
  db: DB;
  options: Options;
}

async function rig(extra: Partial<Options> = {}, seed = 1): Promise<Rig> {
  const mem = new MemoryFileSystem();
  const fs = new FaultFileSystem(mem, { seed });
  const options: Options = { path: PATH, fs, ...extra };
  return { mem, fs, db: await open(options), options };
}

/** Opens `fs` (no faults) and returns what it holds; the store is closed again. */
async function reopenContents(fs: MemoryFileSystem, extra: Partial<Options>): Promise<Expected> {
  const db = await withTimeout(open({ path: PATH, fs, ...extra }), 10_000, 'reopen');
  try {
    const report = await db.verify();
    expect(report.problems, 'verify() after reopening').toEqual([]);
    return await contents(db);
  } finally {
    await db.close();
  }
}

/** Retries `fn` while it fails with ErrInsufficientDiskSpace (the engine's retry backoff), up to 5 s. */
async function eventually(fn: () => Promise<unknown>, what: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      await withTimeout(fn(), 10_000, what);
      return;
    } catch (e) {
      if (codeOf(e) !== 'ErrInsufficientDiskSpace' || Date.now() - t0 > 5000) throw e;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Every entry of `part` is in `whole` with the same value. */
function expectSubset(part: Expected, whole: Expected, what: string): void {
  for (const [k, v] of part) expect(whole.get(k), `${what}: ${k}`).toBe(v);
}

/** Table files on disk that the store does not list (partial outputs left behind). */
/**
 * Table files on disk that no level holds, once the background compactions have settled (a
 * running one has outputs on disk that are not installed yet).
 */
async function strayTables(mem: MemoryFileSystem, db: DB): Promise<string[]> {
  await (db as unknown as { engine: Engine }).engine.compactor.idle();
  const live = db.stats().levels.reduce((n, l) => n + l.tables, 0);
  const onDisk = mem.listAllSync().filter((p) => p.endsWith('.sst'));
  return onDisk.length === live ? [] : onDisk;
}

function countFaults(...fss: FaultFileSystem[]): number {
  const n = fss.reduce((s, f) => s + f.stats().faultsTotal, 0);
  figures.add('faults injected', n);
  return n;
}

/** Every write API must reject with exactly `failure` (the store's one ErrStoreFailed). */
async function expectWritesRefused(db: DB, failure: SettError): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    ['put', () => db.put('after', 'x')],
    ['put sync', () => db.put('after', 'x', { sync: true })],
    ['delete', () => db.delete(key(0))],
    ['batch', () => db.batch([{ type: 'put', key: 'after', value: 'x' }])],
    ['chained batch', () => db.batch().put('after', 'x').write()],
    ['flush', () => db.flush()],
    ['sync', () => db.sync()],
    ['compactRange', () => db.compactRange()],
  ];
  for (const [what, call] of calls) {
    const e = await rejectsWith(call(), 'ErrStoreFailed', `${what} on a failed store`);
    expect(e, `${what}: the same failure every time`).toBe(failure);
  }
}

function expectInjectedCause(e: SettError, code: string): void {
  const cause = e.cause;
  expect(cause, 'the failure names its cause').toBeInstanceOf(FsError);
  expect((cause as FsError).code).toBe(code);
  expect((cause as FsError).injected).toBe(true);
}

// ---------------------------------------------------------------------------------------------

describe('fsync failures fail the store', () => {
  for (const trigger of ['a synced put', 'db.sync()', 'a memtable rotation'] as const) {
    it(`failed WAL fsync fails the store: every later write gets ErrStoreFailed with the cause, reads keep working, reopen recovers acknowledged data (fsync from ${trigger})`, async () => {
      const { mem, fs, db } = await rig(TINY);
      const synced: Expected = new Map();
      const acked: Expected = new Map();
      for (let i = 0; i < 20; i++) {
        await db.put(key(i), value(i), { sync: true });
        synced.set(key(i), value(i));
        acked.set(key(i), value(i));
      }
      for (let i = 20; i < 25; i++) {
        await db.put(key(i), value(i));
        acked.set(key(i), value(i));
      }
      fs.addRule({ fault: 'EIO', kind: 'sync', path: /\.wal$/ });
      let failure: SettError;
      let maybe: [string, string] | undefined;
      if (trigger === 'a synced put') {
        maybe = [key(25), value(25)];
        failure = await rejectsWith(db.put(key(25), value(25), { sync: true }), 'ErrStoreFailed', 'the put whose fsync failed');
      } else if (trigger === 'db.sync()') {
        failure = await rejectsWith(db.sync(), 'ErrStoreFailed', 'db.sync() whose fsync failed');
      } else {
        // Unsynced writes until the memtable is full: the rotation syncs the old WAL first.
        let i = 25;
        for (;;) {
          try {
            await db.put(key(i), value(i));
            acked.set(key(i), value(i));
            i++;
          } catch (e) {
            expect(codeOf(e), 'the write that needed the rotation').toBe('ErrStoreFailed');
            failure = e as SettError;
            break;
          }
          expect(i, 'a rotation should have come').toBeLessThan(2000);
        }
      }
      expect(failure.message).toContain('fsync of the WAL failed');
      expectInjectedCause(failure, 'EIO');
      expect(db.stats().failed).toBe(failure.message);

      await expectWritesRefused(db, failure);
      // Reads of everything acknowledged keep working; the failed write was never applied.
      await expectContents(db, acked, 'reads on the failed store');
      expect(fs.stats().faultsTotal).toBe(1);
      await db.close();

      // Without a crash, the reopened store holds every acknowledged write (the failed one may
      // or may not be there: it was never acknowledged).
      const reopened = await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'all' }), TINY);
      if (maybe !== undefined && reopened.has(maybe[0])) acked.set(...maybe);
      expect([...reopened].sort(), 'reopened without a crash').toEqual([...acked].sort());
      // After a power failure: every synced write, and a prefix of the rest.
      for (let seed = 1; seed <= 8; seed++) {
        const crashed = await reopenContents(mem.crashClone({ seed, keepUnsynced: seed === 1 ? 'none' : 'random' }), TINY);
        expectSubset(synced, crashed, `crash clone ${seed}: synced writes survive`);
        expectSubset(crashed, new Map([...acked, ...(maybe === undefined ? [] : [maybe])]), `crash clone ${seed}: nothing else appears`);
      }
      countFaults(fs);
    });
  }

  it('a reopen after a failed fsync makes what it shows durable: a later power failure keeps it', async () => {
    // Found by the metamorphic test (seed 407718807): the reopened store showed writes whose
    // fsync had failed (still in the page cache), and a crash after the reopen lost them.
    for (const target of [/\.wal$/, /MANIFEST/]) {
      const { mem, fs, db } = await rig(TINY);
      for (let i = 0; i < 30; i++) await db.put(key(i), value(i));
      fs.addRule({ fault: 'EIO', kind: 'sync', path: target });
      await rejectsWith(target.source.includes('wal') ? db.put('last', 'x', { sync: true }) : db.flush(), 'ErrStoreFailed', `fsync of ${target.source} fails`);
      await db.close();
      const reopened = await open({ path: PATH, fs: mem, ...TINY });
      const shown = await contents(reopened);
      expect(shown.size).toBeGreaterThanOrEqual(30);
      // A power failure right after the open: only what was synced survives.
      const crashed = mem.crashClone({ seed: 3, keepUnsynced: 'none' });
      await reopened.close();
      expect([...(await reopenContents(crashed, TINY))].sort(), `${target.source}: after the crash`).toEqual([...shown].sort());
      countFaults(fs);
    }
  });

  it('failed manifest fsync during flush fails the store', async () => {
    const { mem, fs, db } = await rig({ ...TINY, memtableSize: 64 * 1024 });
    const acked: Expected = new Map();
    for (let i = 0; i < 200; i++) {
      await db.put(key(i), value(i), { sync: i % 10 === 0 });
      acked.set(key(i), value(i));
    }
    await db.flush();
    for (let i = 200; i < 300; i++) {
      await db.put(key(i), value(i, '+'));
      acked.set(key(i), value(i, '+'));
    }
    fs.addRule({ fault: 'EIO', kind: 'sync', path: /MANIFEST/ });
    const failure = await rejectsWith(db.flush(), 'ErrStoreFailed', 'flush whose manifest edit failed to sync');
    expectInjectedCause(failure, 'EIO');
    await expectWritesRefused(db, failure);
    await expectContents(db, acked, 'reads on the failed store');
    await db.close();
    // The edit may or may not be durable: both outcomes must hold every acknowledged write.
    // (Found by this test: the flush removed its new table although the edit naming it was
    // already appended, so a reopen failed with "table listed in the manifest but missing".)
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'all' }), TINY))].sort(), 'edit kept').toEqual([...acked].sort());
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'none' }), TINY))].sort(), 'edit lost').toEqual([...acked].sort());
    countFaults(fs);
  });

  it('ENOSPC on the directory sync right after CURRENT switched to a rewritten manifest fails the store; a reopen, from either manifest, holds every acknowledged write', async () => {
    const mem = new MemoryFileSystem();
    // Armed once the store is open: the first directory sync after CURRENT.tmp is renamed over
    // CURRENT (a manifest rewrite) fails. Before the fix the flusher retried it as "not made"
    // and kept appending edits to the old manifest, which a restart reading CURRENT (the new
    // manifest) would never see.
    let armed = false;
    let switched = false;
    let fired = false;
    const hfs = new HookFileSystem(mem, (label) => {
      if (!armed) return;
      if (label.startsWith('rename ') && label.endsWith(`${PATH}/CURRENT`)) switched = true;
      else if (switched && label.startsWith('syncDir ')) {
        armed = false;
        fired = true;
        throw new FsError('ENOSPC', 'injected: no space for the directory sync', { path: PATH, injected: true });
      }
    });
    // No background compactions and no writes during a flush: the only directory syncs are
    // the flush's own, in order, so the one after the rename is the rewrite's.
    const db = await open({ path: PATH, fs: hfs, ...TINY, disableAutoCompaction: true });
    armed = true;
    const acked: Expected = new Map();
    let failure: SettError | undefined;
    for (let i = 0; i < 5000 && failure === undefined; i++) {
      try {
        await db.put(key(i % 400), value(i));
        acked.set(key(i % 400), value(i));
        if (i % 20 === 19) await db.flush();
      } catch (e) {
        failure = e as SettError;
      }
    }
    expect(fired, 'a manifest rewrite should have happened').toBe(true);
    expect(failure, 'writes after the failed switch are refused').toBeDefined();
    expect(codeOf(failure)).toBe('ErrStoreFailed');
    expectInjectedCause(failure!, 'ENOSPC');
    await expectContents(db, acked, 'reads on the failed store');
    await db.close();
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'all' }), TINY))].sort(), 'switch kept').toEqual([...acked].sort());
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'none' }), TINY))].sort(), 'switch lost').toEqual([...acked].sort());
  });

  it('failed manifest fsync during compaction fails the store', async () => {
    const { mem, fs, db } = await rig({ ...TINY, disableAutoCompaction: true });
    const acked: Expected = new Map();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 60; i++) {
        await db.put(key(i * 3 + round), value(i, `r${round}`));
        acked.set(key(i * 3 + round), value(i, `r${round}`));
      }
      await db.flush();
    }
    expect(db.stats().levels[0]!.tables).toBeGreaterThan(2);
    fs.addRule({ fault: 'EIO', kind: 'sync', path: /MANIFEST/ });
    const failure = await rejectsWith(db.compactRange(), 'ErrStoreFailed', 'compactRange whose manifest edit failed to sync');
    expectInjectedCause(failure, 'EIO');
    await expectWritesRefused(db, failure);
    await expectContents(db, acked, 'reads on the failed store');
    await db.close();
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'all' }), TINY))].sort(), 'edit kept').toEqual([...acked].sort());
    expect([...(await reopenContents(mem.crashClone({ seed: 1, keepUnsynced: 'none' }), TINY))].sort(), 'edit lost').toEqual([...acked].sort());
    countFaults(fs);
  });
});

describe('out of space', () => {
  it('ENOSPC on a WAL append gives ErrInsufficientDiskSpace, loses nothing acknowledged, and writes work again once space is freed without reopening', async () => {
    const { mem, fs, db } = await rig(TINY);
    const acked: Expected = new Map();
    for (let i = 0; i < 30; i++) {
      await db.put(key(i), value(i), { sync: i % 3 === 0 });
      acked.set(key(i), value(i));
    }
    const full = fs.addRule({ fault: 'ENOSPC', kind: 'write', path: /\.wal$/, times: Infinity });
    const writes: [string, () => Promise<unknown>][] = [
      ['put', () => db.put('nospace', 'x')],
      ['put sync', () => db.put('nospace', 'x', { sync: true })],
      ['delete', () => db.delete(key(1))],
      ['batch', () => db.batch([{ type: 'put', key: 'nospace', value: 'x' }, { type: 'del', key: key(2) }])],
      ['chained batch', () => db.batch().put('nospace', 'x').write({ sync: true })],
    ];
    for (const [what, call] of writes) {
      const e = await rejectsWith(call(), 'ErrInsufficientDiskSpace', `${what} on a full disk`);
      expectInjectedCause(e, 'ENOSPC');
    }
    expect(db.stats().failed, 'out of space does not fail the store').toBeUndefined();
    await expectContents(db, acked, 'reads while the disk is full');
    await db.sync();

    fs.removeRule(full); // space freed
    for (let i = 30; i < 60; i++) {
      await db.put(key(i), value(i), { sync: i % 5 === 0 });
      acked.set(key(i), value(i));
    }
    await db.flush();
    await expectContents(db, acked, 'after space was freed');
    await db.close();
    expect(fs.openHandles(), 'files left open after close').toEqual([]);
    expect([...(await reopenContents(mem, TINY))].sort(), 'reopened').toEqual([...acked].sort());
    countFaults(fs);
  });

  it('ENOSPC during flush: stalled writers get ErrInsufficientDiskSpace, the flusher retries, and after space is freed everything flushes', async () => {
    const { mem, fs, db } = await rig(TINY);
    const acked: Expected = new Map();
    for (let i = 0; i < 40; i++) {
      await db.put(key(i), value(i));
      acked.set(key(i), value(i));
    }
    const full = fs.addRule({ fault: 'ENOSPC', kind: 'write', path: /\.sst$/, times: Infinity });
    // flush() cannot finish while the disk is full: it says so instead of waiting forever.
    const e = await rejectsWith(db.flush(), 'ErrInsufficientDiskSpace', 'flush() on a full disk');
    expectInjectedCause(e, 'ENOSPC');
    let stalled: SettError | undefined;
    for (let i = 40; i < 3000 && stalled === undefined; i++) {
      try {
        await withTimeout(db.put(key(i), value(i)), 10_000, `put ${i}`);
        acked.set(key(i), value(i));
      } catch (err) {
        expect(codeOf(err), 'a writer stalled behind flushes that cannot run').toBe('ErrInsufficientDiskSpace');
        stalled = err as SettError;
      }
    }
    expect(stalled, 'the memtables should have filled up').toBeDefined();
    expectInjectedCause(stalled!, 'ENOSPC');
    await rejectsWith(db.flush(), 'ErrInsufficientDiskSpace', 'flush() with every memtable full');
    expect(db.stats().failed).toBeUndefined();
    await expectContents(db, acked, 'reads while the disk is full');
    expect(await strayTables(mem, db), 'a failed flush removes its partial table').toEqual([]);
    const tries = fs.stats().faults.write;
    for (let t0 = Date.now(); fs.stats().faults.write === tries && Date.now() - t0 < 5000; ) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fs.stats().faults.write, 'the flusher retries in the background (backoff of at most 2 s)').toBeGreaterThan(tries);

    fs.removeRule(full); // space freed
    // The flusher retries with a backoff (at most 2 s): writers get ErrInsufficientDiskSpace
    // until its next attempt, then go through.
    await eventually(() => db.put('after', 'freed'), 'a write once space is freed');
    acked.set('after', 'freed');
    await eventually(() => db.flush(), 'flush() once space is freed');
    expect(db.stats().memtables.immutable).toBe(0);
    for (let i = 3000; i < 3200; i++) {
      await db.put(key(i), value(i));
      acked.set(key(i), value(i));
    }
    await db.flush();
    await expectContents(db, acked, 'after space was freed');
    expect(await strayTables(mem, db)).toEqual([]);
    await db.close();
    expect(fs.openHandles(), 'files left open after close').toEqual([]);
    expect([...(await reopenContents(mem, TINY))].sort(), 'reopened').toEqual([...acked].sort());
    countFaults(fs);
  });

  it('ENOSPC during compaction: stalled writers get ErrInsufficientDiskSpace, the compactor retries, and after space is freed everything compacts', async () => {
    // Compaction writes through its own view of the disk, which is full; flushes are not.
    const mem = new MemoryFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 2 });
    const compactionFs = new FaultFileSystem(mem, { seed: 3 });
    const runner: CompactionRunner = { sharedMemtables: false, run: (_fs, job) => runCompaction(compactionFs, job), close: async () => undefined };
    const options: Options = { path: PATH, fs, ...TINY };
    const db = await openWith(options, undefined, () => runner);
    const full = compactionFs.addRule({ fault: 'ENOSPC', kind: 'write', times: Infinity });
    const acked: Expected = new Map();
    let stalled: SettError | undefined;
    for (let i = 0; i < 5000 && stalled === undefined; i++) {
      try {
        await withTimeout(db.put(key(i % 700), value(i)), 10_000, `put ${i}`);
        acked.set(key(i % 700), value(i));
      } catch (e) {
        expect(codeOf(e), 'a writer stalled behind compactions that cannot run').toBe('ErrInsufficientDiskSpace');
        stalled = e as SettError;
      }
    }
    expect(stalled, 'L0 should have reached the stall limit').toBeDefined();
    expectInjectedCause(stalled!, 'ENOSPC');
    expect(db.stats().levels[0]!.tables).toBeGreaterThanOrEqual(TINY.l0StallTables!);
    expect(db.stats().compactionFailures).toBeGreaterThan(0);
    await rejectsWith(db.compactRange(), 'ErrInsufficientDiskSpace', 'compactRange() on a full disk');
    expect(db.stats().failed).toBeUndefined();
    await expectContents(db, acked, 'reads while the disk is full');
    expect(await strayTables(mem, db), 'a failed compaction removes its partial outputs').toEqual([]);

    compactionFs.removeRule(full); // space freed
    // The compactor retries after a short pause: until then a stalled writer still hears
    // ErrInsufficientDiskSpace; after it, writes go through.
    for (let i = 5000; i < 5600; i++) {
      await eventually(() => db.put(key(i % 700), value(i)), `put ${i} after space was freed`);
      acked.set(key(i % 700), value(i));
    }
    await withTimeout(db.compactRange(), 10_000, 'compactRange() after space was freed');
    expect(db.stats().levels[0]!.tables, 'L0 drained').toBe(0);
    await expectContents(db, acked, 'after space was freed');
    expect(await strayTables(mem, db)).toEqual([]);
    await db.close();
    expect(fs.openHandles(), 'files left open after close').toEqual([]);
    expect([...(await reopenContents(mem, TINY))].sort(), 'reopened').toEqual([...acked].sort());
    countFaults(fs, compactionFs);
  });
});

describe('torn writes', () => {
  it('torn WAL write (short write) is cut back and the next write succeeds', async () => {
    const { mem, fs, db } = await rig(TINY, 7);
    const acked: Expected = new Map();
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 5; i++) {
        await db.put(key(round * 10 + i), value(i), { sync: i === 4 });
        acked.set(key(round * 10 + i), value(i));
      }
      fs.addRule({ fault: 'torn', kind: 'write', path: /\.wal$/ });
      const e = await rejectsWith(db.put(key(round * 10 + 5), value(5), { sync: round % 2 === 0 }), 'ErrIO', 'the torn append');
      expectInjectedCause(e, 'EIO');
      await db.put(key(round * 10 + 6), value(6), { sync: true });
      acked.set(key(round * 10 + 6), value(6));
      expect(db.stats().failed).toBeUndefined();
    }
    await expectContents(db, acked, 'after torn appends');
    await db.close();
    expect(fs.openHandles(), 'files left open after close').toEqual([]);
    expect([...(await reopenContents(mem, TINY))].sort(), 'reopened: torn writes are gone, the rest is whole').toEqual([...acked].sort());
    // Crash clones: synced writes survive; the torn bytes never make a record.
    for (let seed = 1; seed <= 6; seed++) expectSubset(await reopenContents(mem.crashClone({ seed }), TINY), acked, `crash clone ${seed}`);
    expect(countFaults(fs)).toBe(10);
  });

  it('torn WAL write of a group: a crash after the failure never brings back the writes reported as failed', async () => {
    // Found by the metamorphic test (seed 340461863): two writers share one append; the part
    // that landed held the first one's whole record. The writer cut it back, but the cut was not
    // durable, and a crash that kept the torn write brought the "failed" write back.
    const { mem, fs, db } = await rig(TINY);
    await db.put('before', '1', { sync: true });
    fs.addRule({ fault: 'torn', kind: 'write', path: /\.wal$/, tornBytes: 100 });
    const first = db.put('a', '1'); // a record of a few dozen bytes: whole within the 100
    const second = db.put('b', 'x'.repeat(300)); // cut inside
    await rejectsWith(first, 'ErrIO', 'the first write of the torn group');
    await rejectsWith(second, 'ErrIO', 'the second write of the torn group');
    for (let seed = 1; seed <= 24; seed++) {
      const crashed = await reopenContents(mem.crashClone({ seed, keepUnsynced: 'random' }), TINY);
      expect([...crashed], `crash clone ${seed}`).toEqual([['before', '1']]);
    }
    await db.put('after', '2');
    await db.close();
    expect(fs.openHandles(), 'files left open after close').toEqual([]);
    expect([...(await reopenContents(mem, TINY))].sort()).toEqual([
      ['after', '2'],
      ['before', '1'],
    ]);
    countFaults(fs);
  });

  it('torn WAL write that cannot be cut back fails the store', async () => {
    const { mem, fs, db } = await rig(TINY);
    await db.put('a', '1', { sync: true });
    fs.addRule({ fault: 'torn', kind: 'write', path: /\.wal$/ });
    fs.addRule({ fault: 'EIO', kind: 'truncate', path: /\.wal$/ });
    const failure = await rejectsWith(db.put('b', '2'), 'ErrStoreFailed', 'a torn append that could not be cut back');
    await expectWritesRefused(db, failure);
    expect(fromUtf8(db.getSync('a')!)).toBe('1');
    await db.close();
    const reopened = await reopenContents(mem, TINY);
    expect(reopened.get('a')).toBe('1');
    expect(reopened.has('b'), 'the torn record is cut on open').toBe(false);
    countFaults(fs);
  });
});

describe('damage on read', () => {
  it('bit flip on a table read gives ErrCorruption naming the file and offset, never a wrong value', async () => {
    const options: Partial<Options> = { ...TINY, memtableSize: 64 * 1024, blockCacheSize: 0, disableAutoCompaction: true };
    const { mem, fs, db } = await rig(options, 11);
    const want: Expected = new Map();
    for (let i = 0; i < 400; i++) {
      await db.put(key(i), value(i));
      want.set(key(i), value(i));
      if (i % 100 === 99) await db.flush();
    }
    await db.close();
    const tables = mem.listAllSync().filter((p) => p.endsWith('.sst'));
    expect(tables.length).toBe(4);
    const reader = await open({ path: PATH, fs, ...options });
    fs.addRule({ fault: 'bitflip', kind: 'read', path: /\.sst$/, probability: 0.3, times: Infinity });
    let right = 0;
    let detected = 0;
    const check = (e: unknown, what: string): void => {
      expect(e, `${what}: ${String(e)}`).toBeInstanceOf(ErrCorruption);
      const c = e as ErrCorruption;
      expect(tables, `${what}: names a table`).toContain(c.file);
      expect(c.offset, `${what}: names an offset`).toBeTypeOf('number');
      expect(c.message).toContain(`${c.file} at offset ${c.offset}`);
      detected++;
    };
    for (let pass = 0; pass < 3; pass++) {
      for (const [k, v] of want) {
        try {
          const got = reader.getSync(k);
          expect(got === undefined ? undefined : fromUtf8(got), `get ${k}`).toBe(v);
          right++;
        } catch (e) {
          check(e, `get ${k}`);
        }
      }
      for (const reverse of [false, true]) {
        const expected = [...want].sort(([a], [b]) => (a < b ? -1 : 1));
        if (reverse) expected.reverse();
        const got: [string, string][] = [];
        try {
          for (const [k, v] of reader.iterator({ reverse })) got.push([fromUtf8(k), fromUtf8(v)]);
          expect(got, 'a scan that succeeds returns everything').toEqual(expected);
        } catch (e) {
          check(e, `scan (reverse ${reverse})`);
          expect(got, 'what a scan returned before it failed is right').toEqual(expected.slice(0, got.length));
        }
      }
    }
    expect(right, 'most reads succeed').toBeGreaterThan(want.size);
    expect(detected, 'some reads saw a flipped bit').toBeGreaterThan(20);
    fs.clearRules();
    await expectContents(reader, want, 'once the reads are clean again');
    await reader.close();
    figures.add('corrupted files detected', detected);
    countFaults(fs);
  });

  it('EIO on a table read gives ErrIO naming the table, never a wrong value, and the next read works', async () => {
    const options: Partial<Options> = { ...TINY, memtableSize: 64 * 1024, blockCacheSize: 0, disableAutoCompaction: true };
    const { mem, fs, db } = await rig(options, 13);
    const want: Expected = new Map();
    for (let i = 0; i < 300; i++) {
      await db.put(key(i), value(i));
      want.set(key(i), value(i));
    }
    await db.flush();
    await db.close();
    const table = mem.listAllSync().find((p) => p.endsWith('.sst'))!;
    const reader = await open({ path: PATH, fs, ...options });
    fs.addRule({ fault: 'EIO', kind: 'read', path: /\.sst$/, probability: 0.2, times: Infinity });
    let failed = 0;
    for (const [k, v] of want) {
      try {
        const got = reader.getSync(k);
        expect(got === undefined ? undefined : fromUtf8(got), `get ${k}`).toBe(v);
      } catch (e) {
        expect(codeOf(e), `get ${k}: ${String(e)}`).toBe('ErrIO');
        expect((e as SettError).message).toContain(table);
        expectInjectedCause(e as SettError, 'EIO');
        failed++;
      }
    }
    const got: [string, string][] = [];
    try {
      for (const [k, v] of reader.iterator()) got.push([fromUtf8(k), fromUtf8(v)]);
    } catch (e) {
      expect(codeOf(e)).toBe('ErrIO');
      failed++;
    }
    expect(got).toEqual([...want].sort().slice(0, got.length));
    expect(failed, 'some reads failed').toBeGreaterThan(10);
    fs.clearRules();
    await expectContents(reader, want, 'once reads work again');
    expect(reader.stats().failed, 'a failed read does not fail the store').toBeUndefined();
    await reader.close();
    countFaults(fs);
  });

  it('verify() reports every damaged table block, WAL record and manifest record', async () => {
    const options: Partial<Options> = { ...TINY, memtableSize: 16 * 1024, blockCacheSize: 0, disableAutoCompaction: true, manifestRewriteBytes: 1024 * 1024 };
    const mem = new MemoryFileSystem();
    let db = await open({ path: PATH, fs: mem, ...options });
    for (let i = 0; i < 300; i++) {
      await db.put(key(i), value(i));
      if (i % 60 === 59) await db.flush();
    }
    for (let i = 300; i < 330; i++) await db.put(key(i), value(i));
    await db.close();
    // Open first: the open reads the WAL and the manifest; damage comes after, as bit rot would.
    db = await open({ path: PATH, fs: mem, ...options });
    const report0 = await db.verify();
    expect(report0.problems).toEqual([]);
    const wal = mem.listAllSync().find((p) => p.endsWith('.wal'))!;
    const manifest = mem.listAllSync().find((p) => p.includes('MANIFEST-'))!;
    const tables = mem.listAllSync().filter((p) => p.endsWith('.sst'));
    expect(tables.length).toBeGreaterThanOrEqual(4);

    const damaged: { file: string; offset: number }[] = [];
    // Logs: every other data record from the second on, including the last one (a complete
    // last record that fails its checksum is damage, not a torn tail).
    for (const log of [wal, manifest]) {
      const data = mem.readFileSync(log);
      const starts: number[] = [];
      for (let pos = 0; pos + 9 <= data.length; pos += 9 + getU32(data, pos + 4)) starts.push(pos);
      expect(starts.length, log).toBeGreaterThanOrEqual(5);
      const picks = [starts[2]!, starts[4]!, starts[starts.length - 1]!];
      for (const at of new Set(picks)) {
        mem.corruptByte(log, at + 12, 0x04); // a payload byte
        damaged.push({ file: log, offset: at });
      }
    }
    // Tables: one data block in each of the first three tables (blocks start at offset 0).
    for (const t of tables.slice(0, 3)) {
      mem.corruptByte(t, 3, 0x20);
      damaged.push({ file: t, offset: 0 });
    }
    const report = await db.verify();
    const found = report.problems.map((p) => ({ file: p.file, offset: p.offset }));
    expect(found.sort(byPlace), report.problems.map((p) => `${p.file}@${p.offset}: ${p.message}`).join('\n')).toEqual([...damaged].sort(byPlace));
    expect(report.ok).toBe(false);
    await db.close();
    figures.add('corrupted files detected', new Set(damaged.map((d) => d.file)).size);
  });
});

function byPlace(a: { file: string; offset: number }, b: { file: string; offset: number }): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.offset - b.offset;
}

describe('faults while opening', () => {
  /** A closed store with tables in several levels, a manifest of several edits, a WAL, and leftovers to clean up. */
  async function closedStore(): Promise<{ mem: MemoryFileSystem; want: Expected }> {
    const mem = new MemoryFileSystem();
    const db = await open({ path: PATH, fs: mem, ...TINY });
    const want: Expected = new Map();
    for (let i = 0; i < 400; i++) {
      await db.put(key(i % 150), value(i));
      want.set(key(i % 150), value(i));
    }
    await db.close();
    mem.writeFileSync(`${PATH}/leftover.tmp`, new Uint8Array(10));
    mem.writeFileSync(`${PATH}/999999.sst`, new Uint8Array(100)); // an orphan table
    return { mem, want };
  }

  const KINDS: FsOpKind[] = ['mkdir', 'open', 'read', 'write', 'sync', 'truncate', 'rename', 'remove', 'list', 'syncDir', 'lock'];
  const WRITING: FsOpKind[] = ['write', 'sync', 'truncate', 'rename', 'syncDir'];

  /**
   * Fails the nth operation of each kind an open makes (every one for the first 20, then every
   * 7th), one open per fault: the open must succeed with the right data or fail with a named
   * error, and the next open without faults must find the data intact.
   */
  async function faultEachOperation(fault: 'EIO' | 'ENOSPC', scenario: 'existing store' | 'new store'): Promise<{ injected: number; refused: number }> {
    const { mem, want } = scenario === 'existing store' ? await closedStore() : { mem: new MemoryFileSystem(), want: new Map<string, string>() };
    const allowed = fault === 'EIO' ? ['ErrIO'] : ['ErrInsufficientDiskSpace'];
    let injected = 0;
    let refused = 0;
    for (const kind of fault === 'EIO' ? KINDS : WRITING) {
      for (let nth = 1; ; nth += nth < 20 ? 1 : 7) {
        const copy = mem.crashClone({ seed: nth, keepUnsynced: 'all' });
        const fs = new FaultFileSystem(copy);
        const id = fs.addRule({ fault, kind, nth });
        const what = `${scenario}, ${fault} on ${kind} #${nth}`;
        let db: DB | undefined;
        try {
          db = await withTimeout(open({ path: PATH, fs, ...TINY }), 10_000, `open, ${what}`);
        } catch (e) {
          expect(e, `${what}: ${String(e)}`).toBeInstanceOf(SettError);
          expect(allowed, `${what}: ${String(e)}`).toContain((e as SettError).code);
          expect((e as SettError).message, `${what}: names the path`).toContain(PATH);
          refused++;
        }
        const fired = fs.ruleState(id)!.fired > 0;
        fs.clearRules();
        if (db !== undefined) {
          // An open that got past the fault (a leftover it could not remove) is whole.
          await expectContents(db, want, `${what}, open succeeded`);
          await db.close();
        }
        // A failed open closes every file it opened (in the browser an open OPFS handle locks
        // its file until closed); so does a successful open, once closed.
        expect(fs.openHandles(), `${what}: files left open`).toEqual([]);
        if (!fired) break; // no more operations of this kind
        injected++;
        // The next open (of the state the failed open left, or after a power failure) is whole.
        expect([...(await reopenContents(copy.crashClone({ seed: nth, keepUnsynced: 'all' }), TINY))].sort(), `${what}: the next open`).toEqual([...want].sort());
        expect([...(await reopenContents(copy.crashClone({ seed: nth, keepUnsynced: 'random' }), TINY))].sort(), `${what}: the next open after a crash`).toEqual([...want].sort());
      }
    }
    return { injected, refused };
  }

  for (const fault of ['EIO', 'ENOSPC'] as const) {
    for (const scenario of ['existing store', 'new store'] as const) {
      it(`${fault} on ${fault === 'EIO' ? 'any' : 'a writing'} file-system operation while opening ${scenario === 'new store' ? 'a new' : 'an existing'} store gives a named error, never a crash or a hang, and leaves the data intact for the next open`, async () => {
        const { injected, refused } = await faultEachOperation(fault, scenario);
        expect(injected).toBeGreaterThan(5);
        expect(refused).toBeGreaterThan(0);
        figures.add('faults injected', injected);
      });
    }
  }
});
