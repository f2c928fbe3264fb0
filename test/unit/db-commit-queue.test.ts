/**
 * The commit queue (src/engine/commit.ts): group commit, and its one slot shared by write
 * groups and memtable rotations, which flush() and close() must respect.
 */
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import { fromUtf8 } from '../../src/codec/bytes.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { TINY } from '../helpers/db.js';
import { HookFileSystem } from '../helpers/hook-fs.js';

async function contents(fs: MemoryFileSystem | HookFileSystem, extra: object = {}): Promise<string[]> {
  const db = await open({ path: '/db', fs, ...extra });
  try {
    return (await db.iterator().all()).map(([k, v]) => `${fromUtf8(k)}=${fromUtf8(v)}`);
  } finally {
    await db.close();
  }
}

function key(i: number): string {
  return `key${String(i).padStart(3, '0')}`;
}

describe('group commit', () => {
  for (const [name, options] of [
    ['default options', {}],
    ['TINY options (the group is larger than a memtable)', TINY],
  ] as const) {
    it(`64 concurrent synced puts share a handful of WAL syncs and all survive a crash (${name})`, async () => {
      const fs = new MemoryFileSystem();
      const db = await open({ path: '/db', fs, ...options });
      const before = db.stats().counters;
      const acked: number[] = [];
      await Promise.all(Array.from({ length: 64 }, (_, i) => db.put(key(i), `value ${i} `.repeat(8), { sync: true }).then(() => acked.push(i))));
      const after = db.stats().counters;
      const syncs = after.walSyncs - before.walSyncs;
      const groups = after.walGroups - before.walGroups;
      console.log(`group commit (${name}): 64 synced puts took ${syncs} WAL syncs in ${groups} groups`);
      expect(acked.length).toBe(64);
      expect(syncs).toBeLessThanOrEqual(4);
      expect(groups).toBeLessThanOrEqual(4);
      expect(after.writes - before.writes).toBe(64);
      // Only what was synced: every acknowledged write must be there.
      const clone = fs.crashClone({ seed: 7, keepUnsynced: 'none' });
      await db.close();
      const got = await contents(clone, options);
      expect(got).toEqual(Array.from({ length: 64 }, (_, i) => `${key(i)}=${`value ${i} `.repeat(8)}`));
    });
  }

  it('one synced write in a group makes every earlier write of the group durable', async () => {
    const fs = new MemoryFileSystem();
    const db = await open({ path: '/db', fs });
    const writes = Array.from({ length: 63 }, (_, i) => db.put(key(i), `v${i}`));
    writes.push(db.put(key(63), 'v63', { sync: true }));
    await Promise.all(writes);
    expect(db.stats().counters.walSyncs).toBeLessThanOrEqual(2);
    const clone = fs.crashClone({ seed: 3, keepUnsynced: 'none' });
    await db.close();
    expect((await contents(clone)).length).toBe(64);
  });
});

describe('the commit queue slot: rotations by flush() and close()', () => {
  // Found by the model test: two flush() calls rotated the memtable at the same time. The later
  // rotation retired a WAL that the earlier one had just started (never synced, never closed)
  // and numbered the new active WAL below it, so a reopen dropped it as obsolete.
  it('a write between two concurrent flush() calls survives a clean close and reopen', async () => {
    for (let turns = 0; turns <= 3; turns++) {
      const fs = new HookFileSystem(new MemoryFileSystem());
      fs.latency = (op) => (op === 'open' || op === 'syncDir' ? turns : 0);
      const db = await open({ path: '/db', fs, ...TINY });
      await db.put('a', 'old');
      await Promise.all([db.flush(), db.delete('a'), db.flush()]);
      await db.put('a', 'new');
      await db.close();
      expect([...fs.openHandles.keys()], `latency ${turns}: close() must release every file`).toEqual([]);
      fs.latency = undefined;
      expect(await contents(fs, TINY), `latency ${turns}`).toEqual(['a=new']);
    }
  });

  it('an unsynced write acknowledged while a second flush() rotates is durable once a later write syncs', async () => {
    const mem = new MemoryFileSystem();
    const fs = new HookFileSystem(mem);
    const db = await open({ path: '/db', fs, ...TINY });
    // The second new WAL and every table take longer to create than the first WAL.
    let walCreates = 0;
    fs.latency = (op, path) => {
      if (op !== 'open') return 0;
      if (path.endsWith('.sst')) return 30;
      return path.endsWith('.wal') && ++walCreates === 2 ? 5 : 0;
    };
    await db.put('a', '1');
    const flushes = Promise.all([db.flush(), db.flush()]);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    await db.put('b', '2');
    for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
    let clone: MemoryFileSystem | undefined;
    await db.put('c', '3', { sync: true }).then(() => {
      clone = mem.crashClone({ seed: 1, keepUnsynced: 'none' });
    });
    await flushes;
    await db.close();
    expect(await contents(clone!, TINY)).toEqual(['a=1', 'b=2', 'c=3']);
  });

  // flush() waited for the flusher while close() had stopped it: the loop spun on microtasks
  // for ever and starved the event loop.
  it('flush() racing close() settles (close wins; the data replays from the WAL)', async () => {
    const fs = new HookFileSystem(new MemoryFileSystem());
    const db = await open({ path: '/db', fs, ...TINY });
    fs.latency = (op, path) => (op === 'open' && path.endsWith('.sst') ? 10 : 0);
    for (let i = 0; i < 14; i++) await db.put(key(i), 'x'.repeat(400));
    const flushed = db.flush().then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    await db.close();
    expect(['resolved', 'ErrStoreClosed']).toContain(await flushed);
    expect([...fs.openHandles.keys()]).toEqual([]);
    fs.latency = undefined;
    expect((await contents(fs, TINY)).length).toBe(14);
  });

  it('flush() called just after close() began rejects with ErrStoreClosed and starts no rotation', async () => {
    const fs = new HookFileSystem(new MemoryFileSystem());
    const db: DB = await open({ path: '/db', fs, ...TINY });
    await db.put('a', '1');
    const closing = db.close();
    await expect(db.flush()).rejects.toMatchObject({ code: 'ErrStoreClosed' });
    await closing;
    expect([...fs.openHandles.keys()]).toEqual([]);
    expect(await contents(fs, TINY)).toEqual(['a=1']);
  });

  it('close() waits for a rotation that flush() started in the same turn', async () => {
    const fs = new HookFileSystem(new MemoryFileSystem());
    const db: DB = await open({ path: '/db', fs, ...TINY });
    await db.put('a', '1');
    fs.latency = (op) => (op === 'open' ? 2 : 0);
    const flushed = db.flush().then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
    await db.close();
    expect(['resolved', 'ErrStoreClosed']).toContain(await flushed);
    expect([...fs.openHandles.keys()], 'a WAL opened by the rotation must not outlive close()').toEqual([]);
    fs.latency = undefined;
    expect(await contents(fs, TINY)).toEqual(['a=1']);
  });
});
