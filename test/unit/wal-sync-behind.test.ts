/**
 * The WAL's background sync: once a quarter memtable (at most 1 MiB) of writes is unsynced, an
 * fsync starts that writers do not wait for, so a memtable rotation finds little left to sync.
 * It acknowledges nothing; it only makes earlier writes durable sooner. Syncs that overlap
 * (a synced write while a background sync runs) must not undercount what is still unsynced, a
 * failed background sync fails the store, and close() waits for one in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import type { FileHandle } from '../../src/fs/types.js';
import { open } from '../../src/index.js';
import { LogWriter } from '../../src/wal/writer.js';
import { s } from '../helpers/db.js';

const key = (i: number): string => `k${String(i).padStart(6, '0')}`;
const value = (i: number): string => `v${i}-${'x'.repeat(100)}`;

async function fill(db: DB, from: number, to: number, yieldEach = false): Promise<void> {
  for (let i = from; i < to; i += 20) {
    const b = db.batch();
    for (let j = i; j < Math.min(to, i + 20); j++) b.put(key(j), value(j));
    await b.write();
    // Writers that let the event loop turn (most servers do) get the fsync's completion.
    if (yieldEach) await new Promise((resolve) => setImmediate(resolve));
  }
}

const root = mkdtempSync(join(tmpdir(), 'sett-syncb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('WAL background sync', () => {
  it('unsynced writes become durable in the background: a crash that drops every unsynced byte keeps a prefix of them', async () => {
    const fs = new MemoryFileSystem();
    // 64 KiB memtable: a background sync every 16 KiB; 400 writes of ~120 bytes are ~48 KiB.
    const db = await open({ path: '/db', fs, memtableSize: 64 * 1024 });
    await fill(db, 0, 400);
    const syncs = db.stats().counters.walSyncs;
    expect(syncs, 'background syncs ran').toBeGreaterThan(0);
    const clone = fs.crashClone({ seed: 3, keepUnsynced: 'none' });
    await db.close();
    const r = await open({ path: '/db', fs: clone, memtableSize: 64 * 1024 });
    let n = 0;
    while (n < 400 && r.getSync(key(n)) !== undefined) n++;
    // A prefix survives (nothing after the first missing key), and it reaches past the first
    // background sync; what came after the last one may be lost.
    for (let i = n; i < 400; i++) expect(r.getSync(key(i))).toBeUndefined();
    expect(n).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < n; i++) expect(s(r.getSync(key(i))!)).toBe(value(i));
    await r.close();
  });

  it('overlapping syncs: each covers what was appended before it started, whichever finishes first', async () => {
    const pending: (() => void)[] = [];
    let written = 0;
    const file = {
      writeAt: (b: Uint8Array) => {
        written += b.length;
        return b.length;
      },
      truncate: () => undefined,
      sync: () => undefined,
      syncAsync: () => new Promise<void>((resolve) => pending.push(resolve)),
      size: () => written,
      close: () => undefined,
    } as unknown as FileHandle;
    const w = LogWriter.forWal(file, 1);
    w.sync();
    expect(w.unsyncedBytes).toBe(0);
    w.append(new Uint8Array(100));
    const first = w.syncAsync(); // covers the first 100
    w.append(new Uint8Array(50));
    const second = w.syncAsync(); // covers 150
    w.append(new Uint8Array(30)); // covered by neither
    expect(w.unsyncedBytes).toBe(180);
    // The later sync finishes first: only the last 30 bytes stay unsynced...
    pending[1]!();
    await second;
    expect(w.unsyncedBytes).toBe(30);
    // ...and the earlier one finishing afterwards changes nothing (counting bytes instead of
    // offsets would have subtracted its 100 again and claimed everything synced).
    pending[0]!();
    await first;
    expect(w.unsyncedBytes).toBe(30);
  });

  it('a background sync that fails fails the store; a reopen recovers every write that was synced', async () => {
    const mem = new MemoryFileSystem();
    const fs = new FaultFileSystem(mem);
    const db = await open({ path: '/db', fs, memtableSize: 64 * 1024 });
    await fill(db, 0, 100);
    await db.sync();
    // The next sync of a WAL fails: with no synced writes, that is the background sync.
    fs.addRule({ fault: 'EIO', kind: 'sync', path: '.wal' });
    await fill(db, 100, 400).catch(() => undefined);
    expect(db.stats().failed).toMatch(/background fsync of the WAL failed/);
    await expect(db.put('after', 'x')).rejects.toMatchObject({ code: 'ErrStoreFailed' });
    await db.close().catch(() => undefined);
    const r = await open({ path: '/db', fs: mem.crashClone({ seed: 1, keepUnsynced: 'none' }), memtableSize: 64 * 1024 });
    for (let i = 0; i < 100; i++) expect(s(r.getSync(key(i))!)).toBe(value(i));
    await r.close();
  });

  it('on real files with a writer that yields: rotations find the WAL mostly synced, and close() waits for a sync in flight', async () => {
    const path = join(root, 'db');
    const db = await open({ path, memtableSize: 256 * 1024, compactionWorkers: 0 });
    await fill(db, 0, 6000, true);
    const c = db.stats().counters;
    // ~720 KB of WAL in 64 KiB steps: about ten background syncs, beside the rotations' own.
    expect(c.walSyncs).toBeGreaterThan(8);
    await fill(db, 6000, 7000);
    await db.close();
    const r = await open({ path });
    for (let i = 0; i < 7000; i += 7) expect(s(r.getSync(key(i))!)).toBe(value(i));
    await r.close();
  });
});
