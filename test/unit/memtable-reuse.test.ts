/**
 * Flushed memtables' arena memory is reused by later memtables (engine.ts newMemtable), but
 * only once no iterator reads it: an iterator opened before many flushes reads exactly what it
 * saw when it was opened.
 */
import { describe, expect, it } from 'vitest';
import { openWith } from '../../src/api/open.js';
import { runFlush } from '../../src/compaction/flush-job.js';
import { runCompaction } from '../../src/compaction/merge.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Memtable } from '../../src/memtable/memtable.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { openMem, s, TINY } from '../helpers/db.js';

describe('memtable memory reuse', () => {
  it('an open iterator keeps reading its memtables while later ones recycle flushed arenas', async () => {
    const { db } = await openMem(undefined, { ...TINY, memtableSize: 8192 });
    for (let i = 0; i < 60; i++) await db.put(`a${String(i).padStart(3, '0')}`, `first-${i}`);
    const it = db.iterator();
    const head = it.nextSync()!;
    expect(s(head[0])).toBe('a000');
    // Many rotations and flushes: arenas of flushed memtables get reused.
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 60; i++) await db.put(`a${String(i).padStart(3, '0')}`, `round-${round}-${'z'.repeat(40)}`);
      await db.flush();
    }
    const rest = it.allSync().map(([k, v]) => `${s(k)}=${s(v)}`);
    expect(rest).toEqual(Array.from({ length: 59 }, (_, j) => `a${String(j + 1).padStart(3, '0')}=first-${j + 1}`));
    // And the live data is the last round.
    const live = db.iterator().allSync();
    expect(live.length).toBe(60);
    for (const [, v] of live) expect(s(v)).toMatch(/^round-29-/);
    await db.close();
  });

  it('keeps every shared (worker-flushed) arena up to the immutable-memtable limit, so none is dropped for a worker to hold', async () => {
    const runner = { sharedMemtables: true, run: runCompaction, flush: runFlush, close: async () => undefined };
    const db = await openWith({ path: '/db', fs: new MemoryFileSystem(), ...TINY, memtableSize: 8192, maxImmutableMemtables: 4 }, undefined, () => runner);
    const engine = (db as unknown as { engine: Engine }).engine;
    const mems: Memtable[] = Array.from({ length: 6 }, () => engine.newMemtable(8192));
    expect(mems.every((m) => m.arenaMemory instanceof SharedArrayBuffer)).toBe(true);
    for (const m of mems) engine.retireMemtable(m);
    const retired = new Set(mems.map((m) => m.arenaMemory));
    // Four kept (the limit), the other two dropped; the next four memtables reuse the kept ones.
    const next = Array.from({ length: 5 }, () => engine.newMemtable(8192).arenaMemory);
    expect(next.slice(0, 4).every((a) => retired.has(a))).toBe(true);
    expect(retired.has(next[4]!)).toBe(false);
    await db.close();
  });
});
