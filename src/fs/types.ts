/**
 * The one way to the disk. Every other module reads and writes files through `FileSystem`, so
 * the same engine runs on Node (`node` backend), in memory (`memory` backend, with crash
 * clones for simulation), in the browser (OPFS) and under fault injection (`fault` wrapper).
 *
 * Shape: operations on the directory tree (open, list, rename, remove, mkdir) may be async,
 * because OPFS makes them so. Operations on an open handle (read and write at an offset, sync,
 * truncate, size) are synchronous, because OPFS sync access handles are, and because the hot
 * paths (WAL append, block read) must not pay for a promise per call.
 *
 * Paths are '/'-separated; a database lives in one directory and names files inside it.
 *
 * Errors: backends throw `FsError` with a POSIX-like `code` (ENOENT, EEXIST, ENOSPC, EIO,
 * EACCES, EBUSY, ...). The engine maps ENOSPC to ErrInsufficientDiskSpace and the rest to
 * ErrIO / ErrStoreFailed. An injected fault is an FsError with `injected === true`.
 */

export interface FileHandle {
  /** Path the handle was opened with. */
  readonly path: string;
  /**
   * Reads up to `buf.length` bytes starting at `position` into `buf`. Returns the number of
   * bytes read, which is less than `buf.length` only when the file ends first.
   */
  readAt(buf: Uint8Array, position: number): number;
  /**
   * Writes all of `data` at `position`, extending the file if needed (a gap reads as zeros).
   * Data written is visible to reads at once but durable only after `sync()`.
   */
  writeAt(data: Uint8Array, position: number): void;
  /** Makes every write so far durable (fdatasync). Throws if that cannot be guaranteed. */
  sync(): void;
  /**
   * The same as `sync()` without blocking the caller's thread while the disk works (Node runs
   * fdatasync on libuv's pool). Optional: callers fall back to `sync()`. Writes made while it
   * runs may or may not be covered.
   */
  syncAsync?(): Promise<void>;
  /** Sets the file's length; bytes past it are gone, a longer length reads as zeros. */
  truncate(size: number): void;
  /** Current length in bytes, including unsynced writes. */
  size(): number;
  /** Releases the handle. Does not sync. Closing twice is a no-op. */
  close(): void;
}

export interface OpenOptions {
  /** Create the file if it does not exist (default false: a missing file throws ENOENT). */
  create?: boolean;
  /** Fail with EEXIST if the file exists (needs `create`). */
  exclusive?: boolean;
  /** Cut the file to zero length on open. */
  truncate?: boolean;
  /** Open for reading only; writes through the handle throw. */
  readOnly?: boolean;
}

/** An exclusive lock on a database directory, held until `release()`. */
export interface DirLock {
  release(): Promise<void>;
}

export interface FileSystem {
  /** Short name for messages: 'node', 'memory', 'opfs', 'fault(node)'. */
  readonly name: string;
  /**
   * A simulated file system (memory, and fault wrappers over it): background jobs then give
   * the event loop turns after fixed amounts of work rather than fixed time, so a seeded run
   * interleaves the same way every time and replays exactly.
   */
  readonly simulated?: boolean;
  /** Opens (and with `create`, creates) a file. A missing parent directory throws ENOENT. */
  open(path: string, options?: OpenOptions): Promise<FileHandle>;
  /** Names (not paths) of the entries in a directory, sorted. A missing directory throws ENOENT. */
  list(dir: string): Promise<string[]>;
  /**
   * Renames `from` to `to`, atomically replacing `to` if it exists. Durable only after
   * `syncDir` of the directory.
   */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file. A missing file throws ENOENT. Durable only after `syncDir`. */
  remove(path: string): Promise<void>;
  /** Creates a directory and its parents; an existing directory is fine. */
  mkdir(dir: string): Promise<void>;
  /** Whether a file or directory exists. */
  exists(path: string): Promise<boolean>;
  /** Makes creations, renames and removals in `dir` durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes the exclusive writer lock of a database directory (file `LOCK` inside it). Throws
   * FsError EBUSY if another writer, in this process or another, holds it.
   */
  lock(dir: string): Promise<DirLock>;
}

export type FsErrorCode = 'ENOENT' | 'EEXIST' | 'ENOSPC' | 'EIO' | 'EACCES' | 'EBUSY' | 'EBADF' | 'EISDIR' | 'EINVAL' | 'EOTHER';

export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly path: string | undefined;
  /** True when the fault-injecting file system made this error on purpose. */
  readonly injected: boolean;
  constructor(code: FsErrorCode, message: string, options?: { path?: string; injected?: boolean; cause?: unknown }) {
    super(`${code}: ${message}${options?.path === undefined ? '' : ` (${options.path})`}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FsError';
    this.code = code;
    this.path = options?.path;
    this.injected = options?.injected ?? false;
  }
}

export function isFsError(e: unknown, code?: FsErrorCode): e is FsError {
  return e instanceof FsError && (code === undefined || e.code === code);
}

/** Joins path segments with '/', collapsing duplicate separators. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p.length > 0).join('/');
  return joined.replace(/\/+/g, '/');
}

/** Directory part of a path ('' for a bare name). */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : i === 0 ? '/' : path.slice(0, i);
}

export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/**
 * Throws RangeError unless `value` is a non-negative safe integer: every backend checks file
 * offsets and lengths with it, so a bad offset fails the same way everywhere.
 */
export function checkOffset(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** Rejects OpenOptions combinations whose meaning differs between platforms (FsError EINVAL). */
export function checkOpenOptions(path: string, options: OpenOptions): void {
  if (options.exclusive === true && options.create !== true) {
    throw new FsError('EINVAL', 'open: exclusive needs create', { path });
  }
  if (options.readOnly === true && options.truncate === true) {
    throw new FsError('EINVAL', 'open: readOnly and truncate exclude each other', { path });
  }
}
