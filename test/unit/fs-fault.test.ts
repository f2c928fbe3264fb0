// FaultFileSystem: every fault kind, Nth-operation rules, path patterns, one-shot versus
// persistent rules, and the counters.
import { describe, expect, it } from 'vitest';

import { FaultFileSystem, type FaultRule } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { FsError, type FileHandle } from '../../src/fs/types.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);

async function setUp(seed = 1): Promise<{ fs: FaultFileSystem; mem: MemoryFileSystem }> {
  const mem = new MemoryFileSystem();
  await mem.mkdir('/db');
  return { fs: new FaultFileSystem(mem, { seed }), mem };
}

/** Runs `f` and returns what it threw (undefined if nothing). */
async function thrown(f: () => unknown): Promise<unknown> {
  try {
    await f();
    return undefined;
  } catch (e) {
    return e;
  }
}

function expectInjected(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(FsError);
  expect((e as FsError).code).toBe(code);
  expect((e as FsError).injected).toBe(true);
  expect((e as FsError).message).toContain('injected');
}

describe('FaultFileSystem', () => {
  it('names itself after the inner file system and exposes it', async () => {
    const { fs, mem } = await setUp();
    expect(fs.name).toBe('fault(memory)');
    expect(fs.inner).toBe(mem);
  });

  it('EIO on sync: thrown before the sync, the writes stay unsynced', async () => {
    const { fs, mem } = await setUp();
    const f = await fs.open('/db/wal', { create: true });
    await fs.syncDir('/db');
    f.writeAt(bytes(1, 2), 0);
    fs.addRule({ kind: 'sync', fault: 'EIO' });
    expectInjected(await thrown(() => f.sync()), 'EIO');
    expect(mem.crashClone({ seed: 1, keepUnsynced: 'none' }).readFileSync('/db/wal')).toEqual(bytes());
    f.sync(); // one-shot: the next sync works
    expect(mem.crashClone({ seed: 1, keepUnsynced: 'none' }).readFileSync('/db/wal')).toEqual(bytes(1, 2));
  });

  it('ENOSPC on write leaves the file unchanged', async () => {
    const { fs, mem } = await setUp();
    const f = await fs.open('/db/a', { create: true });
    fs.addRule({ kind: 'write', fault: 'ENOSPC' });
    expectInjected(await thrown(() => f.writeAt(bytes(1), 0)), 'ENOSPC');
    expect(mem.readFileSync('/db/a')).toEqual(bytes());
  });

  it('directory operations can fail: open, rename, remove, list, mkdir, syncDir, lock, truncate', async () => {
    const { fs } = await setUp();
    const f = await fs.open('/db/a', { create: true });
    const cases: [FaultRule['kind'], () => unknown][] = [
      ['open', () => fs.open('/db/a')],
      ['rename', () => fs.rename('/db/a', '/db/b')],
      ['remove', () => fs.remove('/db/a')],
      ['list', () => fs.list('/db')],
      ['mkdir', () => fs.mkdir('/db/x')],
      ['syncDir', () => fs.syncDir('/db')],
      ['lock', () => fs.lock('/db')],
      ['truncate', () => f.truncate(0)],
      ['read', () => f.readAt(new Uint8Array(1), 0)],
    ];
    for (const [kind, op] of cases) {
      fs.addRule({ kind: kind!, fault: 'EIO' });
      expectInjected(await thrown(op), 'EIO');
    }
    expect(await fs.exists('/db/a')).toBe(true); // nothing reached the inner file system
    expect(await fs.exists('/db/x')).toBe(false);
  });

  it('any FsError code can be injected, e.g. EBUSY on lock', async () => {
    const { fs } = await setUp();
    fs.addRule({ kind: 'lock', fault: 'EBUSY' });
    expectInjected(await thrown(() => fs.lock('/db')), 'EBUSY');
  });

  it('a torn write lands a prefix of the bytes, then throws EIO', async () => {
    const { fs, mem } = await setUp();
    const f = await fs.open('/db/wal', { create: true });
    f.writeAt(bytes(9), 0);
    fs.addRule({ fault: 'torn', tornBytes: 3 });
    expectInjected(await thrown(() => f.writeAt(bytes(1, 2, 3, 4, 5), 1)), 'EIO');
    expect(mem.readFileSync('/db/wal')).toEqual(bytes(9, 1, 2, 3));
  });

  it('a torn write without tornBytes lands a seeded strict prefix', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { fs, mem } = await setUp(seed);
      const f = await fs.open('/db/wal', { create: true });
      fs.addRule({ fault: 'torn' });
      const data = new Uint8Array(50).map((_, i) => i + 1);
      await thrown(() => f.writeAt(data, 0));
      const got = mem.readFileSync('/db/wal');
      expect(got.length).toBeLessThan(50);
      expect(got).toEqual(data.subarray(0, got.length));
    }
  });

  it('a bit flip damages the bytes returned by a read, not the file', async () => {
    const { fs, mem } = await setUp();
    const f = await fs.open('/db/000001.sst', { create: true });
    const data = new Uint8Array(32).fill(0xaa);
    f.writeAt(data, 0);
    fs.addRule({ fault: 'bitflip', path: '.sst' });
    const buf = new Uint8Array(32);
    expect(f.readAt(buf, 0)).toBe(32);
    const diff = buf.reduce((n, b, i) => n + popcount(b ^ data[i]!), 0);
    expect(diff).toBe(1);
    expect(mem.readFileSync('/db/000001.sst')).toEqual(data);
    f.readAt(buf, 0);
    expect(buf).toEqual(data); // one-shot
  });

  it('a bit flip rule waits for a read that returns bytes', async () => {
    const { fs } = await setUp();
    const f = await fs.open('/db/a', { create: true });
    const id = fs.addRule({ fault: 'bitflip' });
    expect(f.readAt(new Uint8Array(4), 0)).toBe(0);
    expect(fs.ruleState(id)).toEqual({ matched: 0, fired: 0, exhausted: false });
    f.writeAt(bytes(0), 0);
    const buf = new Uint8Array(1);
    f.readAt(buf, 0);
    expect(buf[0]).not.toBe(0);
    expect(fs.ruleState(id)?.exhausted).toBe(true);
  });

  it('nth fails the Nth matching operation of a kind, once', async () => {
    const { fs } = await setUp();
    const f = await fs.open('/db/a', { create: true });
    fs.addRule({ kind: 'write', nth: 3, fault: 'EIO' });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => thrown(() => f.writeAt(bytes(i), i))));
    expect(results.map((e) => e !== undefined)).toEqual([false, false, true, false, false]);
  });

  it('nth without kind counts every operation', async () => {
    const { fs } = await setUp();
    fs.addRule({ nth: 4, fault: 'EIO' });
    const f = await fs.open('/db/a', { create: true }); // 1
    f.writeAt(bytes(1), 0); // 2
    f.size(); // not counted
    await fs.list('/db'); // 3
    expectInjected(await thrown(() => f.sync()), 'EIO'); // 4
  });

  it('a persistent rule fails every matching operation from nth on until removed', async () => {
    const { fs } = await setUp();
    const f = await fs.open('/db/a', { create: true });
    const id = fs.addRule({ kind: 'sync', nth: 2, times: Infinity, fault: 'EIO' });
    f.sync();
    for (let i = 0; i < 5; i++) expectInjected(await thrown(() => f.sync()), 'EIO');
    expect(fs.ruleState(id)).toEqual({ matched: 6, fired: 5, exhausted: false });
    expect(fs.removeRule(id)).toBe(true);
    expect(fs.removeRule(id)).toBe(false);
    f.sync();
  });

  it('times limits how often a rule fires', async () => {
    const { fs } = await setUp();
    fs.addRule({ kind: 'list', times: 2, fault: 'EIO' });
    expect(await thrown(() => fs.list('/db'))).toBeDefined();
    expect(await thrown(() => fs.list('/db'))).toBeDefined();
    expect(await fs.list('/db')).toEqual([]);
  });

  it('path patterns: substring or RegExp, either side of a rename', async () => {
    const { fs } = await setUp();
    fs.addRule({ path: /MANIFEST-\d+$/, times: Infinity, fault: 'EIO' });
    fs.addRule({ path: 'CURRENT', kind: 'rename', fault: 'ENOSPC' });
    const w = await fs.open('/db/000001.wal', { create: true });
    w.writeAt(bytes(1), 0);
    expectInjected(await thrown(() => fs.open('/db/MANIFEST-000002', { create: true })), 'EIO');
    const t = await fs.open('/db/CURRENT.tmp', { create: true });
    t.close();
    expectInjected(await thrown(() => fs.rename('/db/CURRENT.tmp', '/db/CURRENT')), 'ENOSPC');
    await fs.rename('/db/CURRENT.tmp', '/db/CURRENT');
  });

  it('rules can be added and cleared at any time; the first due rule wins', async () => {
    const { fs } = await setUp();
    const f: FileHandle = await fs.open('/db/a', { create: true });
    const a = fs.addRule({ kind: 'sync', fault: 'ENOSPC' });
    const b = fs.addRule({ kind: 'sync', fault: 'EIO' });
    expectInjected(await thrown(() => f.sync()), 'ENOSPC');
    expect(fs.ruleState(b)).toEqual({ matched: 1, fired: 0, exhausted: false });
    expectInjected(await thrown(() => f.sync()), 'EIO');
    expect(fs.ruleState(a)?.exhausted).toBe(true);
    fs.addRule({ kind: 'sync', fault: 'EIO' });
    fs.clearRules();
    f.sync();
  });

  it('probability draws are seeded: the same seed fails the same operations', async () => {
    const pattern = async (seed: number) => {
      const { fs } = await setUp(seed);
      const f = await fs.open('/db/a', { create: true });
      fs.addRule({ kind: 'write', probability: 0.3, times: Infinity, fault: 'EIO' });
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++) out.push((await thrown(() => f.writeAt(bytes(1), i))) !== undefined);
      return out;
    };
    const first = await pattern(5);
    expect(await pattern(5)).toEqual(first);
    expect(first.some((x) => x) && first.some((x) => !x)).toBe(true);
  });

  it('stats count operations and faults per kind', async () => {
    const { fs } = await setUp();
    fs.addRule({ kind: 'write', nth: 2, fault: 'EIO' });
    const f = await fs.open('/db/a', { create: true });
    f.writeAt(bytes(1), 0);
    await thrown(() => f.writeAt(bytes(2), 1));
    f.readAt(new Uint8Array(1), 0);
    f.sync();
    await fs.syncDir('/db');
    const s = fs.stats();
    expect(s.ops).toMatchObject({ open: 1, write: 2, read: 1, sync: 1, syncDir: 1, rename: 0 });
    expect(s.faults).toMatchObject({ write: 1, open: 0 });
    expect(s.opsTotal).toBe(6);
    expect(s.faultsTotal).toBe(1);
  });

  it('rejects malformed rules', async () => {
    const { fs } = await setUp();
    expect(() => fs.addRule({ kind: 'sync', fault: 'torn' })).toThrow(RangeError);
    expect(() => fs.addRule({ kind: 'write', fault: 'bitflip' })).toThrow(RangeError);
    expect(() => fs.addRule({ nth: 0, fault: 'EIO' })).toThrow(RangeError);
    expect(() => fs.addRule({ times: 0, fault: 'EIO' })).toThrow(RangeError);
    expect(() => fs.addRule({ probability: 2, fault: 'EIO' })).toThrow(RangeError);
    expect(() => fs.addRule({ kind: 'fsync' as 'sync', fault: 'EIO' })).toThrow(RangeError);
  });
});

function popcount(x: number): number {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
}
