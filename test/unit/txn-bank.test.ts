import { describe, expect, it } from 'vitest';
import { runBank, accountKey, checkBank } from '../../src/txn/bank.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { openMem, TINY } from '../helpers/db.js';

describe('bank test', () => {
  it('concurrent transfers keep the total; the checker never sees a torn state', async () => {
    // Small memtables: flushes and compactions run under the transfers.
    const { db, fs } = await openMem(undefined, { ...TINY, memtableSize: 32 * 1024, valueBytesMax: 512 });
    const seed = Number(process.env.SETT_SEED ?? Date.now() % 1e9);
    const f = await runBank(db, { accounts: 20, concurrency: 8, seconds: 2, seed });
    console.log(`bank: seed ${seed}, ${f.transfers} transfers, ${f.conflicts} conflicts, ${f.insufficient} skipped (low balance), ${f.checks} checks in ${f.ms} ms`);
    expect(f.transfers).toBeGreaterThan(50);
    expect(f.conflicts).toBeGreaterThan(0);
    expect(f.checks).toBeGreaterThan(5);
    expect(f.total).toBe(20_000);
    await db.close();
    const { db: db2 } = await openMem(fs, { ...TINY, memtableSize: 32 * 1024, valueBytesMax: 512 });
    expect(await db2.view((t) => checkBank(t, 20, 20_000, false))).toBe(20_000);
    expect(db2.hasSync(accountKey(19))).toBe(true);
    await db2.close();
  });
});

describe('bank test across crashes', () => {
  it('every crash clone taken during the run recovers to a state with the right total', async () => {
    const options = { ...TINY, memtableSize: 32 * 1024, valueBytesMax: 512 };
    const { db, fs } = await openMem(undefined, options);
    const seed = Number(process.env.SETT_SEED ?? Date.now() % 1e9);
    const clones: { fs: MemoryFileSystem; seed: number }[] = [];
    let n = 0;
    const timer = setInterval(() => {
      n++;
      clones.push({ fs: fs.crashClone({ seed: seed + n, keepUnsynced: 'random' }), seed: seed + n });
    }, 40);
    const f = await runBank(db, { accounts: 10, concurrency: 4, seconds: 1, seed });
    clearInterval(timer);
    await db.close();
    expect(f.transfers).toBeGreaterThan(0);
    expect(clones.length).toBeGreaterThan(5);
    let withAccounts = 0;
    for (const c of clones) {
      const { db: r } = await openMem(c.fs, options);
      // The accounts are created by one batch before the transfers: either none or all exist.
      const present = r.iterator({ prefix: 'bank/' }).allSync().length;
      if (present > 0) withAccounts++;
      if (present > 0) expect(await r.view((t) => checkBank(t, 10, 10_000, c.seed % 2 === 0)), `clone seed ${c.seed}`).toBe(10_000);
      await r.close();
    }
    expect(withAccounts).toBeGreaterThan(0);
  });
});
