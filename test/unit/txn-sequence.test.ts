import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { openMem } from '../helpers/db.js';

describe('sequences', () => {
  it('hands out unique increasing numbers, across concurrent callers and holders', async () => {
    const { db } = await openMem();
    const a = db.sequence('seq', 5);
    const b = db.sequence('seq', 3);
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).next()));
    expect(new Set(got).size).toBe(40);
    const fromA = got.filter((_, i) => i % 2 === 0);
    for (let i = 1; i < fromA.length; i++) expect(fromA[i]!).toBeGreaterThan(fromA[i - 1]!);
    await db.close();
  });

  it('release gives back the unused lease; without it the rest is skipped after reopen', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs);
    const s1 = db.sequence('ids', 10);
    expect([await s1.next(), await s1.next(), await s1.next()]).toEqual([0, 1, 2]);
    await s1.release();
    const s2 = db.sequence('ids', 10);
    expect(await s2.next()).toBe(3);
    await db.close();
    const { db: db2 } = await openMem(fs);
    expect(await db2.sequence('ids', 10).next()).toBe(13);
    await db2.put('bad', 'xyz');
    await expect(db2.sequence('bad').next()).rejects.toMatchObject({ code: 'ErrInvalidValue' });
    expect(() => db2.sequence('ids', 0)).toThrow(RangeError);
    await db2.close();
  });
});
