// The FileSystem contract, run against every backend: NodeFileSystem in a temp directory,
// MemoryFileSystem, and FaultFileSystem with no rules (it must be transparent).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { NodeFileSystem } from '../../src/fs/node.js';
import { FsError, isFsError, joinPath, type FileSystem, type FsErrorCode } from '../../src/fs/types.js';

interface Backend {
  name: string;
  setUp(): Promise<{ fs: FileSystem; root: string }>;
  tearDown(root: string): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'node',
    setUp: async () => ({ fs: new NodeFileSystem(), root: await mkdtemp(join(tmpdir(), 'sett-fs-')) }),
    tearDown: (root) => rm(root, { recursive: true, force: true }),
  },
  {
    name: 'memory',
    setUp: async () => {
      const fs = new MemoryFileSystem();
      await fs.mkdir('/tmp/db');
      return { fs, root: '/tmp/db' };
    },
    tearDown: async () => {},
  },
  {
    name: 'fault(memory) without rules',
    setUp: async () => {
      const fs = new FaultFileSystem(new MemoryFileSystem());
      await fs.mkdir('db');
      return { fs, root: 'db' };
    },
    tearDown: async () => {},
  },
];

async function expectFsError(p: Promise<unknown> | (() => unknown), code: FsErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FsError);
  expect((caught as FsError).code).toBe(code);
}

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe.each(backends)('FileSystem contract: $name', (backend) => {
  let fs: FileSystem;
  let root: string;
  const at = (name: string) => joinPath(root, name);

  beforeEach(async () => {
    ({ fs, root } = await backend.setUp());
  });
  afterEach(async () => {
    await backend.tearDown(root);
  });

  it('opening a missing file without create throws ENOENT', async () => {
    await expectFsError(fs.open(at('nope')), 'ENOENT');
  });

  it('opening in a missing directory throws ENOENT even with create', async () => {
    await expectFsError(fs.open(at('no/such/file'), { create: true }), 'ENOENT');
  });

  it('create makes an empty file; exclusive create of an existing file throws EEXIST', async () => {
    const f = await fs.open(at('a'), { create: true, exclusive: true });
    expect(f.size()).toBe(0);
    expect(f.path).toBe(at('a'));
    f.close();
    await expectFsError(fs.open(at('a'), { create: true, exclusive: true }), 'EEXIST');
    (await fs.open(at('a'), { create: true })).close(); // non-exclusive create of an existing file is fine
  });

  it('exclusive without create is rejected with EINVAL', async () => {
    await expectFsError(fs.open(at('a'), { exclusive: true }), 'EINVAL');
  });

  it('truncate on open cuts the file to zero', async () => {
    const f = await fs.open(at('a'), { create: true });
    f.writeAt(bytes(1, 2, 3), 0);
    f.close();
    const g = await fs.open(at('a'), { truncate: true });
    expect(g.size()).toBe(0);
    g.close();
  });

  it('a read-only handle reads but refuses writes and truncates with EACCES', async () => {
    const f = await fs.open(at('a'), { create: true });
    f.writeAt(bytes(7, 8), 0);
    f.close();
    const r = await fs.open(at('a'), { readOnly: true });
    const buf = new Uint8Array(2);
    expect(r.readAt(buf, 0)).toBe(2);
    expect(buf).toEqual(bytes(7, 8));
    await expectFsError(() => r.writeAt(bytes(1), 0), 'EACCES');
    await expectFsError(() => r.truncate(0), 'EACCES');
    r.close();
  });

  it('operations on a closed handle throw EBADF; closing twice is a no-op', async () => {
    const f = await fs.open(at('a'), { create: true });
    f.close();
    f.close();
    await expectFsError(() => f.readAt(new Uint8Array(1), 0), 'EBADF');
    await expectFsError(() => f.writeAt(bytes(1), 0), 'EBADF');
    await expectFsError(() => f.sync(), 'EBADF');
    await expectFsError(() => f.size(), 'EBADF');
  });

  it('opening a directory throws EISDIR', async () => {
    await fs.mkdir(at('sub'));
    await expectFsError(fs.open(at('sub')), 'EISDIR');
  });

  it('writeAt past the end leaves a zero-filled gap; readAt past EOF returns a short count', async () => {
    const f = await fs.open(at('a'), { create: true });
    f.writeAt(bytes(1, 2), 0);
    f.writeAt(bytes(9), 5);
    expect(f.size()).toBe(6);
    const buf = new Uint8Array(10).fill(0xee);
    expect(f.readAt(buf, 0)).toBe(6);
    expect(buf.subarray(0, 6)).toEqual(bytes(1, 2, 0, 0, 0, 9));
    expect(f.readAt(buf, 4)).toBe(2);
    expect(f.readAt(buf, 6)).toBe(0);
    expect(f.readAt(buf, 100)).toBe(0);
    f.writeAt(bytes(5, 5), 1); // overwrite in the middle
    expect(f.readAt(buf, 0)).toBe(6);
    expect(buf.subarray(0, 6)).toEqual(bytes(1, 5, 5, 0, 0, 9));
    f.close();
  });

  it('a written buffer reused by the caller does not change the file', async () => {
    const f = await fs.open(at('a'), { create: true });
    const data = bytes(1, 2, 3);
    f.writeAt(data, 0);
    data.fill(0);
    const buf = new Uint8Array(3);
    f.readAt(buf, 0);
    expect(buf).toEqual(bytes(1, 2, 3));
    f.close();
  });

  it('negative or fractional offsets throw RangeError', async () => {
    const f = await fs.open(at('a'), { create: true });
    expect(() => f.writeAt(bytes(1), -1)).toThrow(RangeError);
    expect(() => f.readAt(new Uint8Array(1), 0.5)).toThrow(RangeError);
    expect(() => f.truncate(-3)).toThrow(RangeError);
    f.close();
  });

  it('truncate shortens and extends with zeros; sync keeps the content', async () => {
    const f = await fs.open(at('a'), { create: true });
    f.writeAt(bytes(1, 2, 3, 4), 0);
    f.truncate(2);
    expect(f.size()).toBe(2);
    f.truncate(4);
    f.sync();
    const buf = new Uint8Array(4);
    expect(f.readAt(buf, 0)).toBe(4);
    expect(buf).toEqual(bytes(1, 2, 0, 0));
    f.close();
  });

  it('list returns sorted names of files and directories; a missing dir throws ENOENT', async () => {
    for (const n of ['b', 'c', 'a', '000010.sst', '000002.sst']) (await fs.open(at(n), { create: true })).close();
    await fs.mkdir(at('sub'));
    expect(await fs.list(root)).toEqual(['000002.sst', '000010.sst', 'a', 'b', 'c', 'sub']);
    await expectFsError(fs.list(at('missing')), 'ENOENT');
  });

  it('rename replaces the target atomically and keeps open handles valid', async () => {
    const f = await fs.open(at('CURRENT.tmp'), { create: true });
    f.writeAt(bytes(2), 0);
    const old = await fs.open(at('CURRENT'), { create: true });
    old.writeAt(bytes(1), 0);
    old.close();
    await fs.rename(at('CURRENT.tmp'), at('CURRENT'));
    await fs.syncDir(root);
    expect(await fs.list(root)).toEqual(['CURRENT']);
    const g = await fs.open(at('CURRENT'), { readOnly: true });
    const buf = new Uint8Array(1);
    g.readAt(buf, 0);
    expect(buf).toEqual(bytes(2));
    f.writeAt(bytes(3), 1); // the handle follows the file to its new name
    expect(g.size()).toBe(2);
    f.close();
    g.close();
  });

  it('rename of a missing file throws ENOENT', async () => {
    await expectFsError(fs.rename(at('nope'), at('x')), 'ENOENT');
  });

  it('remove deletes a file; a missing file throws ENOENT', async () => {
    (await fs.open(at('a'), { create: true })).close();
    await fs.remove(at('a'));
    expect(await fs.exists(at('a'))).toBe(false);
    await expectFsError(fs.remove(at('a')), 'ENOENT');
  });

  it('mkdir creates parents and accepts an existing directory', async () => {
    await fs.mkdir(at('x/y/z'));
    await fs.mkdir(at('x/y/z'));
    expect(await fs.exists(at('x/y/z'))).toBe(true);
    expect(await fs.list(at('x'))).toEqual(['y']);
    (await fs.open(at('x/y/z/f'), { create: true })).close();
    expect(await fs.exists(at('x/y/z/f'))).toBe(true);
    expect(await fs.exists(at('x/nope'))).toBe(false);
  });

  it('mkdir over a file throws EEXIST', async () => {
    (await fs.open(at('f'), { create: true })).close();
    await expectFsError(fs.mkdir(at('f')), 'EEXIST');
  });

  it('syncDir of a missing directory throws ENOENT', async () => {
    await fs.syncDir(root);
    await expectFsError(fs.syncDir(at('missing')), 'ENOENT');
  });

  it('lock twice throws EBUSY; lock after release succeeds', async () => {
    const lock = await fs.lock(root);
    expect(await fs.list(root)).toContain('LOCK');
    const second = await fs.lock(root).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFsError(second, 'EBUSY')).toBe(true);
    await lock.release();
    await lock.release(); // twice is a no-op
    expect(await fs.list(root)).not.toContain('LOCK');
    const again = await fs.lock(root);
    await again.release();
  });

  it('lock of a missing directory throws ENOENT', async () => {
    await expectFsError(fs.lock(at('missing')), 'ENOENT');
  });
});
