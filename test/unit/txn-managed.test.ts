/**
 * Managed versions (src/txn/managed.ts): commits at caller-chosen versions, reads at chosen
 * versions within the kept history, the persisted discard version, and the allVersions /
 * sinceVersion iterator options.
 */
import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../src/codec/bytes.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import type { DB } from '../../src/api/db.js';
import type { VersionEntry } from '../../src/txn/versions.js';
import { openMem, s, TINY } from '../helpers/db.js';

const show = (e: VersionEntry): string => `${s(e.key)}@${e.version}=${e.deleted ? '<del>' : s(e.value!)}`;

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  if (pattern !== undefined) expect((err as Error).message).toMatch(pattern);
}

function throwsWith(fn: () => unknown, code: string, pattern?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe(code);
  if (pattern !== undefined) expect((err as Error).message).toMatch(pattern);
}

/** Commits block `h`: account balances as of that height, plus a per-block key. */
async function commitBlock(db: DB, h: number, sync = false): Promise<void> {
  const txn = db.transaction();
  txn.put(`acct/${h % 7}`, `h${h}`);
  txn.put(`block/${String(h).padStart(4, '0')}`, `b${h}`);
  if (h % 5 === 0) txn.delete(`acct/${(h + 3) % 7}`);
  await txn.commit({ version: h, sync });
}

/** What the accounts hold after block `h` (the model of commitBlock). */
function accountsAt(h: number): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 1; i <= h; i++) {
    m.set(`acct/${i % 7}`, `h${i}`);
    if (i % 5 === 0) m.delete(`acct/${(i + 3) % 7}`);
  }
  return m;
}

async function accountsViewAt(db: DB, h: number): Promise<Map<string, string>> {
  return db.view((t) => new Map([...t.iterator({ prefix: 'acct/' })].map(([k, v]) => [fromUtf8(k), fromUtf8(v)])), { readVersion: h });
}

describe('managed versions', () => {
  it('commits every write of a transaction at the chosen version; versions may jump', async () => {
    const { db } = await openMem(undefined, { managedVersions: true });
    const t = db.transaction();
    t.put('a', '1');
    t.put('b', '1');
    t.delete('c');
    await t.commit({ version: 10 });
    expect(db.lastVersion).toBe(10);
    await db.update((x) => x.put('a', '2'), { version: 25 });
    expect(db.lastVersion).toBe(25);
    // An ordinary write takes the next version after the jump.
    await db.put('z', 'auto');
    expect(db.lastVersion).toBe(26);
    expect(db.iterator({ allVersions: true }).allSync().map(show)).toEqual(['a@25=2', 'a@10=1', 'b@10=1', 'c@10=<del>', 'z@26=auto']);
    await db.close();
  });

  it('a commit version not above the last one is ErrInvalidVersion and writes nothing', async () => {
    const { db } = await openMem(undefined, { managedVersions: true });
    await db.update((x) => x.put('a', '1'), { version: 5 });
    const t = db.transaction();
    t.put('a', 'stale');
    await rejectsWith(t.commit({ version: 5 }), 'ErrInvalidVersion', /not above the last version written \(5\)/);
    expect(t.closed).toBe(true);
    expect(s(db.getSync('a')!)).toBe('1');
    // Two commits in one group: the later one, with a lower version, is refused alone.
    const hi = db.transaction();
    hi.put('h', 'x');
    const lo = db.transaction();
    lo.put('l', 'x');
    const [rh, rl] = await Promise.allSettled([hi.commit({ version: 9 }), lo.commit({ version: 7 })]);
    expect(rh.status).toBe('fulfilled');
    expect(rl.status).toBe('rejected');
    expect(((rl as PromiseRejectedResult).reason as { code: string }).code).toBe('ErrInvalidVersion');
    expect(db.getSync('l')).toBeUndefined();
    // Out-of-range arguments are refused before anything is queued.
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER, '3' as unknown as number]) {
      const x = db.transaction();
      x.put('q', 'x');
      await rejectsWith(x.commit({ version: bad }), 'ErrInvalidVersion', /must be an integer/);
      expect(x.closed).toBe(false);
      x.rollback();
    }
    await db.close();
  });

  it('block heights: a view at every height reads that height, through flushes and compactions, forward and reverse', async () => {
    const { db } = await openMem(undefined, { ...TINY, memtableSize: 16 * 1024, managedVersions: true });
    for (let h = 1; h <= 120; h++) await commitBlock(db, h);
    await db.flatten();
    for (let h = 1; h <= 120; h++) {
      expect(await accountsViewAt(db, h), `height ${h}`).toEqual(accountsAt(h));
      const rev = await db.view((t) => t.iterator({ prefix: 'block/', reverse: true, limit: 1 }).allSync(), { readVersion: h });
      expect(s(rev[0]![1])).toBe(`b${h}`);
    }
    expect(db.stats().levels.some((l) => l.level > 0 && l.tables > 0)).toBe(true);
    await db.close();
  });

  it('setDiscardVersion lets compaction drop history at or below it; reads below it are refused; it persists', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs, { ...TINY, memtableSize: 16 * 1024, managedVersions: true });
    expect(db.discardVersion).toBe(0);
    for (let h = 1; h <= 60; h++) await commitBlock(db, h);
    await db.setDiscardVersion(40);
    expect(db.discardVersion).toBe(40);
    await db.flatten();
    // History at and above the discard version is intact; below it is gone and refused.
    for (let h = 40; h <= 60; h++) expect(await accountsViewAt(db, h)).toEqual(accountsAt(h));
    throwsWith(() => db.transaction({ readVersion: 39 }), 'ErrInvalidVersion', /below 40/);
    const kept = db.iterator({ allVersions: true, prefix: 'acct/' }).allSync();
    expect(kept.some((e) => e.version < 40 && kept.some((n) => s(n.key) === s(e.key) && n.version <= 40 && n.version > e.version))).toBe(false);
    // It only grows and never passes the last version.
    await rejectsWith(db.setDiscardVersion(30), 'ErrInvalidVersion', /only grows/);
    await rejectsWith(db.setDiscardVersion(61), 'ErrInvalidVersion', /above the last version/);
    await rejectsWith(db.setDiscardVersion(1.5), 'ErrInvalidVersion', /must be an integer/);
    await db.close();
    // Reopened without the option: the persisted discard version still binds compaction.
    const { db: again } = await openMem(fs, { ...TINY, memtableSize: 16 * 1024 });
    expect(again.discardVersion).toBe(40);
    for (let h = 61; h <= 80; h++) await commitBlock(again, h);
    await again.flatten();
    for (let h = 40; h <= 80; h++) expect(await accountsViewAt(again, h)).toEqual(accountsAt(h));
    await again.close();
  });

  it('without managed versions, a read version must lie within the history still kept', async () => {
    const { db } = await openMem(undefined, TINY);
    for (let i = 0; i < 200; i++) await db.put(`k${i % 20}`, `v${i}`);
    const old = db.lastVersion - 100;
    await db.flatten();
    throwsWith(() => db.transaction({ readVersion: old }), 'ErrInvalidVersion', /managedVersions: true/);
    throwsWith(() => db.transaction({ readVersion: db.lastVersion + 1 }), 'ErrInvalidVersion', /above the last version/);
    // A snapshot keeps history: reading at its version stays allowed and correct.
    const snap = db.snapshot();
    const expected = [...db.iterator()].map(([k, v]) => `${s(k)}=${s(v)}`);
    for (let i = 0; i < 200; i++) await db.put(`k${i % 20}`, `w${i}`);
    await db.flatten();
    const seen = await db.view((t) => [...t.iterator()].map(([k, v]) => `${s(k)}=${s(v)}`), { readVersion: snap.version });
    expect(seen).toEqual(expected);
    snap.release();
    await rejectsWith(db.setDiscardVersion(0), 'ErrInvalidVersion', /managedVersions: true/);
    await db.close();
  });

  it('a transaction at an older read version conflicts with writes after it; blind writes still commit', async () => {
    const { db } = await openMem(undefined, { managedVersions: true });
    await db.update((t) => t.put('bal', '10'), { version: 1 });
    await db.update((t) => t.put('bal', '20'), { version: 2 });
    // Reads at 1 what 2 overwrote: conflict, even though the write came before it began.
    const t = db.transaction({ readVersion: 1 });
    expect(s(t.getSync('bal')!)).toBe('10');
    t.put('bal', '11');
    await rejectsWith(t.commit({ version: 3 }), 'ErrConflict');
    const blind = db.transaction({ readVersion: 1 });
    blind.put('other', 'x');
    await blind.commit({ version: 3 });
    // Reading a key nobody wrote since: no conflict while the writes after it are still tracked.
    const r1 = db.transaction({ readVersion: 3 });
    const r2 = db.transaction({ readVersion: 3 });
    r1.getSync('untouched');
    r1.put('untouched', '1');
    r2.put('elsewhere', '1');
    await r2.commit({ version: 4 });
    await r1.commit({ version: 5 });
    expect(s(db.getSync('untouched')!)).toBe('1');
    await db.close();
  });

  it('recovery replays commits at chosen versions across WAL files', async () => {
    const fs = new MemoryFileSystem();
    const opts = { memtableSize: 16 * 1024, managedVersions: true, disableAutoCompaction: true };
    const { db } = await openMem(fs, opts);
    const clones: MemoryFileSystem[] = [];
    for (let h = 1; h <= 60; h++) {
      await db.update((t) => t.put(`k${h}`, 'x'.repeat(600)), { version: h * 10, sync: true });
      clones.push(fs.crashClone({ seed: h, keepUnsynced: 'none' }));
    }
    let multiWal = 0;
    for (const [i, clone] of clones.entries()) {
      const wals = (await clone.list('/db')).filter((n) => n.endsWith('.wal'));
      if (wals.length > 1) multiWal++;
      const { db: r } = await openMem(clone, opts);
      expect(r.lastVersion).toBe((i + 1) * 10);
      expect([...r.iterator({ keysOnly: true })].length).toBe(i + 1);
      await r.close();
    }
    expect(multiWal, 'some crash points should replay more than one WAL').toBeGreaterThan(0);
    await db.close();
  });

  it('a WAL missing between two others is ErrCorruption, also when versions jump', async () => {
    const mem = new MemoryFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 1 });
    // Flushes cannot create tables, so sealed memtables and their WALs pile up.
    fs.addRule({ fault: 'ENOSPC', kind: 'open', path: /\.sst$/, times: Infinity });
    const opts = { memtableSize: 16 * 1024, maxImmutableMemtables: 4, managedVersions: true };
    const db = await open({ path: '/db', fs, ...opts });
    const wals = async (): Promise<string[]> => (await mem.list('/db')).filter((n) => n.endsWith('.wal')).sort();
    for (let h = 1; (await wals()).length < 3; h++) {
      await db.update((t) => t.put(`k${h}`, 'x'.repeat(600)), { version: h * 10, sync: true });
    }
    const clone = mem.crashClone({ seed: 1, keepUnsynced: 'none' });
    await clone.remove(`/db/${(await wals())[1]!}`);
    await rejectsWith(openMem(clone, opts), 'ErrCorruption', /writes between them are missing/);
    await db.close();
  });
});

describe('allVersions and sinceVersion iterator options', () => {
  async function history(): Promise<{ db: DB; v0: number }> {
    const { db } = await openMem(undefined, { ...TINY, memtableSize: 64 * 1024 });
    const v0 = db.lastVersion;
    await db.put('a', '1'); // v0+1
    await db.put('b', '1'); // v0+2
    await db.put('a', '2'); // v0+3
    await db.delete('b'); // v0+4
    await db.put('c', '1'); // v0+5
    return { db, v0 };
  }

  it('allVersions streams every version with tombstones, forward and reverse, with bounds, since and limit', async () => {
    const { db, v0 } = await history();
    const snap = db.snapshot();
    await db.flush();
    expect(db.iterator({ allVersions: true }).allSync().map(show)).toEqual([`a@${v0 + 3}=2`, `a@${v0 + 1}=1`, `b@${v0 + 4}=<del>`, `b@${v0 + 2}=1`, `c@${v0 + 5}=1`]);
    expect(db.iterator({ allVersions: true, reverse: true }).allSync().map(show)).toEqual([`c@${v0 + 5}=1`, `b@${v0 + 2}=1`, `b@${v0 + 4}=<del>`, `a@${v0 + 1}=1`, `a@${v0 + 3}=2`]);
    expect(db.iterator({ allVersions: true, sinceVersion: v0 + 2, gte: 'b' }).allSync().map(show)).toEqual([`b@${v0 + 4}=<del>`, `c@${v0 + 5}=1`]);
    expect(db.iterator({ allVersions: true, reverse: true, lt: 'c', limit: 2 }).allSync().map(show)).toEqual([`b@${v0 + 2}=1`, `b@${v0 + 4}=<del>`]);
    expect(db.iterator({ allVersions: true, gt: 'a', lte: 'b', snapshot: snap }).allSync().map(show)).toEqual([`b@${v0 + 4}=<del>`, `b@${v0 + 2}=1`]);
    // Streaming: breaking out closes it and releases what it pinned.
    let n = 0;
    for await (const e of db.iterator({ allVersions: true })) {
      expect(e.version).toBeGreaterThan(v0);
      if (++n === 2) break;
    }
    expect(n).toBe(2);
    snap.release();
    await db.close();
  });

  it('sinceVersion on the plain iterator: keys changed after it, with their newest value, both directions', async () => {
    const { db, v0 } = await history();
    const pairs = (it: Iterable<[Uint8Array, Uint8Array]>): string[] => [...it].map(([k, v]) => `${s(k)}=${s(v)}`);
    expect(pairs(db.iterator({ sinceVersion: v0 + 2 }))).toEqual(['a=2', 'c=1']);
    expect(pairs(db.iterator({ sinceVersion: v0 + 2, reverse: true }))).toEqual(['c=1', 'a=2']);
    expect(pairs(db.iterator({ sinceVersion: v0 + 3 }))).toEqual(['c=1']);
    expect(pairs(db.iterator({ sinceVersion: v0 + 5 }))).toEqual([]);
    expect(() => db.iterator({ sinceVersion: -1 })).toThrow(/sinceVersion/);
    await db.close();
  });

  it('closing the store closes an open allVersions iterator; a transaction iterator refuses the options', async () => {
    const { db } = await history();
    const it = db.iterator({ allVersions: true });
    expect(it.nextSync()).toBeDefined();
    const t = db.transaction();
    expect(() => t.iterator({ allVersions: true } as never)).toThrow(/not of a transaction/);
    t.rollback();
    await db.close();
    throwsWith(() => it.nextSync(), 'ErrIteratorClosed');
  });
});

describe('managed versions: review findings', () => {
  it('after a reopen, a transaction reading at an old version conflicts if what it read may have changed since', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs, { managedVersions: true });
    await db.update((t) => t.put('k', 'old'), { version: 10 });
    await db.update((t) => t.put('k', 'new'), { version: 20 });
    await db.close();
    const { db: again } = await openMem(fs, { managedVersions: true });
    const t = again.transaction({ readVersion: 10 });
    expect(s(t.getSync('k')!)).toBe('old');
    t.put('derived', 'from-old');
    await rejectsWith(t.commit({ version: 21 }), 'ErrConflict');
    const blind = again.transaction({ readVersion: 10 });
    blind.put('other', 'x');
    await blind.commit({ version: 21 });
    await again.close();
  });

  it('a write that would pass the largest version is ErrInvalidVersion, and the store stays usable and reopens', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs, { managedVersions: true });
    const top = Number.MAX_SAFE_INTEGER - 1;
    await db.update((t) => t.put('a', '1'), { version: top });
    await rejectsWith(db.put('b', '2'), 'ErrInvalidVersion', /versions exhausted/);
    expect(s(db.getSync('a')!)).toBe('1');
    expect(db.getSync('b')).toBeUndefined();
    await db.close();
    const { db: again } = await openMem(fs, { managedVersions: true });
    expect(again.lastVersion).toBe(top);
    expect(s(again.getSync('a')!)).toBe('1');
    await again.close();
  });
});
