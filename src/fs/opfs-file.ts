/**
 * One open OPFS file: its `FileSystemSyncAccessHandle`, shared by every `FileHandle` the engine
 * holds on that path, and a write buffer in front of it.
 *
 * Why a buffer: each `write()` on a sync access handle costs tens of microseconds whatever its
 * size (a call into the browser's file layer), while a read costs about two. The WAL appends one
 * small record per commit group, so unsynced single puts would spend most of their time there.
 * Contiguous writes are gathered into one buffer and written with one call.
 *
 * Invariants (asserted where cheap):
 * - The buffer holds bytes [pendingStart, pendingStart + pendingLength) of the file's current
 *   content, not yet handed to the browser. Everything outside that range is in the file.
 * - The buffer is written back, in full, before: a read that overlaps it, `sync()`, a write that
 *   does not continue it or would overflow it, the handle's last close, a rename or removal of
 *   the file, and at the latest at the end of the current task (a timer the file system runs).
 *   So a crash of the tab loses at most the writes of the current task, all of them newer than
 *   what is in the file: never an older write while keeping a newer one.
 * - A write-back that fails (quota) keeps the bytes buffered and throws from the call that
 *   asked for it; the timer's write-back keeps them and leaves the error to the next call.
 *   `truncate()` drops buffered bytes past the new length without writing them, which is how
 *   the WAL writer's cut-back after a failed append stays clean.
 */
import { checkOffset, FsError, type FileHandle, type FsErrorCode } from './types.js';

/** The parts of `FileSystemSyncAccessHandle` used here (Chromium 108+ shape: all synchronous). */
export interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

export type AccessMode = 'readwrite' | 'read-only';

/** Buffered bytes per open file before a write-back. */
export const writeBufferBytesMax = 256 * 1024;
/** Writes at least this long skip the buffer (after writing it back). */
const directWriteBytesMin = 64 * 1024;

const DOM_TO_CODE: Readonly<Record<string, FsErrorCode>> = {
  NotFoundError: 'ENOENT',
  TypeMismatchError: 'EISDIR',
  NoModificationAllowedError: 'EBUSY',
  QuotaExceededError: 'ENOSPC',
  InvalidStateError: 'EBADF',
  NotAllowedError: 'EACCES',
  SecurityError: 'EACCES',
  InvalidModificationError: 'EINVAL',
  NotReadableError: 'EIO',
};

/**
 * Wraps a DOMException from OPFS in an FsError with the original as `cause`. QuotaExceededError
 * becomes ENOSPC, which the engine reports as ErrInsufficientDiskSpace; NoModificationAllowedError
 * (another tab or worker holds the file) becomes EBUSY.
 */
export function toFsError(e: unknown, path: string, what: string): FsError {
  if (e instanceof FsError) return e;
  const name = (e as { name?: unknown } | null)?.name;
  const code = typeof name === 'string' ? (DOM_TO_CODE[name] ?? 'EIO') : 'EIO';
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const hint = code === 'EBUSY' ? ' (the file is open in another tab or worker of this origin)' : code === 'ENOSPC' ? ' (the origin is out of storage quota)' : '';
  return new FsError(code, `${what}: ${message}${hint}`, { path, cause: e });
}

/** Shared state of one open file. Owned by OpfsFileSystem's pool; handles reference it. */
export class OpenFile {
  /** Open FileHandles on it; at zero the file idles in the pool, still open. */
  refs = 0;
  /** Set once the access handle is closed; the pool then forgets this file. */
  closed = false;
  private buffer: Uint8Array | undefined;
  private pendingStart = 0;
  private pendingLength = 0;
  /** Error of the last write-back run by the timer, reported by the next call. */
  private deferredError: FsError | undefined;

  constructor(
    readonly path: string,
    readonly access: SyncAccessHandle,
    readonly mode: AccessMode,
    /** Called when the buffer goes from empty to non-empty, so the owner can schedule a write-back. */
    private readonly onDirty: (file: OpenFile) => void,
  ) {}

  get hasPending(): boolean {
    return this.pendingLength > 0;
  }

  readAt(buf: Uint8Array, position: number): number {
    if (this.pendingLength > 0 && position < this.pendingStart + this.pendingLength && position + buf.length > this.pendingStart) this.writeBack();
    let done = 0;
    try {
      while (done < buf.length) {
        const n = this.access.read(buf.subarray(done), { at: position + done });
        if (n <= 0) break;
        done += n;
      }
    } catch (e) {
      throw toFsError(e, this.path, 'read');
    }
    return done;
  }

  writeAt(data: Uint8Array, position: number): void {
    this.reportDeferred();
    if (data.length === 0) return;
    const end = this.pendingStart + this.pendingLength;
    const continues = this.pendingLength > 0 && position === end;
    if (this.pendingLength > 0 && (!continues || end - this.pendingStart + data.length > writeBufferBytesMax)) this.writeBack();
    if (data.length >= directWriteBytesMin) {
      this.writeDirect(data, position);
      return;
    }
    if (this.pendingLength === 0) {
      this.pendingStart = position;
      this.onDirty(this);
    }
    this.buffer ??= new Uint8Array(writeBufferBytesMax);
    this.buffer.set(data, this.pendingLength);
    this.pendingLength += data.length;
  }

  /** Writes the buffer back and makes the file durable (the sync access handle's flush()). */
  sync(): void {
    this.reportDeferred();
    this.writeBack();
    try {
      this.access.flush();
    } catch (e) {
      throw toFsError(e, this.path, 'flush');
    }
  }

  truncate(size: number): void {
    // No write-back needed here, so that the WAL writer's cut-back after a failed append works
    // even while the buffer cannot be written back (quota).
    if (this.pendingLength > 0) {
      // Buffered bytes at or past `size` are cut without ever being written.
      if (size <= this.pendingStart) this.pendingLength = 0;
      else if (size < this.pendingStart + this.pendingLength) this.pendingLength = size - this.pendingStart;
    }
    const pendingEnd = this.pendingLength > 0 ? this.pendingStart + this.pendingLength : 0;
    try {
      const onDisk = this.access.getSize();
      if (size < onDisk) this.access.truncate(size);
      else if (size > onDisk && size > pendingEnd) {
        // Growing past the buffer: the gap reads as zeros, the buffer lands inside it.
        this.writeBack();
        this.access.truncate(size);
      }
    } catch (e) {
      throw toFsError(e, this.path, 'truncate');
    }
  }

  size(): number {
    let onDisk: number;
    try {
      onDisk = this.access.getSize();
    } catch (e) {
      throw toFsError(e, this.path, 'getSize');
    }
    return this.pendingLength > 0 ? Math.max(onDisk, this.pendingStart + this.pendingLength) : onDisk;
  }

  /** Hands the buffered bytes to the browser. On failure they stay buffered and it throws. */
  writeBack(): void {
    if (this.pendingLength === 0) return;
    this.writeDirect(this.buffer!.subarray(0, this.pendingLength), this.pendingStart);
    this.pendingLength = 0;
    this.deferredError = undefined;
  }

  /** The timer's write-back: errors are kept for the next call on this file. */
  writeBackDeferred(): void {
    if (this.closed) return;
    try {
      this.writeBack();
    } catch (e) {
      this.deferredError = e instanceof FsError ? e : toFsError(e, this.path, 'write');
    }
  }

  /** Writes back and closes the access handle (releasing the browser's lock on the file). */
  closeAccess(): void {
    if (this.closed) return;
    let error: unknown;
    try {
      this.writeBack();
    } catch (e) {
      error = e;
    }
    this.closed = true;
    try {
      this.access.close();
    } catch (e) {
      error ??= toFsError(e, this.path, 'close');
    }
    if (error !== undefined) throw error;
  }

  private writeDirect(data: Uint8Array, position: number): void {
    let done = 0;
    try {
      while (done < data.length) {
        const n = this.access.write(data.subarray(done), { at: position + done });
        if (n <= 0) throw new FsError('EIO', `write made no progress at offset ${position + done}`, { path: this.path });
        done += n;
      }
    } catch (e) {
      throw toFsError(e, this.path, 'write');
    }
  }

  private reportDeferred(): void {
    if (this.deferredError === undefined) return;
    // Try again: space may have been freed. Still failing: report it to this caller.
    this.writeBack();
  }
}

/** What the engine holds: one FileHandle per `open()`, all sharing the file's OpenFile. */
export class OpfsFileHandle implements FileHandle {
  private closedHandle = false;

  constructor(
    readonly path: string,
    private readonly file: OpenFile,
    private readonly readOnly: boolean,
    private readonly release: (file: OpenFile) => void,
  ) {}

  readAt(buf: Uint8Array, position: number): number {
    this.checkOpen();
    checkOffset(position, 'read position');
    return this.file.readAt(buf, position);
  }

  writeAt(data: Uint8Array, position: number): void {
    this.checkWritable();
    checkOffset(position, 'write position');
    this.file.writeAt(data, position);
  }

  sync(): void {
    this.checkOpen();
    if (this.readOnly) return; // nothing of ours to make durable; a read-only access handle cannot flush
    this.file.sync();
  }

  truncate(size: number): void {
    this.checkWritable();
    checkOffset(size, 'truncate size');
    this.file.truncate(size);
  }

  size(): number {
    this.checkOpen();
    return this.file.size();
  }

  close(): void {
    if (this.closedHandle) return;
    this.closedHandle = true;
    this.release(this.file);
  }

  private checkOpen(): void {
    if (this.closedHandle) throw new FsError('EBADF', 'file handle is closed', { path: this.path });
    if (this.file.closed) throw new FsError('EBADF', 'file was closed under this handle (removed, renamed or its database lock released)', { path: this.path });
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new FsError('EACCES', 'file handle is read-only', { path: this.path });
  }
}
