import { describe, expect, it } from 'vitest';
import { ErrConflict, ErrReadOnlyTxn, ErrTxnDone, ErrTxnTooBig } from '../../src/api/errors.js';
import { TXN_MEMTABLE_SHARE } from '../../src/txn/txn.js';
import { entriesToStrings, openMem, s, TINY } from '../helpers/db.js';

describe('transactions: read your own writes', () => {
  it('get and has see pending puts and deletes', async () => {
    const { db } = await openMem();
    await db.put('a', '1');
    await db.put('b', '2');
    const t = db.transaction();
    t.put('a', 'one');
    t.delete('b');
    t.put('c', '3');
    expect(s((await t.get('a'))!)).toBe('one');
    expect(await t.get('b')).toBeUndefined();
    expect(await t.has('b')).toBe(false);
    expect(await t.has('c')).toBe(true);
    // Nothing is visible outside before commit.
    expect(s(db.getSync('a')!)).toBe('1');
    expect(db.hasSync('c')).toBe(false);
    await t.commit();
    expect(s(db.getSync('a')!)).toBe('one');
    expect(db.getSync('b')).toBeUndefined();
    expect(s(db.getSync('c')!)).toBe('3');
    await db.close();
  });

  it('iterators merge pending writes, forward, reverse, bounded, limited and keys-only', async () => {
    const { db } = await openMem(undefined, { ...TINY, memtableSize: 64 * 1024 });
    for (const k of ['b', 'd', 'f', 'h']) await db.put(k, `db-${k}`);
    await db.flush();
    const t = db.transaction();
    t.put('a', 'new-a');
    t.delete('d');
    t.put('f', 'new-f');
    t.put('g', 'new-g');
    t.delete('zz'); // deleting an absent key hides nothing
    expect(entriesToStrings(t.iterator().allSync())).toEqual([
      ['a', 'new-a'],
      ['b', 'db-b'],
      ['f', 'new-f'],
      ['g', 'new-g'],
      ['h', 'db-h'],
    ]);
    expect(entriesToStrings(t.iterator({ reverse: true }).allSync()).map(([k]) => k)).toEqual(['h', 'g', 'f', 'b', 'a']);
    expect(entriesToStrings(t.iterator({ gt: 'b', lte: 'g' }).allSync()).map(([k]) => k)).toEqual(['f', 'g']);
    expect(entriesToStrings(t.iterator({ gte: 'b', reverse: true, limit: 2 }).allSync()).map(([k]) => k)).toEqual(['h', 'g']);
    const keysOnly = t.iterator({ keysOnly: true }).allSync();
    expect(keysOnly.map(([k]) => s(k))).toEqual(['a', 'b', 'f', 'g', 'h']);
    expect(keysOnly.every(([, v]) => v.length === 0)).toBe(true);
    t.rollback();
    expect(entriesToStrings(await db.iterator().all()).map(([k]) => k)).toEqual(['b', 'd', 'f', 'h']);
    await db.close();
  });

  it('reads stay at the read version while others write', async () => {
    const { db } = await openMem();
    await db.put('k', 'old');
    const t = db.transaction({ readOnly: true });
    await db.put('k', 'new');
    await db.put('k2', 'x');
    expect(s((await t.get('k'))!)).toBe('old');
    expect(t.iterator().allSync().length).toBe(1);
    t.rollback();
    await db.close();
  });

  it('TTL and userMeta: expired pending and committed entries are invisible', async () => {
    const { db } = await openMem();
    const t = db.transaction();
    t.put('live', 'v', { ttl: 3600, userMeta: 7 });
    t.put('dead', 'v', { expiresAt: 1 });
    expect(await t.has('dead')).toBe(false);
    expect(t.iterator().allSync().map(([k]) => s(k))).toEqual(['live']);
    await t.commit();
    expect(db.hasSync('live')).toBe(true);
    expect(db.hasSync('dead')).toBe(false);
    expect(() => db.transaction().put('x', 'v', { userMeta: 256 })).toThrow(RangeError);
    await db.close();
  });
});

describe('transactions: named errors', () => {
  it('use after commit or rollback is ErrTxnDone; a write in a read-only one is ErrReadOnlyTxn', async () => {
    const { db } = await openMem();
    const t = db.transaction();
    t.put('a', '1');
    await t.commit();
    expect(() => t.put('b', '2')).toThrow(ErrTxnDone);
    await expect(t.get('a')).rejects.toBeInstanceOf(ErrTxnDone);
    await expect(t.commit()).rejects.toMatchObject({ code: 'ErrTxnDone' });
    const r = db.transaction();
    r.rollback();
    expect(() => r.iterator()).toThrow(ErrTxnDone);
    r.rollback(); // idempotent
    const ro = db.transaction({ readOnly: true });
    expect(() => ro.put('a', '2')).toThrow(ErrReadOnlyTxn);
    expect(() => ro.delete('a')).toThrow(ErrReadOnlyTxn);
    await ro.commit();
    await expect(db.view((tx) => tx.put('a', '3'))).rejects.toMatchObject({ code: 'ErrReadOnlyTxn' });
    expect(s(db.getSync('a')!)).toBe('1');
    await db.close();
  });

  it('ErrTxnTooBig at the write that crosses the limit; what it holds still commits', async () => {
    const memtableSize = 64 * 1024;
    const { db } = await openMem(undefined, { memtableSize });
    const t = db.transaction();
    expect(t.txnBytesMax).toBe(Math.floor(memtableSize * TXN_MEMTABLE_SHARE));
    let n = 0;
    let error: unknown;
    for (;;) {
      try {
        t.put(`key${String(n).padStart(6, '0')}`, 'x'.repeat(100));
      } catch (e) {
        error = e;
        break;
      }
      n++;
    }
    expect(error).toBeInstanceOf(ErrTxnTooBig);
    expect(n).toBeGreaterThan(10);
    expect(t.length).toBe(n);
    // Overwriting a held key with a value of the same size does not grow it.
    t.put('key000000', 'y'.repeat(100));
    await t.commit();
    expect(db.iterator().allSync().length).toBe(n);
    expect(s(db.getSync('key000000')!)).toBe('y'.repeat(100));
    expect(db.hasSync(`key${String(n).padStart(6, '0')}`)).toBe(false);
    await db.close();
  });

  it('update retries a conflicting function up to `retries`, then throws ErrConflict', async () => {
    const { db } = await openMem();
    await db.put('n', '0');
    let runs = 0;
    const interfere = async (): Promise<void> => {
      await db.update(async (t) => {
        runs++;
        const v = Number(s((await t.get('n'))!));
        await db.put('n', String(v + 100)); // a concurrent writer, every time
        t.put('n', String(v + 1));
      }, { retries: 2 });
    };
    await expect(interfere()).rejects.toBeInstanceOf(ErrConflict);
    expect(runs).toBe(3);
    runs = 0;
    let once = true;
    await db.update(async (t) => {
      runs++;
      const v = Number(s((await t.get('n'))!));
      if (once) await db.put('n', String(v + 100));
      once = false;
      t.put('n', String(v + 1));
    }, { retries: 1 });
    expect(runs).toBe(2);
    expect(s(db.getSync('n')!)).toBe('401');
    expect(await db.view(async (t) => s((await t.get('n'))!))).toBe('401');
    await db.close();
  });
});
