import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { fromUtf8 } from '../../src/codec/bytes.js';
import { openMem } from '../helpers/db.js';

describe('transactions: recovery and expiry', () => {
  it('after a crash at any point, each transaction is there whole or not at all', async () => {
    const fs = new MemoryFileSystem();
    const { db } = await openMem(fs, { memtableSize: 256 * 1024 });
    // Unsynced transactions of 20 keys each, all tagged with their number.
    for (let t = 0; t < 30; t++) {
      await db.update((txn) => {
        for (let i = 0; i < 20; i++) txn.put(`t${String(t).padStart(2, '0')}/k${String(i).padStart(2, '0')}`, 'x'.repeat(200 + t));
      });
    }
    let partial = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const clone = fs.crashClone({ seed, keepUnsynced: 'random' });
      const { db: r } = await openMem(clone, { memtableSize: 256 * 1024 });
      const counts = new Map<string, number>();
      for (const [k] of r.iterator({ keysOnly: true })) {
        const t = fromUtf8(k).slice(0, 3);
        counts.set(t, (counts.get(t) ?? 0) + 1);
      }
      for (const [, n] of counts) expect(n).toBe(20);
      // Transactions survive as a prefix of commit order.
      const present = [...counts.keys()].sort();
      expect(present).toEqual(Array.from({ length: present.length }, (_, i) => `t${String(i).padStart(2, '0')}`));
      if (present.length < 30) partial++;
      await r.close();
    }
    expect(partial).toBeGreaterThan(0); // the crashes did cut something
    await db.close();
  });

  it('expired entries are removed by compaction', async () => {
    const { db } = await openMem(undefined, { memtableSize: 256 * 1024 });
    await db.update((t) => {
      for (let i = 0; i < 50; i++) t.put(`dead${i}`, 'v', { expiresAt: 1 });
      for (let i = 0; i < 10; i++) t.put(`live${i}`, 'v', { ttl: 3600 });
    });
    expect(db.iterator().allSync().length).toBe(10);
    await db.flush();
    // A second, overlapping table, so that compaction merges (a lone table may be moved down
    // without rewriting: a trivial move keeps what it holds).
    await db.update((t) => {
      for (let i = 0; i < 10; i++) t.put(`live${i}`, 'w', { ttl: 3600 });
    });
    await db.flatten();
    const st = db.stats();
    const entries = st.levels.reduce((n, l) => n + l.entries, 0);
    expect(entries).toBe(10);
    await db.close();
  });
});
