/**
 * Sealed memtables that wait for the flusher together are flushed into one L0 table: the data
 * reads back (before and after a reopen, and from a crash clone), every merged memtable's WAL is
 * removed, and stats count tables and memtables apart. Also over the real file system, where
 * the flush runs on the worker thread.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { openWith } from '../../src/api/open.js';
import { runCompaction } from '../../src/compaction/merge.js';
import type { CompactionRunner } from '../../src/engine/compactor.js';
import { HookFileSystem } from '../helpers/hook-fs.js';
import { s, TINY } from '../helpers/db.js';

const key = (i: number): string => `k${String((i * 7919) % 100_000).padStart(6, '0')}`;
const value = (i: number): string => `v${i}-${'x'.repeat(i % 40)}`;

async function fill(db: DB, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const b = db.batch();
    for (let j = i; j < Math.min(n, i + 50); j++) b.put(key(j), value(j));
    await b.write(i + 50 >= n ? { sync: true } : undefined);
  }
}

function expectAll(db: DB, n: number): void {
  for (let i = 0; i < n; i++) {
    const got = db.getSync(key(i));
    if (got === undefined || s(got) !== value(i)) expect.fail(`key ${key(i)}: got ${got === undefined ? 'nothing' : s(got)}`);
  }
}

const root = mkdtempSync(join(tmpdir(), 'sett-fm-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('flushing several waiting memtables into one table', () => {
  it('merges them, removes their WALs, and everything reads back (reopen, crash clone)', async () => {
    const mem = new MemoryFileSystem();
    const fs = new HookFileSystem(mem);
    // Creating a table file takes many event-loop turns: memtables queue up behind the flush.
    fs.latency = (op, path) => (op === 'open' && path.endsWith('.sst') ? 60 : 0);
    const options = { ...TINY, maxImmutableMemtables: 4, l0StallTables: 1000, disableAutoCompaction: true };
    const db = await open({ path: '/db', fs, ...options });
    const n = 3000;
    await fill(db, n);
    expectAll(db, n);
    await db.flush();
    const st = db.stats();
    expect(st.counters.memtablesFlushed).toBeGreaterThan(st.counters.flushes);
    expect(st.levels[0]!.tables).toBe(st.counters.flushes);
    expectAll(db, n);
    // Only the active memtable's WAL is left.
    expect((await mem.list('/db')).filter((f) => f.endsWith('.wal'))).toHaveLength(1);
    expect((await db.verify()).ok).toBe(true);

    const clone = mem.crashClone({ seed: 7, keepUnsynced: 'none' });
    await db.close();
    const again = await open({ path: '/db', fs: mem, ...options });
    expectAll(again, n);
    await again.close();
    const crashed = await open({ path: '/db', fs: clone, ...options });
    expectAll(crashed, n);
    expect((await crashed.verify()).ok).toBe(true);
    await crashed.close();
  });

  it('L0 never passes the stall threshold: sealed memtables wait in memory while L0 is full and a compaction runs', async () => {
    // Compactions take a while (a timer before each merge), flushes do not: L0 fills up.
    const slowRunner: CompactionRunner = {
      sharedMemtables: false,
      run: async (fs, job) => {
        await new Promise((resolve) => setTimeout(resolve, 15));
        return runCompaction(fs, job);
      },
      close: async () => undefined,
    };
    // Flushes are slow too (creating a table takes event-loop turns), so memtables queue up.
    const fs = new HookFileSystem(new MemoryFileSystem());
    fs.latency = (op, path) => (op === 'open' && path.endsWith('.sst') ? 20 : 0);
    const db = await openWith({ path: '/db', fs, ...TINY, maxImmutableMemtables: 4 }, undefined, () => slowRunner);
    // L0's size after every change of the tree (each flush and compaction installs a version).
    let most = 0;
    const engine = (db as unknown as { engine: { installFromManifest(...a: unknown[]): void; version: { levels: unknown[][] } } }).engine;
    const install = engine.installFromManifest.bind(engine);
    engine.installFromManifest = (...a: unknown[]) => {
      install(...a);
      most = Math.max(most, engine.version.levels[0]!.length);
    };
    const n = 6000;
    for (let i = 0; i < n; i += 25) {
      const b = db.batch();
      for (let j = i; j < i + 25; j++) b.put(key(j), value(j));
      await b.write();
    }
    expect(db.stats().counters.l0Stalls, 'the run should reach the stall threshold').toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(TINY.l0StallTables!);
    expectAll(db, n);
    await db.close();
  });

  it('on the flush worker thread (real files), with compactions running', async () => {
    const path = join(root, 'w');
    const options = { memtableSize: 64 * 1024, maxImmutableMemtables: 4, l0CompactTables: 2, l0StallTables: 8, baseLevelBytes: 256 * 1024, baseTableBytes: 64 * 1024, levelMultiplier: 4, compactionWorkers: 1 };
    const db = await open({ path, ...options });
    const n = 30_000;
    await fill(db, n);
    await db.flush();
    const st = db.stats();
    expect(st.counters.memtablesFlushed).toBeGreaterThanOrEqual(st.counters.flushes);
    expectAll(db, n);
    await db.close();
    expect(readdirSync(path).filter((f) => f.endsWith('.wal')).length).toBeLessThanOrEqual(1);
    const again = await open({ path, ...options });
    expectAll(again, n);
    expect((await again.verify()).ok).toBe(true);
    await again.close();
  });
});
