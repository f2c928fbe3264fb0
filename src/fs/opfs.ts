/**
 * `OpfsFileSystem`: the FileSystem contract over the browser's Origin Private File System.
 * It works only inside a dedicated Worker, the one place where `createSyncAccessHandle()`
 * exists: handle operations (read, write, flush, truncate, size) are synchronous there, which
 * is what the FileSystem interface asks of handles. Directory operations (open, list, rename
 * via `move()`, remove) are async, as OPFS makes them.
 *
 * Contracts, as Chromium implements OPFS (108+; `move()` 110+, access handle modes 121+):
 * - `sync()` is the access handle's `flush()`: the browser persists the file's data before it
 *   returns (an fsync in Chromium's storage backend).
 * - `rename` is `FileSystemFileHandle.move()`, which replaces an existing target in one step.
 *   Renames and removals are recorded by the browser's storage backend as they happen; there is
 *   no directory fsync, so `syncDir` only checks that the directory exists. A crash of the tab
 *   or of the whole browser keeps them; after a power failure they are as durable as the
 *   browser makes its own bookkeeping.
 * - Each open file holds the browser's exclusive lock on it (other tabs and workers cannot open
 *   it: EBUSY). Opening costs a round trip to the browser process, so files are kept open: a file
 *   the engine closes idles in a small pool and is reused by the next `open()` of its path. An
 *   idle file is really closed when the pool overflows, when it is renamed or removed, and when
 *   the database lock of its directory is released, so that another tab can open it next.
 *   Renaming or removing a file that is still open (not idle) fails with EBUSY; the engine never
 *   does that.
 * - Small writes are gathered per file and handed to the browser in one `write()` call (see
 *   opfs-file.ts for what that means after a crash: the newest writes of the current task).
 * - QuotaExceededError becomes FsError ENOSPC (the engine's ErrInsufficientDiskSpace);
 *   NotFoundError ENOENT; TypeMismatchError EISDIR; NoModificationAllowedError EBUSY.
 * - `lock(dir)` takes the Web Lock `sett:<dir>` (navigator.locks, exclusive): one writer per
 *   database across every tab and worker of the origin. The browser drops the lock when the
 *   worker holding it dies. `lockShared(dir)` is the read-only opener's side of the same lock.
 *
 * Paths are '/'-separated, relative to the OPFS root (a leading '/' is the root too); '.' and
 * '..' segments are resolved. Renaming directories is not supported (EISDIR).
 */
import { type AccessMode, OpenFile, OpfsFileHandle, type SyncAccessHandle, toFsError } from './opfs-file.js';
import { normalizePath } from './memory.js';
import { lockNamePrefix, takeWebLock } from './opfs-lock.js';
import { checkOpenOptions, FsError, type DirLock, type FileHandle, type FileSystem, type OpenOptions } from './types.js';

export { writeBufferBytesMax } from './opfs-file.js';

/** The parts of the OPFS handle types used here (structural, so tests can pass fakes). */
interface OpfsFileEntry {
  readonly kind: 'file';
  readonly name: string;
  createSyncAccessHandle(options?: { mode?: AccessMode }): Promise<SyncAccessHandle>;
  move(nameOrParent: string | OpfsDirectory, name?: string): Promise<void>;
}

export interface OpfsDirectory {
  readonly kind: 'directory';
  readonly name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectory>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<unknown>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
}

export interface OpfsFileSystemOptions {
  /** Directory that paths are relative to. Default: the origin's OPFS root. */
  root?: OpfsDirectory | FileSystemDirectoryHandle;
  /** Files kept open after the engine closes them. Default 32. */
  idleFilesMax?: number;
}

export { lockNamePrefix } from './opfs-lock.js';

function splitParent(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return i < 0 ? ['', p] : [p.slice(0, i), p.slice(i + 1)];
}

function isRoot(p: string): boolean {
  return p === '';
}

/** Normalized path relative to the root: '/db/x', 'db/x' and './db//x' all give 'db/x'. */
function norm(path: string): string {
  return normalizePath(path).replace(/^\/+/, '');
}

/** Whether normalized path `p` lies inside (or is) normalized directory `dir`. */
function within(p: string, dir: string): boolean {
  if (isRoot(dir)) return true;
  return p === dir || p.startsWith(`${dir}/`);
}

/** Whether this context can use OPFS sync access handles (a dedicated worker in a secure context). */
export function opfsSupported(): boolean {
  const g = globalThis as { navigator?: { storage?: { getDirectory?: unknown } }; FileSystemFileHandle?: { prototype?: object } };
  return typeof g.navigator?.storage?.getDirectory === 'function' && g.FileSystemFileHandle?.prototype !== undefined && 'createSyncAccessHandle' in g.FileSystemFileHandle.prototype;
}

export class OpfsFileSystem implements FileSystem {
  readonly name = 'opfs';
  private rootPromise: Promise<OpfsDirectory> | undefined;
  private readonly dirs = new Map<string, OpfsDirectory>();
  /** Open files by normalized path, in use or idle. */
  private readonly files = new Map<string, OpenFile>();
  /** Idle open files (refs 0), oldest first. */
  private readonly idle = new Set<OpenFile>();
  /** Opens in flight, so two concurrent opens of one path share one access handle. */
  private readonly opening = new Map<string, Promise<OpenFile>>();
  /** Directories this instance holds the writer lock of (files there open read-write). */
  private readonly writeLocked = new Set<string>();
  private readonly idleFilesMax: number;
  private readonly dirty = new Set<OpenFile>();
  private writeBackScheduled = false;

  constructor(options: OpfsFileSystemOptions = {}) {
    if (options.root !== undefined) this.rootPromise = Promise.resolve(options.root as OpfsDirectory);
    const max = options.idleFilesMax ?? 32;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`idleFilesMax must be a non-negative integer, got ${max}`);
    this.idleFilesMax = max;
  }

  /** Opens a file; see OpenOptions. Missing parent: ENOENT; a directory: EISDIR; held elsewhere: EBUSY. */
  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkOpenOptions(path, options);
    const p = norm(path);
    if (isRoot(p)) throw new FsError('EISDIR', 'open: path is a root directory', { path });
    const readOnly = options.readOnly === true;
    let file = await this.openFile(p, path, options);
    // A file idling read-only cannot serve a writer: reopen it read-write.
    if (!readOnly && file.mode === 'read-only') {
      if (file.refs > 0) throw new FsError('EBUSY', 'open: file is open read-only by this database', { path });
      this.closeFile(file);
      file = await this.openFile(p, path, options);
    }
    if (options.truncate === true) file.truncate(0);
    file.refs++;
    this.idle.delete(file);
    return new OpfsFileHandle(path, file, readOnly, (f) => this.releaseFile(f));
  }

  /** Names of the files and subdirectories of `dir`, sorted. Missing: ENOENT. */
  async list(dir: string): Promise<string[]> {
    const d = await this.dirAt(norm(dir), dir);
    const names: string[] = [];
    try {
      for await (const name of d.keys()) names.push(name);
    } catch (e) {
      throw toFsError(e, dir, 'list');
    }
    return names.sort();
  }

  /** `move()`: replaces `to` in one step. Either file still open (not idle): EBUSY. */
  async rename(from: string, to: string): Promise<void> {
    const f = norm(from);
    const t = norm(to);
    const where = `${from} -> ${to}`;
    if (isRoot(f) || isRoot(t)) throw new FsError('EISDIR', 'rename: a root directory cannot be renamed', { path: where });
    this.closeIdle(f, where);
    this.closeIdle(t, where);
    const [fromDir, fromName] = splitParent(f);
    const [toDir, toName] = splitParent(t);
    const source = await this.fileEntry(await this.dirAt(fromDir, from), fromName, from);
    if (f === t) return;
    const target = await this.dirAt(toDir, to);
    if (await this.isDirectory(target, toName)) throw new FsError('EISDIR', 'rename: target is a directory', { path: where });
    try {
      if (fromDir === toDir) await source.move(toName);
      else await source.move(target, toName);
    } catch (e) {
      throw toFsError(e, where, 'rename');
    }
  }

  /** Removes a file. Missing: ENOENT; a directory: EISDIR; still open (not idle): EBUSY. */
  async remove(path: string): Promise<void> {
    const p = norm(path);
    if (isRoot(p)) throw new FsError('EISDIR', 'remove: path is a root directory', { path });
    this.closeIdle(p, path);
    const [parent, name] = splitParent(p);
    const dir = await this.dirAt(parent, path);
    await this.fileEntry(dir, name, path); // ENOENT / EISDIR before removeEntry, which would take an empty directory too
    try {
      await dir.removeEntry(name);
    } catch (e) {
      throw toFsError(e, path, 'remove');
    }
  }

  /**
   * Creates `dir` and its parents. A file in the way: EEXIST. Resolves every level afresh (not
   * from the cache of directory handles), so a directory removed behind this instance's back,
   * e.g. by another tab, is created again rather than used stale.
   */
  async mkdir(dir: string): Promise<void> {
    const p = norm(dir);
    let d = await this.root();
    let at = '';
    for (const seg of p.split('/')) {
      if (seg.length === 0) continue;
      at = at === '' ? seg : `${at}/${seg}`;
      try {
        d = await d.getDirectoryHandle(seg, { create: true });
      } catch (e) {
        const err = toFsError(e, at, 'mkdir');
        throw err.code === 'EISDIR' ? new FsError('EEXIST', 'mkdir: a file is in the way', { path: at, cause: e }) : err;
      }
      this.dirs.set(at, d);
    }
  }

  /** Whether a file or directory exists (asked of OPFS each time, not of caches). */
  async exists(path: string): Promise<boolean> {
    const p = norm(path);
    if (isRoot(p)) return true;
    if (this.files.has(p)) return true; // open here: OPFS keeps it from being removed
    const [parent, name] = splitParent(p);
    let dir = await this.root();
    try {
      for (const seg of parent.split('/')) if (seg.length > 0) dir = await dir.getDirectoryHandle(seg);
    } catch (e) {
      const err = toFsError(e, path, 'exists');
      if (err.code === 'ENOENT' || err.code === 'EISDIR') return false;
      throw err;
    }
    try {
      await dir.getFileHandle(name);
      return true;
    } catch (e) {
      const code = toFsError(e, path, 'exists').code;
      if (code === 'ENOENT') return false;
      if (code === 'EISDIR') return true; // a directory by that name
      throw toFsError(e, path, 'exists');
    }
  }

  /** OPFS has no directory fsync (see the header); checks that `dir` exists. */
  async syncDir(dir: string): Promise<void> {
    await this.dirAt(norm(dir), dir);
  }

  /**
   * The writer lock: Web Lock `sett:<dir>`, exclusive, across every tab and worker of the
   * origin. Held elsewhere (a writer or a read-only view): EBUSY. Releasing it closes this
   * directory's idle files, so the next holder can open them.
   */
  async lock(dir: string): Promise<DirLock> {
    const p = norm(dir);
    await this.dirAt(p, dir);
    if (this.writeLocked.has(p)) throw new FsError('EBUSY', 'database is already open for writing in this worker', { path: dir });
    this.writeLocked.add(p);
    try {
      const held = await takeWebLock(p, 'exclusive');
      if (held === undefined) {
        throw new FsError('EBUSY', `database is open in another tab or worker of this origin (Web Lock '${lockNamePrefix}${p}' is held)`, { path: dir });
      }
      return {
        release: async () => {
          if (!this.writeLocked.has(p)) return;
          try {
            this.closeIdleUnder(p);
          } finally {
            this.writeLocked.delete(p);
            await held.release();
          }
        },
      };
    } catch (e) {
      this.writeLocked.delete(p);
      throw e;
    }
  }

  /**
   * The read-only opener's side of the lock: shared with other read-only openers, excluded by
   * a writer (EBUSY). Files opened read-only while it is held use read-only access handles, so
   * several tabs can read one database when nobody writes it.
   */
  async lockShared(dir: string): Promise<DirLock> {
    const p = norm(dir);
    const held = await takeWebLock(p, 'shared');
    if (held === undefined) {
      throw new FsError('EBUSY', `database is open for writing in another tab or worker of this origin (Web Lock '${lockNamePrefix}${p}' is held)`, { path: dir });
    }
    return {
      release: async () => {
        try {
          this.closeIdleUnder(p);
        } finally {
          await held.release();
        }
      },
    };
  }

  /** Writes back every buffered write now (the timer does it at the end of each task anyway). */
  writeBackAll(): void {
    this.writeBackScheduled = false;
    const files = [...this.dirty];
    this.dirty.clear();
    for (const f of files) f.writeBackDeferred();
  }

  /** Closes every idle file (those still in use stay open). */
  closeIdleFiles(): void {
    for (const f of [...this.idle]) this.closeFile(f);
  }

  /** Open files (in use or idle) and idle ones: for tests and stats. */
  openFileCount(): { open: number; idle: number } {
    return { open: this.files.size, idle: this.idle.size };
  }

  // ---- internals ----

  private root(): Promise<OpfsDirectory> {
    this.rootPromise ??= (async () => {
      const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<unknown> } } }).navigator?.storage;
      if (typeof storage?.getDirectory !== 'function') {
        throw new FsError('EACCES', 'OPFS is not available here: navigator.storage.getDirectory is missing (needs a secure context: https, localhost or 127.0.0.1)', { path: '/' });
      }
      return (await storage.getDirectory()) as OpfsDirectory;
    })();
    return this.rootPromise;
  }

  /** The directory handle at normalized path `p`. Missing: ENOENT; a file: ENOENT. */
  private async dirAt(p: string, original: string): Promise<OpfsDirectory> {
    if (isRoot(p)) return this.root();
    const cached = this.dirs.get(p);
    if (cached !== undefined) return cached;
    const [parent, name] = splitParent(p);
    const up = await this.dirAt(parent, original);
    let d: OpfsDirectory;
    try {
      d = await up.getDirectoryHandle(name);
    } catch (e) {
      const err = toFsError(e, original, 'directory');
      throw err.code === 'EISDIR' ? new FsError('ENOENT', 'a path component is a file', { path: original, cause: e }) : err;
    }
    this.dirs.set(p, d);
    return d;
  }

  /** The file entry `name` in `dir`. Missing: ENOENT; a directory: EISDIR. */
  private async fileEntry(dir: OpfsDirectory, name: string, original: string, create = false): Promise<OpfsFileEntry> {
    try {
      return (await dir.getFileHandle(name, { create })) as OpfsFileEntry;
    } catch (e) {
      throw toFsError(e, original, 'open');
    }
  }

  private async isDirectory(dir: OpfsDirectory, name: string): Promise<boolean> {
    try {
      await dir.getDirectoryHandle(name);
      return true;
    } catch {
      return false;
    }
  }

  /** The open file at `p`, opening it (one access handle per path, shared). */
  private async openFile(p: string, original: string, options: OpenOptions): Promise<OpenFile> {
    for (;;) {
      const existing = this.files.get(p);
      if (existing !== undefined) {
        if (options.exclusive === true) throw new FsError('EEXIST', 'open: file exists', { path: original });
        return existing;
      }
      const inFlight = this.opening.get(p);
      if (inFlight === undefined) break;
      await inFlight.catch(() => undefined);
    }
    const run = this.openAccess(p, original, options);
    this.opening.set(p, run);
    try {
      return await run;
    } finally {
      this.opening.delete(p);
    }
  }

  private async openAccess(p: string, original: string, options: OpenOptions): Promise<OpenFile> {
    const [parent, name] = splitParent(p);
    const dir = await this.dirAt(parent, original);
    if (options.exclusive === true) {
      let exists = true;
      try {
        await dir.getFileHandle(name);
      } catch (e) {
        const err = toFsError(e, original, 'open');
        if (err.code !== 'ENOENT') throw err;
        exists = false;
      }
      if (exists) throw new FsError('EEXIST', 'open: file exists', { path: original });
    }
    const entry = await this.fileEntry(dir, name, original, options.create === true);
    // Read-write unless this is a read-only open outside a directory we hold the writer lock of.
    const mode: AccessMode = options.readOnly === true && !this.writeLocked.has(parent) ? 'read-only' : 'readwrite';
    let access: SyncAccessHandle;
    try {
      access = await entry.createSyncAccessHandle({ mode });
    } catch (e) {
      throw toFsError(e, original, 'open');
    }
    const file = new OpenFile(p, access, mode, (f) => this.markDirty(f));
    this.files.set(p, file);
    return file;
  }

  private releaseFile(file: OpenFile): void {
    if (file.closed) return;
    file.refs--;
    if (file.refs > 0) return;
    // Hand buffered bytes to the browser now: an idle file may sit untouched for long.
    file.writeBackDeferred();
    this.idle.add(file);
    while (this.idle.size > this.idleFilesMax) {
      const oldest = this.idle.values().next().value as OpenFile;
      this.closeFile(oldest);
    }
  }

  private closeFile(file: OpenFile): void {
    this.idle.delete(file);
    this.dirty.delete(file);
    if (this.files.get(file.path) === file) this.files.delete(file.path);
    file.closeAccess();
  }

  /** Before a rename or removal: close the idle file at `p`; one still in use is EBUSY. */
  private closeIdle(p: string, original: string): void {
    const file = this.files.get(p);
    if (file === undefined) return;
    if (file.refs > 0) throw new FsError('EBUSY', 'file is open; close it before renaming or removing it (OPFS locks open files)', { path: original });
    this.closeFile(file);
  }

  private closeIdleUnder(dir: string): void {
    let error: unknown;
    for (const f of [...this.idle]) {
      if (!within(f.path, dir)) continue;
      try {
        this.closeFile(f);
      } catch (e) {
        error ??= e;
      }
    }
    if (error !== undefined) throw error;
  }

  private markDirty(file: OpenFile): void {
    this.dirty.add(file);
    if (this.writeBackScheduled) return;
    this.writeBackScheduled = true;
    setTimeout(() => this.writeBackAll(), 0);
  }
}
