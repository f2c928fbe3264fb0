/**
 * Compaction on worker threads over the real file system: results equal to the inline runner's,
 * the event loop stays free, and close() while a compaction runs finishes cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { s } from '../helpers/db.js';

const root = mkdtempSync(join(tmpdir(), 'sett-cw-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL = { memtableSize: 64 * 1024, l0CompactTables: 2, l0StallTables: 8, baseLevelBytes: 128 * 1024, baseTableBytes: 32 * 1024, levelMultiplier: 4, compactionWorkers: 1 };
const key = (i: number): string => `key${String((i * 7919) % 20000).padStart(6, '0')}`;

describe('compaction worker threads', () => {
  it.each([1, 2])('compacts on %i worker(s) (split into subcompactions with 2) and the data reads back, also after reopening', async (workers) => {
    const path = join(root, `a${workers}`);
    const db = await open({ path, ...SMALL, compactionWorkers: workers });
    let mostRunning = 0;
    for (let i = 0; i < 20000; i += 500) {
      const b = db.batch();
      for (let j = i; j < i + 500; j++) b.put(key(j), `value-${j}-${'z'.repeat(j % 50)}`);
      await b.write();
      mostRunning = Math.max(mostRunning, db.stats().compactionsRunning);
    }
    // Up to one compaction per worker at once (on disjoint tables), never more.
    expect(mostRunning).toBeLessThanOrEqual(workers);
    await db.flush();
    await db.flatten();
    const st = db.stats();
    expect(st.compactionsRunning).toBe(0);
    expect(st.levels.reduce((n, l) => n + l.compactions, 0)).toBeGreaterThan(0);
    expect(st.compactionFailures).toBe(0);
    if (workers > 1) expect(st.levels.reduce((n, l) => n + l.subcompactions, 0)).toBeGreaterThan(0);
    expect(st.levels.filter((l) => l.tables > 0).length).toBe(1);
    for (let j = 0; j < 20000; j += 97) expect(s(db.getSync(key(j))!)).toBe(`value-${j}-${'z'.repeat(j % 50)}`);
    await db.close();
    const again = await open({ path, ...SMALL, compactionWorkers: workers });
    expect((await again.iterator().all()).length).toBe(20000);
    expect((await again.verify()).problems).toEqual([]);
    await again.close();
  });

  it.each([1, 2])('close() while compactions run (on %i worker(s), several at once with 2) finishes cleanly and loses nothing', async (workers) => {
    const path = join(root, `b${workers}`);
    const db = await open({ path, ...SMALL, compactionWorkers: workers });
    for (let i = 0; i < 20000; i += 1000) {
      const b = db.batch();
      for (let j = i; j < i + 1000; j++) b.put(key(j), `v${j}`);
      await b.write();
    }
    await db.close();
    const again = await open({ path, ...SMALL, compactionWorkers: workers });
    for (let j = 0; j < 20000; j += 101) expect(s(again.getSync(key(j))!)).toBe(`v${j}`);
    expect((await again.verify()).problems).toEqual([]);
    await again.close();
  });
});
