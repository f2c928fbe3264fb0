/**
 * The OPFS backend against the FileSystem contract, in a dedicated worker of real Chromium:
 * handle I/O, the write buffer, the pool of open files, directory operations, error codes, the
 * Web Lock, and the engine opening a database on it.
 */
import { ErrLocked } from '../../src/api/errors.js';
import { toFsError } from '../../src/fs/opfs-file.js';
import { OpfsFileSystem, writeBufferBytesMax } from '../../src/fs/opfs.js';
import { open } from '../../src/browser.js';
import { assert, dec, enc, eq, rejects, removeOpfsDir, test, uniqueDir } from './lib/t.js';

async function withDir(prefix: string, fn: (fs: OpfsFileSystem, dir: string) => Promise<void>): Promise<void> {
  const dir = uniqueDir(prefix);
  const fs = new OpfsFileSystem();
  await fs.mkdir(dir);
  try {
    await fn(fs, dir);
  } finally {
    fs.closeIdleFiles();
    await removeOpfsDir(dir);
  }
}

function readString(h: { readAt(b: Uint8Array, p: number): number }, pos: number, n: number): string {
  const buf = new Uint8Array(n);
  const got = h.readAt(buf, pos);
  return dec(buf.subarray(0, got))!;
}

test('worker', 'opfs: write, read back, size, truncate and sync on a sync access handle', () =>
  withDir('t-io', async (fs, dir) => {
    const f = await fs.open(`${dir}/a`, { create: true });
    f.writeAt(enc('hello world'), 0);
    eq(f.size(), 11, 'size includes unsynced writes');
    eq(readString(f, 6, 5), 'world', 'read at an offset');
    eq(readString(f, 6, 50), 'world', 'a read past the end stops at the end');
    f.sync();
    f.truncate(5);
    eq(f.size(), 5, 'size after truncate');
    f.truncate(8);
    const grown = new Uint8Array(8);
    f.readAt(grown, 0);
    eq([...grown.subarray(5)], [0, 0, 0], 'a longer length reads as zeros');
    f.writeAt(enc('Z'), 20);
    const gap = new Uint8Array(21);
    eq(f.readAt(gap, 0), 21, 'a write past the end extends the file');
    eq([...gap.subarray(8, 20)], new Array(12).fill(0), 'the gap reads as zeros');
    f.close();
    f.close(); // twice is a no-op
    await rejects(async () => f.size(), 'EBADF', 'use after close');
  }),
);

test('worker', 'opfs: small writes are gathered, visible to reads at once, and written back by the timer', () =>
  withDir('t-buf', async (fs, dir) => {
    const f = await fs.open(`${dir}/wal`, { create: true });
    const rec = enc('0123456789');
    for (let i = 0; i < 1000; i++) f.writeAt(rec, i * 10);
    eq(f.size(), 10_000, 'size counts buffered bytes');
    eq(readString(f, 9_990, 10), '0123456789', 'a read of buffered bytes sees them');
    // A write that does not continue the buffer writes it back first; later data stays right.
    f.writeAt(enc('AB'), 5);
    eq(readString(f, 0, 12), '01234AB78901', 'an overwrite in the middle');
    // Buffer overflow: more than writeBufferBytesMax of small appends.
    const chunk = new Uint8Array(1000).fill(7);
    const n = Math.ceil((writeBufferBytesMax * 1.5) / 1000);
    for (let i = 0; i < n; i++) f.writeAt(chunk, 10_000 + i * 1000);
    eq(f.size(), 10_000 + n * 1000, 'size after overflowing the buffer');
    await new Promise((r) => setTimeout(r, 5)); // the timer's write-back
    f.close();
    // Another instance sees the bytes once this one has let the file go.
    fs.closeIdleFiles();
    const other = new OpfsFileSystem();
    const g = await other.open(`${dir}/wal`, { readOnly: true });
    eq(g.size(), 10_000 + n * 1000, 'size seen by another file system instance');
    eq(readString(g, 0, 12), '01234AB78901', 'content seen by another instance');
    g.close();
    other.closeIdleFiles();
  }),
);

test('worker', 'opfs: truncate drops buffered bytes past the cut without writing them', () =>
  withDir('t-cut', async (fs, dir) => {
    const f = await fs.open(`${dir}/log`, { create: true });
    f.writeAt(enc('aaaa'), 0);
    f.sync();
    f.writeAt(enc('bbbbbbbb'), 4); // buffered
    f.truncate(6);
    eq(f.size(), 6, 'size after the cut');
    eq(readString(f, 0, 10), 'aaaabb', 'content after the cut');
    f.writeAt(enc('cc'), 6);
    f.sync();
    eq(readString(f, 0, 10), 'aaaabbcc', 'appending after the cut');
    f.close();
  }),
);

test('worker', 'opfs: missing files are ENOENT, existing ones EEXIST for exclusive create, directories EISDIR', () =>
  withDir('t-codes', async (fs, dir) => {
    await rejects(fs.open(`${dir}/missing`), 'ENOENT', 'open of a missing file');
    await rejects(fs.open(`${dir}/nodir/x`, { create: true }), 'ENOENT', 'open under a missing directory');
    (await fs.open(`${dir}/f`, { create: true })).close();
    await rejects(fs.open(`${dir}/f`, { create: true, exclusive: true }), 'EEXIST', 'exclusive create of an existing file');
    await fs.mkdir(`${dir}/sub`);
    await rejects(fs.open(`${dir}/sub`), 'EISDIR', 'open of a directory');
    await rejects(fs.remove(`${dir}/sub`), 'EISDIR', 'remove of a directory');
    await rejects(fs.remove(`${dir}/nothing`), 'ENOENT', 'remove of a missing file');
    await rejects(fs.rename(`${dir}/nothing`, `${dir}/x`), 'ENOENT', 'rename of a missing file');
    await rejects(fs.mkdir(`${dir}/f/deeper`), 'EEXIST', 'mkdir through a file');
    await rejects(fs.list(`${dir}/nowhere`), 'ENOENT', 'list of a missing directory');
    await rejects(fs.syncDir(`${dir}/nowhere`), 'ENOENT', 'syncDir of a missing directory');
    const ro = await fs.open(`${dir}/f`, { readOnly: true });
    await rejects(async () => ro.writeAt(enc('x'), 0), 'EACCES', 'write through a read-only handle');
    ro.close();
    eq(await fs.exists(`${dir}/f`), true, 'exists: file');
    eq(await fs.exists(`${dir}/sub`), true, 'exists: directory');
    eq(await fs.exists(`${dir}/nothing`), false, 'exists: missing');
    eq(await fs.exists(`${dir}/nowhere/x`), false, 'exists: under a missing directory');
  }),
);

test('worker', 'opfs: rename replaces the target in one step; list is sorted; remove', () =>
  withDir('t-dir', async (fs, dir) => {
    for (const [name, text] of [['CURRENT', 'old'], ['tmp', 'new'], ['b', 'b'], ['a', 'a']] as const) {
      const f = await fs.open(`${dir}/${name}`, { create: true });
      f.writeAt(enc(text), 0);
      f.sync();
      f.close();
    }
    await fs.rename(`${dir}/tmp`, `${dir}/CURRENT`);
    eq(await fs.list(dir), ['CURRENT', 'a', 'b'], 'names after the rename');
    const c = await fs.open(`${dir}/CURRENT`, { readOnly: true });
    eq(readString(c, 0, 10), 'new', 'the target holds the renamed file');
    c.close();
    await fs.remove(`${dir}/a`);
    eq(await fs.list(dir), ['CURRENT', 'b'], 'names after a removal');
    await fs.mkdir(`${dir}/x/y`);
    await fs.rename(`${dir}/b`, `${dir}/x/y/b2`);
    eq(await fs.list(`${dir}/x/y`), ['b2'], 'rename across directories');
    const held = await fs.open(`${dir}/CURRENT`);
    await rejects(fs.remove(`${dir}/CURRENT`), 'EBUSY', 'removing a file still open');
    held.close();
    await fs.remove(`${dir}/CURRENT`);
  }),
);

test('worker', 'opfs: closed files idle open in the pool and are reused; the pool is bounded', () =>
  withDir('t-pool', async (_fs, dir) => {
    const fs = new OpfsFileSystem({ idleFilesMax: 3 });
    try {
      const a = await fs.open(`${dir}/a`, { create: true });
      const a2 = await fs.open(`${dir}/a`); // the same access handle, shared
      a.writeAt(enc('shared'), 0);
      eq(readString(a2, 0, 6), 'shared', 'two handles on one file see each other');
      eq(fs.openFileCount(), { open: 1, idle: 0 }, 'one access handle for two opens');
      a.close();
      a2.close();
      eq(fs.openFileCount(), { open: 1, idle: 1 }, 'closed file idles open');
      const t0 = performance.now();
      const again = await fs.open(`${dir}/a`);
      const reuseMs = performance.now() - t0;
      eq(readString(again, 0, 6), 'shared', 'reused file keeps its content');
      again.close();
      assert(reuseMs < 50, `reopening an idle file should be quick, took ${reuseMs.toFixed(1)} ms`);
      for (const n of ['b', 'c', 'd', 'e']) (await fs.open(`${dir}/${n}`, { create: true })).close();
      eq(fs.openFileCount().idle, 3, 'idle files are bounded by idleFilesMax');
      // A second file system (another tab would be the same) cannot open a file held here...
      const other = new OpfsFileSystem();
      await rejects(other.open(`${dir}/e`), 'EBUSY', 'a file held open by another file system');
      // ...until this one lets it go.
      fs.closeIdleFiles();
      (await other.open(`${dir}/e`)).close();
      other.closeIdleFiles();
    } finally {
      fs.closeIdleFiles();
    }
  }),
);

test('worker', 'opfs: the writer lock is a Web Lock, exclusive across file systems; read-only views share', () =>
  withDir('t-lock', async (fs, dir) => {
    const other = new OpfsFileSystem();
    const l1 = await fs.lock(dir);
    const e = await rejects(other.lock(dir), 'EBUSY', 'second writer');
    assert(e.message.includes('another tab or worker'), `message says where the lock is: ${e.message}`);
    await rejects(fs.lock(dir), 'EBUSY', 'second writer in the same file system');
    await rejects(other.lockShared(dir), 'EBUSY', 'read-only view while a writer holds it');
    await l1.release();
    await l1.release(); // twice is a no-op
    const s1 = await fs.lockShared(dir);
    const s2 = await other.lockShared(dir);
    await rejects(fs.lock(dir), 'EBUSY', 'writer while read-only views hold it');
    await s1.release();
    await s2.release();
    const l2 = await other.lock(dir);
    await l2.release();
  }),
);

test('worker', 'opfs: QuotaExceededError maps to ENOSPC, NoModificationAllowedError to EBUSY', () => {
  eq(toFsError(new DOMException('over quota', 'QuotaExceededError'), '/x', 'write').code, 'ENOSPC', 'quota');
  eq(toFsError(new DOMException('locked', 'NoModificationAllowedError'), '/x', 'open').code, 'EBUSY', 'locked file');
  eq(toFsError(new DOMException('gone', 'NotFoundError'), '/x', 'open').code, 'ENOENT', 'missing');
  eq(toFsError(new DOMException('dir', 'TypeMismatchError'), '/x', 'open').code, 'EISDIR', 'wrong kind');
  eq(toFsError(new DOMException('odd', 'UnknownError'), '/x', 'open').code, 'EIO', 'anything else');
});

test('worker', 'opfs: the engine opens, writes, flushes, closes and reopens a database', async () => {
  const dir = uniqueDir('t-engine');
  const fs = new OpfsFileSystem();
  try {
    let db = await open({ path: dir, fs, memtableSize: 4096, blockSize: 64 });
    for (let i = 0; i < 300; i++) await db.put(`k${String(i).padStart(4, '0')}`, `v${i}`);
    await db.flush();
    await db.put('after-flush', 'in the WAL');
    const s = db.stats();
    assert(s.tables > 0, 'flush wrote tables');
    await rejects(open({ path: dir, fs }), 'ErrLocked', 'second open of an open database');
    await db.close();
    db = await open({ path: dir, fs, memtableSize: 4096, blockSize: 64 });
    eq(dec(db.getSync('k0123')), 'v123', 'value from a table after reopen');
    eq(dec(db.getSync('after-flush')), 'in the WAL', 'value from the WAL after reopen');
    eq(db.iterator({ prefix: 'k' }).allSync().length, 300, 'every key after reopen');
    const report = await db.verify();
    assert(report.ok, `verify: ${JSON.stringify(report.problems)}`);
    await db.close();
  } finally {
    fs.closeIdleFiles();
    await removeOpfsDir(dir);
  }
});

test('worker', 'opfs: a second writer in another file system gets ErrLocked with a clear message', async () => {
  const dir = uniqueDir('t-locked');
  const a = new OpfsFileSystem();
  const b = new OpfsFileSystem();
  try {
    const db = await open({ path: dir, fs: a });
    const e = await rejects(open({ path: dir, fs: b }), 'ErrLocked', 'second writer');
    assert(e instanceof ErrLocked, 'an ErrLocked instance');
    assert(/already open for writing/.test(e.message) && /another tab or worker/.test(e.message), `message: ${e.message}`);
    await db.close();
    const db2 = await open({ path: dir, fs: b }); // free once the first closed
    await db2.close();
  } finally {
    a.closeIdleFiles();
    b.closeIdleFiles();
    await removeOpfsDir(dir);
  }
});
