import { describe, expect, it } from 'vitest';
import { entriesToStrings, openMem, s, TINY } from '../helpers/db.js';

describe('db basics', () => {
  it('puts, gets, deletes and iterates', async () => {
    const { db } = await openMem();
    await db.put('a', '1');
    await db.put('b', '2');
    await db.put('c', '3');
    await db.delete('b');
    expect(s((await db.get('a'))!)).toBe('1');
    expect(await db.get('b')).toBeUndefined();
    expect(db.hasSync('c')).toBe(true);
    expect(entriesToStrings(await db.iterator().all())).toEqual([
      ['a', '1'],
      ['c', '3'],
    ]);
    expect(entriesToStrings(await db.iterator({ reverse: true }).all())).toEqual([
      ['c', '3'],
      ['a', '1'],
    ]);
    await db.close();
  });

  it('survives flush and reopen', async () => {
    const { db, fs } = await openMem(undefined, TINY);
    for (let i = 0; i < 500; i++) await db.put(`key${String(i).padStart(4, '0')}`, `value${i}`);
    await db.flush();
    const st = db.stats();
    expect(st.tables).toBeGreaterThan(1);
    await db.close();
    const { db: db2 } = await openMem(fs, TINY);
    for (let i = 0; i < 500; i++) expect(s(db2.getSync(`key${String(i).padStart(4, '0')}`)!)).toBe(`value${i}`);
    const all = await db2.iterator().all();
    expect(all.length).toBe(500);
    await db2.close();
  });
});
