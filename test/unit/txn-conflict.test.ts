import { describe, expect, it } from 'vitest';
import { ErrConflict } from '../../src/api/errors.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { openMem, s } from '../helpers/db.js';

describe('transactions: serializable conflicts', () => {
  it('write skew on point reads is prevented', async () => {
    // Two doctors on call; each goes off call if the other is still on: one must fail.
    const { db } = await openMem();
    await db.put('alice', 'on');
    await db.put('bob', 'on');
    const t1 = db.transaction();
    const t2 = db.transaction();
    expect(s((await t1.get('bob'))!)).toBe('on');
    t1.put('alice', 'off');
    expect(s((await t2.get('alice'))!)).toBe('on');
    t2.put('bob', 'off');
    const results = await Promise.allSettled([t1.commit(), t2.commit()]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ErrConflict);
    const on = ['alice', 'bob'].filter((k) => s(db.getSync(k)!) === 'on');
    expect(on.length).toBe(1);
    await db.close();
  });

  it('write skew through a range scan is prevented (an insert into a scanned gap conflicts)', async () => {
    const { db } = await openMem();
    await db.put('shift/1', 'x');
    // Each transaction: if fewer than 2 shifts exist, add one. Both scan, both insert.
    const t1 = db.transaction();
    const t2 = db.transaction();
    expect(t1.iterator({ prefix: 'shift/' }).allSync().length).toBe(1);
    expect(t2.iterator({ prefix: 'shift/' }).allSync().length).toBe(1);
    t1.put('shift/2', 'a');
    t2.put('shift/3', 'b');
    await t1.commit();
    await expect(t2.commit()).rejects.toBeInstanceOf(ErrConflict);
    expect(db.iterator({ prefix: 'shift/' }).allSync().length).toBe(2);

    // A write outside the scanned range does not conflict; neither does an exclusive bound.
    const t3 = db.transaction();
    t3.iterator({ gt: 'shift/1', lt: 'shift/3' }).allSync();
    t3.put('other', '1');
    await db.put('shift/3', 'outside (exclusive upper)');
    await db.put('shift/1', 'outside (exclusive lower)');
    await t3.commit();
    const t4 = db.transaction();
    t4.iterator({ gt: 'shift/1', lt: 'shift/3' }).allSync();
    t4.put('other', '2');
    await db.put('shift/2x', 'inside');
    await expect(t4.commit()).rejects.toBeInstanceOf(ErrConflict);
    await db.close();
  });

  it('a scan that stopped early (limit, or closed) conflicts only up to the last key it read', async () => {
    const { db } = await openMem();
    for (const k of ['a', 'c', 'e', 'g']) await db.put(k, '0');
    const limited = db.transaction();
    expect(limited.iterator({ gte: 'b', limit: 1 }).allSync().map(([k]) => s(k))).toEqual(['c']);
    limited.put('1', 'outside every scanned range');
    const closed = db.transaction();
    for (const [k] of closed.iterator({ reverse: true })) if (s(k) === 'g') break; // read only 'g'
    closed.put('2', '1');
    const open = db.transaction();
    const it = open.iterator({ gte: 'b', limit: 1 });
    await db.put('f', 'beyond c, before e'); // neither read 'f'... except `open`, still iterating
    await db.put('a', 'before b');
    await limited.commit();
    await closed.commit();
    it.nextSync();
    await expect((async () => { open.put('3', '1'); await open.commit(); })()).rejects.toBeInstanceOf(ErrConflict);
    const t = db.transaction();
    t.iterator({ gte: 'b', limit: 1 }).allSync();
    t.put('4', '2');
    await db.put('b', 'inside what it read');
    await expect(t.commit()).rejects.toBeInstanceOf(ErrConflict);
    await db.close();
  });

  it('16 concurrent "insert if absent" transactions on one key: exactly one succeeds', async () => {
    const { db } = await openMem();
    const attempts = Array.from({ length: 16 }, async (_, i) => {
      const t = db.transaction();
      await new Promise((r) => setTimeout(r, i % 3)); // spread them over several groups
      if (await t.has('singleton')) {
        t.rollback();
        return 'present';
      }
      t.put('singleton', `writer-${i}`);
      await t.commit();
      return 'inserted';
    });
    const results = await Promise.allSettled(attempts);
    const inserted = results.filter((r) => r.status === 'fulfilled' && r.value === 'inserted').length;
    const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof ErrConflict).length;
    expect(inserted).toBe(1);
    expect(inserted + conflicts + results.filter((r) => r.status === 'fulfilled' && r.value === 'present').length).toBe(16);
    expect(db.getSync('singleton')).toBeDefined();
    await db.close();
  });

  it('the same in one commit group: validation sees earlier writes of the group', async () => {
    const { db } = await openMem();
    const txns = Array.from({ length: 8 }, () => db.transaction());
    for (const [i, t] of txns.entries()) {
      expect(await t.get('k')).toBeUndefined();
      t.put('k', String(i));
    }
    // All commits are queued in the same turn, so they share one group.
    const results = await Promise.allSettled(txns.map((t) => t.commit()));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(s(db.getSync('k')!)).toBe('0');
    await db.close();
  });

  it('blind writes never conflict; read-only transactions never conflict', async () => {
    const { db } = await openMem();
    await db.put('k', '0');
    const blind = db.transaction();
    blind.put('k', 'blind');
    const ro = db.transaction({ readOnly: true });
    expect(s((await ro.get('k'))!)).toBe('0');
    await db.put('k', 'other');
    await blind.commit();
    await ro.commit();
    expect(s(db.getSync('k')!)).toBe('blind');
    await db.close();
  });

  it('a plain put or batch after the read version conflicts; one before it does not', async () => {
    const { db } = await openMem();
    await db.put('k', '0');
    const t = db.transaction();
    await t.get('k');
    await db.batch([{ type: 'put', key: 'k', value: '1' }]);
    t.put('j', 'x');
    await expect(t.commit()).rejects.toBeInstanceOf(ErrConflict);
    await db.put('k', '2');
    const t2 = db.transaction();
    await t2.get('k');
    t2.put('k', '3');
    await t2.commit();
    expect(s(db.getSync('k')!)).toBe('3');
    await db.close();
  });

  it('write sets are released once no open transaction can need them', async () => {
    const { db } = await openMem();
    const oracle = (db as unknown as { oracle: { recordCount: number } }).oracle;
    const long = db.transaction();
    await long.get('x');
    for (let i = 0; i < 50; i++) await db.put(`k${i}`, 'v');
    expect(oracle.recordCount).toBe(50);
    long.rollback();
    expect(oracle.recordCount).toBe(0);
    for (let i = 0; i < 50; i++) await db.update((t) => t.put(`k${i}`, 'w'));
    expect(oracle.recordCount).toBeLessThanOrEqual(1);
    await db.close();
  });

  it('a committed transaction survives reopen whole', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs);
    await db.update((t) => {
      for (let i = 0; i < 100; i++) t.put(`k${i}`, `v${i}`);
    }, { sync: true });
    await db.close();
    const { db: db2 } = await openMem(fs);
    expect(db2.iterator().allSync().length).toBe(100);
    await db2.close();
  });
});

describe('transactions: a failed WAL append', () => {
  it('writes of a failed group do not count as committed; their versions are reused', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const { db } = await openMem(fs as unknown as MemoryFileSystem);
    await db.put('k', '0');
    const t = db.transaction();
    await t.get('k');
    t.put('j', 'x');
    fs.addRule({ kind: 'write', path: '.wal', fault: 'ENOSPC' });
    await expect(db.put('k', 'lost')).rejects.toMatchObject({ code: 'ErrInsufficientDiskSpace' });
    await db.put('other', '1'); // reuses the failed write's version
    await t.commit(); // 'k' was never changed: no conflict
    expect(s(db.getSync('k')!)).toBe('0');
    expect(s(db.getSync('j')!)).toBe('x');
    await db.close();
  });
});
