// NodeFileSystem specifics: the pid lock file (stale takeover, live owners, same-process
// double open) and the mapping of Node errors to FsError.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NodeFileSystem, toFsError } from '../../src/fs/node.js';
import { FsError, isFsError } from '../../src/fs/types.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sett-fs-node-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

async function lockError(fs: NodeFileSystem, dir: string): Promise<unknown> {
  return fs.lock(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('NodeFileSystem lock', () => {
  it('writes its pid into LOCK and removes the file on release', async () => {
    const fs = new NodeFileSystem();
    const lock = await fs.lock(root);
    expect(await readFile(join(root, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    expect(await fs.exists(join(root, 'LOCK'))).toBe(false);
  });

  it('stale lock of a dead process is taken over', async () => {
    await writeFile(join(root, 'LOCK'), `${deadPid()}\n`);
    const lock = await new NodeFileSystem().lock(root);
    expect(await readFile(join(root, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('lock held by a live process throws EBUSY naming the pid', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(root, 'LOCK'), `${child.pid}\n`);
      const e = await lockError(new NodeFileSystem(), root);
      expect(isFsError(e, 'EBUSY')).toBe(true);
      expect((e as FsError).message).toContain(`locked by process ${child.pid}`);
      expect(await readFile(join(root, 'LOCK'), 'utf8')).toBe(`${child.pid}\n`); // left alone
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a second NodeFileSystem in the same process gets EBUSY, also through a symlink', async () => {
    const lock = await new NodeFileSystem().lock(root);
    await symlink(root, `${root}-link`);
    try {
      expect(isFsError(await lockError(new NodeFileSystem(), root), 'EBUSY')).toBe(true);
      expect(isFsError(await lockError(new NodeFileSystem(), `${root}-link`), 'EBUSY')).toBe(true);
    } finally {
      await rm(`${root}-link`);
      await lock.release();
    }
  });

  it('concurrent lock calls in one process: exactly one wins', async () => {
    const fs = new NodeFileSystem();
    const results = await Promise.allSettled([fs.lock(root), fs.lock(root), fs.lock(root)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isFsError(r.reason, 'EBUSY')).toBe(true);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('a LOCK left by this process but not held (never released) is taken over', async () => {
    await writeFile(join(root, 'LOCK'), `${process.pid}\n`);
    const lock = await new NodeFileSystem().lock(root);
    await lock.release();
  });

  it('an old empty LOCK (crash between create and write) is stale', async () => {
    await writeFile(join(root, 'LOCK'), '');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(root, 'LOCK'), old, old);
    const lock = await new NodeFileSystem().lock(root);
    await lock.release();
  });

  it('release does not remove a LOCK that another process now owns', async () => {
    const lock = await new NodeFileSystem().lock(root);
    await writeFile(join(root, 'LOCK'), '1\n');
    await lock.release();
    expect(await readFile(join(root, 'LOCK'), 'utf8')).toBe('1\n');
  });
});

describe('NodeFileSystem errors', () => {
  it('maps errno codes and keeps the Node error as cause', async () => {
    const fs = new NodeFileSystem();
    const e = await fs.open(join(root, 'missing')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe('ENOENT');
    expect((e as FsError).injected).toBe(false);
    expect(((e as FsError).cause as { code: string }).code).toBe('ENOENT');
    expect((e as FsError).message).toContain(join(root, 'missing'));
  });

  it('unknown errno becomes EOTHER; ENOSPC and EIO keep their code', () => {
    const mk = (code: string) => Object.assign(new Error(code), { code });
    expect(toFsError(mk('ELOOP'), 'p').code).toBe('EOTHER');
    expect(toFsError(mk('ENOSPC'), 'p').code).toBe('ENOSPC');
    expect(toFsError(mk('EIO'), 'p').code).toBe('EIO');
    expect(toFsError(mk('EDQUOT'), 'p').code).toBe('ENOSPC');
    expect(toFsError('weird', 'p').code).toBe('EOTHER');
  });

  it('remove of a directory fails with an FsError', async () => {
    const fs = new NodeFileSystem();
    await fs.mkdir(join(root, 'd'));
    await expect(fs.remove(join(root, 'd'))).rejects.toBeInstanceOf(FsError);
  });

  it('a large write lands whole and reads back', async () => {
    const fs = new NodeFileSystem();
    const f = await fs.open(join(root, 'big'), { create: true });
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => i * 31);
    f.writeAt(data, 10);
    f.sync();
    const back = new Uint8Array(data.length);
    expect(f.readAt(back, 10)).toBe(data.length);
    expect(Buffer.compare(back, data)).toBe(0); // toEqual on megabytes is slow
    f.close();
  });
});
