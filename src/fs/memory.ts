/**
 * `MemoryFileSystem`: the FileSystem contract entirely in memory (browser-safe), with a model of
 * what survives a power failure, so recovery can be tested on a *crash clone*.
 *
 * Crash model. It assumes a file system that persists each file's writes in the order they
 * were made and each directory's operations in the order they were made, as ext4 with
 * data=ordered does for appends and renames; it does not model reordering across one file,
 * sector-granular tearing inside a write, or garbage (non-zero, non-written) bytes.
 * - File content. Each file (inode) has its current bytes, its durable bytes (as of the last
 *   `sync()` through any handle on it), and the ordered list of writes and truncates since.
 *   After a crash a file holds its durable bytes plus a PREFIX of that list, in order; the last
 *   write kept may be torn: only a prefix of its bytes lands.
 * - Write-back: once a file holds more than `unsyncedBytesMax` unsynced bytes, its oldest
 *   operations become durable on their own (down to half the limit), as dirty pages do. This
 *   only moves the durable point forward along the same order.
 * - Directory entries. Creating, renaming and removing a file change a directory's current
 *   entries at once but are durable only after `syncDir(dir)`. Each directory has its durable
 *   entries and the ordered list of entry operations since its last `syncDir`. After a crash a
 *   directory holds its durable entries plus a PREFIX of that list. A rename inside one
 *   directory is one operation: it applies whole or not at all, never half. A rename across
 *   directories is an unlink in the source and a link in the target, each kept or lost with its
 *   own directory (so the file may appear in both or neither).
 * - Directories themselves (`mkdir`) are durable at once: the engine creates its directory
 *   once, at open, and modelling the parent's fsync would only test that one call.
 * - `crashClone({ seed, keepUnsynced })` draws each prefix with a PRNG seeded by `seed`
 *   (directories in sorted order, then files in sorted order of first name), so one seed gives
 *   one clone. 'none' keeps only what was synced, 'all' keeps everything (no tearing), 'random'
 *   (default) keeps a prefix of uniform length in [0, n] of each list and tears the last write
 *   kept half the time.
 * - An unlinked file that is still open keeps its data until the crash, then is gone, unless
 *   its removal was not yet durable.
 *
 * Paths: '/'-separated; '.' segments, '..' segments and repeated or trailing '/' are resolved.
 * The roots '/' and '' (for relative paths) always exist. Renaming a directory is not supported
 * (EISDIR). Locks are per instance; a crash clone starts with none.
 */

import { Inode, keptCount, MemoryFileHandle, type KeepUnsynced } from './memory-file.js';
import { Prng } from './prng.js';
import { checkOffset, checkOpenOptions, FsError, type DirLock, type FileHandle, type FileSystem, type OpenOptions } from './types.js';

export type { KeepUnsynced } from './memory-file.js';

export interface MemoryFileSystemOptions {
  /**
   * Unsynced bytes kept per file before the oldest writes are written back (made durable) on
   * their own, as a kernel does with dirty pages. Bounds memory. Default 64 MiB; Infinity: never.
   */
  unsyncedBytesMax?: number;
}

export interface CrashCloneOptions {
  /** Seed of the PRNG that picks which unsynced operations survive. */
  seed: number;
  /** 'none': only synced state; 'all': everything; 'random' (default): a seeded share. */
  keepUnsynced?: KeepUnsynced;
}

type DirOp =
  | { kind: 'link'; name: string; inode: Inode }
  | { kind: 'unlink'; name: string }
  | { kind: 'rename'; from: string; to: string; inode: Inode };

function applyDirOp(entries: Map<string, Inode>, op: DirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.inode);
  else if (op.kind === 'unlink') entries.delete(op.name);
  else {
    entries.delete(op.from);
    entries.set(op.to, op.inode);
  }
}

/** One directory: current entries, durable entries, and the entry operations in between. */
class Dir {
  readonly entries = new Map<string, Inode>();
  durable = new Map<string, Inode>();
  pending: DirOp[] = [];

  apply(op: DirOp): void {
    applyDirOp(this.entries, op);
    this.pending.push(op);
  }

  sync(): void {
    this.durable = new Map(this.entries);
    this.pending = [];
  }
}

/** Resolves '.', '..', repeated and trailing '/'. Keeps a leading '/'. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return (path.startsWith('/') ? '/' : '') + out.join('/');
}

/** Splits a normalized non-root path into its parent directory and its name. */
function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  if (i < 0) return ['', path];
  return [i === 0 ? '/' : path.slice(0, i), path.slice(i + 1)];
}

function isRoot(path: string): boolean {
  return path === '' || path === '/';
}

function childPath(dir: string, name: string): string {
  return dir === '' ? name : dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export class MemoryFileSystem implements FileSystem {
  readonly name = 'memory';
  readonly simulated = true;
  private readonly dirs = new Map<string, Dir>([
    ['', new Dir()],
    ['/', new Dir()],
  ]);
  private readonly locked = new Set<string>();
  private readonly unsyncedBytesMax: number;

  constructor(options: MemoryFileSystemOptions = {}) {
    const max = options.unsyncedBytesMax ?? 64 * 1024 * 1024;
    if (!(max === Infinity || (Number.isSafeInteger(max) && max > 0))) {
      throw new RangeError(`unsyncedBytesMax must be a positive integer or Infinity, got ${max}`);
    }
    this.unsyncedBytesMax = max;
  }

  /** Opens a file; see OpenOptions. Missing parent: ENOENT; a directory: EISDIR. */
  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkOpenOptions(path, options);
    const p = normalizePath(path);
    if (this.dirs.has(p)) throw new FsError('EISDIR', 'open: path is a directory', { path });
    const [dir, name] = this.parentOf(p, path);
    let inode = dir.entries.get(name);
    if (inode === undefined) {
      if (options.create !== true) throw new FsError('ENOENT', 'open: no such file', { path });
      inode = new Inode(undefined, this.unsyncedBytesMax);
      dir.apply({ kind: 'link', name, inode });
    } else if (options.exclusive === true) {
      throw new FsError('EEXIST', 'open: file exists', { path });
    }
    if (options.truncate === true) inode.truncate(0);
    return new MemoryFileHandle(path, inode, options.readOnly === true);
  }

  /** Names of the files and subdirectories of `dir`, sorted. */
  async list(dir: string): Promise<string[]> {
    const p = normalizePath(dir);
    const d = this.dirs.get(p);
    if (d === undefined) throw new FsError('ENOENT', 'list: no such directory', { path: dir });
    const names = [...d.entries.keys()];
    for (const other of this.dirs.keys()) {
      if (!isRoot(other) && splitPath(other)[0] === p) names.push(splitPath(other)[1]);
    }
    return names.sort();
  }

  /** Atomic within a directory; durable after `syncDir` (see the crash model above). */
  async rename(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    if (this.dirs.has(f) || this.dirs.has(t)) {
      throw new FsError('EISDIR', 'rename: directories cannot be renamed in the memory backend', { path: `${from} -> ${to}` });
    }
    const [fromDir, fromName] = this.parentOf(f, from);
    const [toDir, toName] = this.parentOf(t, to);
    const inode = fromDir.entries.get(fromName);
    if (inode === undefined) throw new FsError('ENOENT', 'rename: no such file', { path: from });
    if (f === t) return;
    if (fromDir === toDir) {
      fromDir.apply({ kind: 'rename', from: fromName, to: toName, inode });
    } else {
      fromDir.apply({ kind: 'unlink', name: fromName });
      toDir.apply({ kind: 'link', name: toName, inode });
    }
  }

  /** Removes a file name; open handles keep working. Missing: ENOENT; a directory: EISDIR. */
  async remove(path: string): Promise<void> {
    const p = normalizePath(path);
    if (this.dirs.has(p)) throw new FsError('EISDIR', 'remove: path is a directory', { path });
    const [dir, name] = this.parentOf(p, path);
    if (!dir.entries.has(name)) throw new FsError('ENOENT', 'remove: no such file', { path });
    dir.apply({ kind: 'unlink', name });
  }

  /** Creates `dir` and its parents, durable at once. A file in the way: EEXIST. */
  async mkdir(dir: string): Promise<void> {
    this.mkdirSync(dir);
  }

  async exists(path: string): Promise<boolean> {
    const p = normalizePath(path);
    if (this.dirs.has(p)) return true;
    const [parent, name] = splitPath(p);
    return this.dirs.get(parent)?.entries.has(name) ?? false;
  }

  /** Makes every entry operation in `dir` so far durable. Missing directory: ENOENT. */
  async syncDir(dir: string): Promise<void> {
    const d = this.dirs.get(normalizePath(dir));
    if (d === undefined) throw new FsError('ENOENT', 'syncDir: no such directory', { path: dir });
    d.sync();
  }

  /** Creates `dir/LOCK` (like the node backend) and holds `dir` until release. Held: EBUSY. */
  async lock(dir: string): Promise<DirLock> {
    const p = normalizePath(dir);
    if (!this.dirs.has(p)) throw new FsError('ENOENT', 'lock: no such directory', { path: dir });
    if (this.locked.has(p)) throw new FsError('EBUSY', 'database is locked (memory file system)', { path: dir });
    this.locked.add(p);
    const lockPath = childPath(p, 'LOCK');
    try {
      (await this.open(lockPath, { create: true, truncate: true })).close();
    } catch (e) {
      this.locked.delete(p);
      throw e;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.locked.delete(p);
        if (await this.exists(lockPath)) await this.remove(lockPath);
      },
    };
  }

  /** A new file system holding what a power failure now would leave; see the crash model. */
  crashClone(options: CrashCloneOptions): MemoryFileSystem {
    const keep = options.keepUnsynced ?? 'random';
    if (keep !== 'none' && keep !== 'all' && keep !== 'random') {
      throw new RangeError(`keepUnsynced must be 'none', 'all' or 'random', got ${String(keep)}`);
    }
    const prng = new Prng(options.seed);
    const clone = new MemoryFileSystem({ unsyncedBytesMax: this.unsyncedBytesMax });
    const dirPaths = [...this.dirs.keys()].sort();
    for (const path of dirPaths) if (!clone.dirs.has(path)) clone.dirs.set(path, new Dir());
    const cloned = new Map<Inode, Inode>();
    for (const path of dirPaths) {
      const dir = this.dirs.get(path)!;
      const entries = new Map(dir.durable);
      const k = keptCount(dir.pending.length, keep, prng);
      for (let i = 0; i < k; i++) applyDirOp(entries, dir.pending[i]!);
      const target = clone.dirs.get(path)!;
      for (const name of [...entries.keys()].sort()) {
        if (clone.dirs.has(childPath(path, name))) continue; // a later mkdir took the name
        const inode = entries.get(name)!;
        let copy = cloned.get(inode);
        if (copy === undefined) {
          copy = new Inode(inode.crashContent(keep, prng), this.unsyncedBytesMax);
          cloned.set(inode, copy);
        }
        target.entries.set(name, copy);
      }
      target.sync();
    }
    return clone;
  }

  // ---- Test helpers: synchronous, on current state, outside the FileSystem contract. ----

  /** A copy of a file's current bytes. Missing: ENOENT. */
  readFileSync(path: string): Uint8Array {
    return this.inodeAt(path).current.copy();
  }

  /**
   * Creates or replaces a file with `data`, durable at once: the content, and the entry (by
   * syncing the parent directory, which makes its other pending entry operations durable too).
   * Creates missing parent directories. Open handles on an existing file see the new content.
   */
  writeFileSync(path: string, data: Uint8Array): void {
    const p = normalizePath(path);
    if (this.dirs.has(p)) throw new FsError('EISDIR', 'writeFileSync: path is a directory', { path });
    const [parent, name] = splitPath(p);
    this.mkdirSync(parent);
    const dir = this.dirs.get(parent)!;
    let inode = dir.entries.get(name);
    if (inode === undefined) {
      inode = new Inode(undefined, this.unsyncedBytesMax);
      dir.apply({ kind: 'link', name, inode });
    }
    inode.setDurable(data);
    dir.sync();
  }

  /** Paths of every file (not directory), sorted. */
  listAllSync(): string[] {
    const out: string[] = [];
    for (const [path, dir] of this.dirs) for (const name of dir.entries.keys()) out.push(childPath(path, name));
    return out.sort();
  }

  /** Sum of the current sizes of all named files (a file with two names counts once). */
  totalBytes(): number {
    const seen = new Set<Inode>();
    let total = 0;
    for (const dir of this.dirs.values()) {
      for (const inode of dir.entries.values()) {
        if (!seen.has(inode)) total += inode.current.length;
        seen.add(inode);
      }
    }
    return total;
  }

  /** XORs the byte at `offset` with `xorMask` (bit rot); the damaged content is durable at once. */
  corruptByte(path: string, offset: number, xorMask = 0xff): void {
    const inode = this.inodeAt(path);
    checkOffset(offset, 'corrupt offset');
    if (offset >= inode.current.length) throw new RangeError(`offset ${offset} is past the end of ${path} (${inode.current.length} bytes)`);
    if (!Number.isInteger(xorMask) || xorMask < 1 || xorMask > 0xff) throw new RangeError(`xorMask must be in 1..255, got ${xorMask}`);
    inode.current.xorByte(offset, xorMask);
    inode.setDurable(inode.current.copy());
  }

  /** Sets a file's length directly (a lost tail, zero-filled growth), durable at once. */
  truncateSync(path: string, size: number): void {
    const inode = this.inodeAt(path);
    checkOffset(size, 'truncate size');
    inode.current.truncate(size);
    inode.setDurable(inode.current.copy());
  }

  /** O(total bytes) check of the invariants of every file and directory. Throws on breakage. */
  verify(): void {
    for (const [path, dir] of this.dirs) {
      const replay = new Map(dir.durable);
      for (const op of dir.pending) applyDirOp(replay, op);
      const same = replay.size === dir.entries.size && [...replay].every(([n, i]) => dir.entries.get(n) === i);
      if (!same) throw new Error(`memory fs invariant broken: durable + pending != entries in '${path}'`);
      for (const [name, inode] of dir.entries) inode.verify(childPath(path, name));
    }
  }

  private mkdirSync(dir: string): void {
    const p = normalizePath(dir);
    const missing: string[] = [];
    for (let q = p; !this.dirs.has(q); q = splitPath(q)[0]) missing.push(q);
    for (const q of missing.reverse()) {
      const [parent, name] = splitPath(q);
      if (this.dirs.get(parent)!.entries.has(name)) throw new FsError('EEXIST', 'mkdir: a file is in the way', { path: q });
      this.dirs.set(q, new Dir());
    }
  }

  private inodeAt(path: string): Inode {
    const [parent, name] = splitPath(normalizePath(path));
    const inode = this.dirs.get(parent)?.entries.get(name);
    if (inode === undefined) throw new FsError('ENOENT', 'no such file', { path });
    return inode;
  }

  /** The directory holding normalized path `p` and the name in it. Missing parent: ENOENT. */
  private parentOf(p: string, original: string): [Dir, string] {
    if (isRoot(p)) throw new FsError('EISDIR', 'path is a root directory', { path: original });
    const [parent, name] = splitPath(p);
    const dir = this.dirs.get(parent);
    if (dir === undefined) throw new FsError('ENOENT', 'parent directory does not exist', { path: original });
    return [dir, name];
  }
}
