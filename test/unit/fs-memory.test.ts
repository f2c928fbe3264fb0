// MemoryFileSystem: crash clones (what survives a power failure) and the test helpers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MemoryFileSystem, normalizePath } from '../../src/fs/memory.js';
import { mulberry32, Prng } from '../../src/fs/prng.js';
import { FsError, isFsError } from '../../src/fs/types.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);
const seeds = Array.from({ length: 64 }, (_, i) => i + 1);

async function writeFile(fs: MemoryFileSystem, path: string, data: Uint8Array, sync: boolean): Promise<void> {
  const f = await fs.open(path, { create: true });
  f.writeAt(data, f.size());
  if (sync) f.sync();
  f.close();
}

/** A file system with a durable directory `/db`. */
async function fresh(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/db');
  return fs;
}

function snapshot(fs: MemoryFileSystem): Record<string, number[]> {
  return Object.fromEntries(fs.listAllSync().map((p) => [p, [...fs.readFileSync(p)]]));
}

describe('crash clone', () => {
  it('synced data and synced entries always survive', async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/a', bytes(1, 2, 3), true);
    await fs.syncDir('/db');
    for (const seed of seeds) {
      for (const keepUnsynced of ['none', 'all', 'random'] as const) {
        expect(fs.crashClone({ seed, keepUnsynced }).readFileSync('/db/a')).toEqual(bytes(1, 2, 3));
      }
    }
  });

  it("'none' drops unsynced writes and truncates", async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/a', bytes(1, 2, 3), true);
    await fs.syncDir('/db');
    const f = await fs.open('/db/a');
    f.writeAt(bytes(9, 9), 1);
    f.writeAt(bytes(4), 3);
    f.truncate(1);
    expect(fs.crashClone({ seed: 7, keepUnsynced: 'none' }).readFileSync('/db/a')).toEqual(bytes(1, 2, 3));
    expect(fs.crashClone({ seed: 7, keepUnsynced: 'all' }).readFileSync('/db/a')).toEqual(bytes(1));
    f.sync();
    expect(fs.crashClone({ seed: 7, keepUnsynced: 'none' }).readFileSync('/db/a')).toEqual(bytes(1));
  });

  it('a created file whose directory was not synced may vanish; after syncDir it stays', async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/new', bytes(5), true);
    expect(await fs.crashClone({ seed: 1, keepUnsynced: 'none' }).exists('/db/new')).toBe(false);
    expect(await fs.crashClone({ seed: 1, keepUnsynced: 'all' }).exists('/db/new')).toBe(true);
    const outcomes = new Set(await Promise.all(seeds.map((seed) => fs.crashClone({ seed }).exists('/db/new'))));
    expect(outcomes).toEqual(new Set([true, false]));
    await fs.syncDir('/db');
    for (const seed of seeds) expect(fs.crashClone({ seed }).readFileSync('/db/new')).toEqual(bytes(5));
  });

  it('an unsynced rename applies whole or not at all, never half', async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/CURRENT', bytes(1), true);
    await writeFile(fs, '/db/CURRENT.tmp', bytes(2), true);
    await fs.syncDir('/db');
    await fs.rename('/db/CURRENT.tmp', '/db/CURRENT');
    const seen = new Set<string>();
    for (const seed of seeds) {
      const state = JSON.stringify(snapshot(fs.crashClone({ seed })));
      expect([
        JSON.stringify({ '/db/CURRENT': [1], '/db/CURRENT.tmp': [2] }),
        JSON.stringify({ '/db/CURRENT': [2] }),
      ]).toContain(state);
      seen.add(state);
    }
    expect(seen.size).toBe(2);
  });

  it('directory operations survive as an ordered prefix', async () => {
    const fs = await fresh();
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const n of names) await writeFile(fs, `/db/${n}`, bytes(1), true);
    for (const seed of seeds) {
      const kept = (await fs.crashClone({ seed }).list('/db')).join('');
      expect(names.join('').startsWith(kept)).toBe(true);
    }
  });

  it('an unsynced remove may be undone, with the data as synced', async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/old', bytes(7, 7), true);
    await fs.syncDir('/db');
    await fs.remove('/db/old');
    expect(fs.crashClone({ seed: 1, keepUnsynced: 'none' }).readFileSync('/db/old')).toEqual(bytes(7, 7));
    expect(await fs.crashClone({ seed: 1, keepUnsynced: 'all' }).exists('/db/old')).toBe(false);
    await fs.syncDir('/db');
    expect(await fs.crashClone({ seed: 1, keepUnsynced: 'none' }).exists('/db/old')).toBe(false);
  });

  it('a torn write leaves a prefix of its bytes', async () => {
    const fs = await fresh();
    await writeFile(fs, '/db/wal', bytes(), true);
    await fs.syncDir('/db');
    const data = new Uint8Array(100).map((_, i) => i + 1);
    const f = await fs.open('/db/wal');
    f.writeAt(data, 0);
    const lengths = new Set<number>();
    for (const seed of seeds) {
      const got = fs.crashClone({ seed }).readFileSync('/db/wal');
      expect(got).toEqual(data.subarray(0, got.length));
      lengths.add(got.length);
    }
    expect(lengths.has(0)).toBe(true);
    expect(lengths.has(100)).toBe(true);
    expect([...lengths].some((n) => n > 0 && n < 100)).toBe(true);
  });

  it('the same seed gives the same clone; different seeds differ', async () => {
    const fs = await fresh();
    for (let i = 0; i < 20; i++) await writeFile(fs, `/db/f${i % 4}`, new Uint8Array(10).fill(i), i % 5 === 0);
    const states = seeds.map((seed) => JSON.stringify(snapshot(fs.crashClone({ seed }))));
    expect(seeds.map((seed) => JSON.stringify(snapshot(fs.crashClone({ seed }))))).toEqual(states);
    expect(new Set(states).size).toBeGreaterThan(1);
  });

  it('a clone is independent of the original and starts unlocked', async () => {
    const fs = await fresh();
    const lock = await fs.lock('/db');
    await fs.syncDir('/db');
    await writeFile(fs, '/db/a', bytes(1), true);
    await fs.syncDir('/db');
    const clone = fs.crashClone({ seed: 3 });
    await writeFile(fs, '/db/a', bytes(2), true);
    expect(clone.readFileSync('/db/a')).toEqual(bytes(1));
    expect(await clone.list('/db')).toEqual(['LOCK', 'a']);
    const cloneLock = await clone.lock('/db'); // the stale LOCK of the crashed process is taken over
    await cloneLock.release();
    await lock.release();
    clone.verify();
    fs.verify();
  });

  it('a handle keeps working after its file is removed, and the file is gone after a crash', async () => {
    const fs = await fresh();
    const f = await fs.open('/db/a', { create: true });
    await fs.syncDir('/db');
    await fs.remove('/db/a');
    await fs.syncDir('/db');
    f.writeAt(bytes(1, 2), 0);
    f.sync();
    expect(f.size()).toBe(2);
    expect(await fs.crashClone({ seed: 1, keepUnsynced: 'all' }).exists('/db/a')).toBe(false);
  });

  it('appends: a clone keeps every synced byte and is a prefix of the current content', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ len: fc.nat(40), sync: fc.boolean() }), { maxLength: 30 }),
        fc.integer(),
        async (steps, seed) => {
          const fs = await fresh();
          const f = await fs.open('/db/log', { create: true });
          await fs.syncDir('/db');
          let synced = 0;
          for (const [i, step] of steps.entries()) {
            f.writeAt(new Uint8Array(step.len).map((_, j) => i * 7 + j + 1), f.size());
            if (step.sync) {
              f.sync();
              synced = f.size();
            }
          }
          const current = fs.readFileSync('/db/log');
          const got = fs.crashClone({ seed }).readFileSync('/db/log');
          expect(got.length).toBeGreaterThanOrEqual(synced);
          expect(got).toEqual(current.subarray(0, got.length));
          expect(fs.crashClone({ seed, keepUnsynced: 'none' }).readFileSync('/db/log')).toEqual(current.subarray(0, synced));
          fs.verify();
        },
      ),
      { numRuns: 200 },
    );
  });

  it("random writes and truncates: 'none' gives the content at the last sync, 'all' the current", async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), pos: fc.nat(64), len: fc.nat(16) }),
      fc.record({ kind: fc.constant('truncate' as const), size: fc.nat(80) }),
      fc.record({ kind: fc.constant('sync' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer(), async (ops, seed) => {
        const fs = await fresh();
        const f = await fs.open('/db/f', { create: true });
        await fs.syncDir('/db');
        let atSync: Uint8Array = new Uint8Array(0);
        for (const [i, o] of ops.entries()) {
          if (o.kind === 'write') f.writeAt(new Uint8Array(o.len).fill(i + 1), o.pos);
          else if (o.kind === 'truncate') f.truncate(o.size);
          else {
            f.sync();
            atSync = fs.readFileSync('/db/f');
          }
        }
        expect(fs.crashClone({ seed, keepUnsynced: 'none' }).readFileSync('/db/f')).toEqual(atSync);
        expect(fs.crashClone({ seed, keepUnsynced: 'all' }).readFileSync('/db/f')).toEqual(fs.readFileSync('/db/f'));
        fs.crashClone({ seed }).verify();
        fs.verify();
      }),
      { numRuns: 200 },
    );
  });

  it('past unsyncedBytesMax the oldest unsynced writes become durable on their own', async () => {
    const fs = new MemoryFileSystem({ unsyncedBytesMax: 100 });
    await fs.mkdir('/db');
    const f = await fs.open('/db/log', { create: true });
    await fs.syncDir('/db');
    for (let i = 0; i < 10; i++) f.writeAt(new Uint8Array(30).fill(i + 1), i * 30);
    const durable = fs.crashClone({ seed: 1, keepUnsynced: 'none' }).readFileSync('/db/log');
    expect(durable.length).toBeGreaterThanOrEqual(300 - 100);
    expect(durable).toEqual(fs.readFileSync('/db/log').subarray(0, durable.length));
    fs.verify();
    expect(() => new MemoryFileSystem({ unsyncedBytesMax: 0 })).toThrow(RangeError);
  });

  it('rejects a bad keepUnsynced or seed', async () => {
    const fs = await fresh();
    expect(() => fs.crashClone({ seed: 1, keepUnsynced: 'some' as 'all' })).toThrow(RangeError);
    expect(() => fs.crashClone({ seed: 1.5 })).toThrow(TypeError);
  });
});

describe('memory test helpers', () => {
  it('writeFileSync is durable at once and creates parents', async () => {
    const fs = new MemoryFileSystem();
    fs.writeFileSync('/x/y/f', bytes(1, 2));
    const clone = fs.crashClone({ seed: 1, keepUnsynced: 'none' });
    expect(clone.readFileSync('/x/y/f')).toEqual(bytes(1, 2));
    expect(fs.listAllSync()).toEqual(['/x/y/f']);
    fs.verify();
  });

  it('writeFileSync replaces the content seen by an open handle', async () => {
    const fs = await fresh();
    const f = await fs.open('/db/f', { create: true });
    f.writeAt(bytes(1, 1, 1), 0);
    fs.writeFileSync('/db/f', bytes(2));
    expect(f.size()).toBe(1);
    fs.verify();
  });

  it('readFileSync returns a copy; a missing file throws ENOENT', async () => {
    const fs = await fresh();
    fs.writeFileSync('/db/f', bytes(1));
    fs.readFileSync('/db/f')[0] = 9;
    expect(fs.readFileSync('/db/f')).toEqual(bytes(1));
    expect(() => fs.readFileSync('/db/missing')).toThrow(FsError);
  });

  it('corruptByte flips bits durably; truncateSync cuts durably', async () => {
    const fs = await fresh();
    fs.writeFileSync('/db/t', bytes(0, 0, 0, 0));
    fs.corruptByte('/db/t', 2, 0x10);
    fs.truncateSync('/db/t', 3);
    expect(fs.readFileSync('/db/t')).toEqual(bytes(0, 0, 0x10));
    expect(fs.crashClone({ seed: 1, keepUnsynced: 'none' }).readFileSync('/db/t')).toEqual(bytes(0, 0, 0x10));
    expect(() => fs.corruptByte('/db/t', 3)).toThrow(RangeError);
    expect(() => fs.corruptByte('/db/t', 0, 0)).toThrow(RangeError);
    fs.verify();
  });

  it('listAllSync lists files only, sorted; totalBytes counts current sizes', async () => {
    const fs = await fresh();
    await fs.mkdir('/db/sub');
    await writeFile(fs, '/db/b', bytes(1, 2), false);
    await writeFile(fs, '/db/sub/a', bytes(3), false);
    await writeFile(fs, 'rel', bytes(4, 4, 4), false);
    expect(fs.listAllSync()).toEqual(['/db/b', '/db/sub/a', 'rel']);
    expect(fs.totalBytes()).toBe(6);
  });

  it('paths are normalized', async () => {
    expect(normalizePath('/db//a/')).toBe('/db/a');
    expect(normalizePath('./db/./x/../a')).toBe('db/a');
    expect(normalizePath('/')).toBe('/');
    const fs = await fresh();
    await writeFile(fs, '/db//a', bytes(1), false);
    expect(await fs.exists('/db/./a')).toBe(true);
    expect(await fs.list('/db/')).toEqual(['a']);
  });

  it('renaming a directory is refused with EISDIR', async () => {
    const fs = await fresh();
    await fs.mkdir('/db/sub');
    const e = await fs.rename('/db/sub', '/db/other').catch((err: unknown) => err);
    expect(isFsError(e, 'EISDIR')).toBe(true);
  });

  it('a rename across directories moves the file', async () => {
    const fs = await fresh();
    await fs.mkdir('/db/archive');
    await writeFile(fs, '/db/a', bytes(1), true);
    await fs.rename('/db/a', '/db/archive/a');
    expect(fs.listAllSync()).toEqual(['/db/archive/a']);
    fs.verify();
  });
});

describe('prng', () => {
  it('is deterministic per seed and in range', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    const p = new Prng(7);
    for (let i = 0; i < 1000; i++) {
      const n = p.nextInt(10);
      expect(n >= 0 && n < 10).toBe(true);
      const f = p.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(new Prng(1).nextUint32()).not.toBe(new Prng(2).nextUint32());
  });
});
