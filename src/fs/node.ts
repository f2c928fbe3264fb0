/**
 * `NodeFileSystem`: the FileSystem contract over `node:fs`. This is the only module of sett that
 * imports `node:fs`; it is not exported from `src/fs/index.ts`, so browser bundles never see it
 * (import it directly from `./fs/node.js`).
 *
 * Guarantees, as far as the operating system gives them (Linux ext4/xfs assumed):
 * - handle I/O is positional (`pread`/`pwrite`) and synchronous; `writeAt` loops until every
 *   byte is written, `readAt` until the buffer is full or the file ends;
 * - `sync()` is `fdatasync`: the data and the file length are durable when it returns;
 * - `rename` is `rename(2)`: atomic replacement of the target, durable after `syncDir`;
 * - `syncDir` opens the directory read-only (O_DIRECTORY) and fsyncs it. On Windows, where a
 *   directory cannot be fsynced, it is a no-op.
 * - every error is an FsError whose `cause` is the original Node error.
 */

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

import { checkOffset, checkOpenOptions, FsError, joinPath, type DirLock, type FileHandle, type FileSystem, type FsErrorCode, type OpenOptions } from './types.js';

const ERRNO_TO_CODE: Readonly<Record<string, FsErrorCode>> = {
  ENOENT: 'ENOENT',
  ENOTDIR: 'ENOENT', // a path component is a file: the path does not exist as asked
  EEXIST: 'EEXIST',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'ENOSPC', // quota exceeded is "disk full" for this user
  EIO: 'EIO',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EROFS: 'EACCES',
  EBUSY: 'EBUSY',
  EBADF: 'EBADF',
  EISDIR: 'EISDIR',
  EINVAL: 'EINVAL',
};

/** Wraps a Node error (or anything thrown by node:fs) in an FsError, keeping it as `cause`. */
export function toFsError(e: unknown, path: string): FsError {
  if (e instanceof FsError) return e;
  const errno = (e as { code?: unknown } | null)?.code;
  const code = typeof errno === 'string' ? (ERRNO_TO_CODE[errno] ?? 'EOTHER') : 'EOTHER';
  const message = e instanceof Error ? e.message : String(e);
  return new FsError(code, message, { path, cause: e });
}

function openFlags(options: OpenOptions): number {
  const c = fs.constants;
  let flags = options.readOnly === true ? c.O_RDONLY : c.O_RDWR;
  if (options.create === true) flags |= c.O_CREAT;
  if (options.exclusive === true) flags |= c.O_EXCL;
  if (options.truncate === true) flags |= c.O_TRUNC;
  return flags;
}

class NodeFileHandle implements FileHandle {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly readOnly: boolean,
  ) {}

  readAt(buf: Uint8Array, position: number): number {
    this.checkOpen();
    checkOffset(position, 'read position');
    let done = 0;
    try {
      while (done < buf.length) {
        const n = fs.readSync(this.fd, buf, done, buf.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw toFsError(e, this.path);
    }
    return done;
  }

  writeAt(data: Uint8Array, position: number): void {
    this.checkWritable();
    checkOffset(position, 'write position');
    let done = 0;
    try {
      while (done < data.length) {
        done += fs.writeSync(this.fd, data, done, data.length - done, position + done);
      }
    } catch (e) {
      throw toFsError(e, this.path);
    }
  }

  sync(): void {
    this.checkOpen();
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw toFsError(e, this.path);
    }
  }

  /** `fdatasync` on libuv's thread pool: same guarantee, the event loop stays free meanwhile. */
  syncAsync(): Promise<void> {
    this.checkOpen();
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.fd, (e) => (e === null ? resolve() : reject(toFsError(e, this.path))));
    });
  }

  truncate(size: number): void {
    this.checkWritable();
    checkOffset(size, 'truncate size');
    try {
      fs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw toFsError(e, this.path);
    }
  }

  size(): number {
    this.checkOpen();
    try {
      return fs.fstatSync(this.fd).size;
    } catch (e) {
      throw toFsError(e, this.path);
    }
  }

  close(): void {
    if (this.closed) return;
    // Mark closed first: the fd number may be reused at once by another open, and a write
    // through a stale number would land in someone else's file.
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch (e) {
      throw toFsError(e, this.path);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new FsError('EBADF', 'file handle is closed', { path: this.path });
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new FsError('EACCES', 'file handle is read-only', { path: this.path });
  }
}

/**
 * Directories locked by this process (real paths). Shared by every NodeFileSystem instance of
 * this module instance. Worker threads load their own module instance, so a lock taken in one
 * worker is not seen in this set by another: only the engine's owning thread takes locks.
 */
const lockedDirs = new Set<string>();

const STALE_EMPTY_LOCK_MS = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether process `pid` exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as { code?: unknown }).code !== 'ESRCH';
  }
}

export class NodeFileSystem implements FileSystem {
  readonly name = 'node';

  /** Opens a file; see OpenOptions. Opening a directory throws EISDIR. */
  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkOpenOptions(path, options);
    let fd: number;
    try {
      fd = await new Promise<number>((resolve, reject) => {
        fs.open(path, openFlags(options), 0o644, (err, result) => (err === null ? resolve(result) : reject(err)));
      });
    } catch (e) {
      throw toFsError(e, path);
    }
    try {
      if (fs.fstatSync(fd).isDirectory()) throw new FsError('EISDIR', 'open: path is a directory', { path });
    } catch (e) {
      fs.closeSync(fd);
      throw toFsError(e, path);
    }
    return new NodeFileHandle(path, fd, options.readOnly === true);
  }

  /** Entry names (files and directories), sorted by UTF-16 code unit (bytewise for ASCII). */
  async list(dir: string): Promise<string[]> {
    try {
      return (await fsp.readdir(dir)).sort();
    } catch (e) {
      throw toFsError(e, dir);
    }
  }

  /** rename(2): atomic replacement of `to`; durable after `syncDir`. */
  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(from, to);
    } catch (e) {
      throw toFsError(e, `${from} -> ${to}`);
    }
  }

  /** unlink(2). Missing file: ENOENT; a directory: EISDIR (or EACCES on some systems). */
  async remove(path: string): Promise<void> {
    try {
      await fsp.unlink(path);
    } catch (e) {
      throw toFsError(e, path);
    }
  }

  async mkdir(dir: string): Promise<void> {
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (e) {
      throw toFsError(e, dir);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw toFsError(e, path);
    }
  }

  async syncDir(dir: string): Promise<void> {
    if (process.platform === 'win32') return; // directories cannot be opened for fsync there
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      await handle.sync();
    } catch (e) {
      throw toFsError(e, dir);
    } finally {
      await handle?.close();
    }
  }

  /**
   * Takes `dir/LOCK`, a file holding the owner's pid. A LOCK left by a dead process (a crash,
   * a SIGKILL) is taken over. Caveats: a pid is only a hint. If the dead owner's pid has been
   * reused by an unrelated live process, the lock looks held and open fails with EBUSY until the
   * LOCK file is removed by hand; and two processes taking over the same stale lock at the same
   * instant can race (each re-reads the file before removing it, which narrows but does not
   * close the window). The lock does not cover other machines sharing the directory (NFS).
   */
  async lock(dir: string): Promise<DirLock> {
    let real: string;
    try {
      real = await fsp.realpath(dir);
    } catch (e) {
      throw toFsError(e, dir);
    }
    // Check and claim synchronously: two concurrent lock() calls cannot both pass.
    if (lockedDirs.has(real)) {
      throw new FsError('EBUSY', `database is locked by this process (pid ${process.pid})`, { path: dir });
    }
    lockedDirs.add(real);
    const lockPath = joinPath(real, 'LOCK');
    try {
      await acquireLockFile(lockPath);
    } catch (e) {
      lockedDirs.delete(real);
      throw e;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          // Remove the file only while it is still ours.
          if ((await readLockPid(lockPath)) === process.pid) await fsp.unlink(lockPath);
        } catch (e) {
          if ((e as { code?: unknown }).code !== 'ENOENT') throw toFsError(e, lockPath);
        } finally {
          lockedDirs.delete(real);
        }
      },
    };
  }
}

/** The pid in a LOCK file, or undefined if the file is empty or unreadable as a pid. */
async function readLockPid(lockPath: string): Promise<number | undefined> {
  const text = await fsp.readFile(lockPath, 'utf8');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 && String(pid) === text.trim() ? pid : undefined;
}

async function acquireLockFile(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await fsp.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw toFsError(e, lockPath);
    }
    const owner = await lockOwner(lockPath);
    if (owner === 'gone') continue;
    if (owner !== 'stale') {
      throw new FsError('EBUSY', `database is locked by process ${owner}`, { path: lockPath });
    }
    // Look again right before removing: another process may have taken the stale lock over.
    if ((await lockOwner(lockPath)) !== 'stale') continue;
    try {
      await fsp.unlink(lockPath);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ENOENT') throw toFsError(e, lockPath);
    }
  }
  throw new FsError('EBUSY', 'database lock is contended: gave up after 5 attempts', { path: lockPath });
}

/**
 * Who holds an existing LOCK file: a live pid, 'stale' (dead owner, or an earlier lock of this
 * very process that was never released: this process does not hold it, see `lockedDirs`), or
 * 'gone' (removed meanwhile). An empty file is a lock being written by its creator, or left by
 * a crash between create and write: wait until it is STALE_EMPTY_LOCK_MS old before calling it
 * stale.
 */
async function lockOwner(lockPath: string): Promise<number | 'stale' | 'gone'> {
  for (;;) {
    let pid: number | undefined;
    let ageMs: number;
    try {
      pid = await readLockPid(lockPath);
      ageMs = Date.now() - (await fsp.stat(lockPath)).mtimeMs;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return 'gone';
      throw toFsError(e, lockPath);
    }
    if (pid !== undefined) return pid !== process.pid && processAlive(pid) ? pid : 'stale';
    if (ageMs >= STALE_EMPTY_LOCK_MS) return 'stale';
    await sleep(Math.min(50, STALE_EMPTY_LOCK_MS - ageMs + 1));
  }
}
