/**
 * Appends records to one WAL file. The writer owns the file handle and its end offset.
 *
 * Failure handling: if a write throws part-way, the bytes after `offset` are unknown, so the
 * writer cuts the file back to the last good end, and syncs the cut, before it reports the
 * error. If even the cut fails, the log is `broken` and the caller must stop writing to it (the store goes into its
 * failed state). A failed sync is never retried: after fsync fails the kernel may have dropped
 * the dirty pages, so "retry and pretend" would lie about durability.
 */
import type { FileHandle } from '../fs/types.js';
import { LogKind } from './format.js';
import { encodeLogHeader } from './record.js';

export class LogWriter {
  readonly file: FileHandle;
  readonly fileNumber: number;
  /** End of the last record written in full. */
  offset: number;
  /**
   * Offset up to which a finished sync covers the log. If two syncs ever overlap (an async one
   * still running when another starts), each covers what was appended before it started, so
   * this only moves forward, to the start offset of whichever finishes.
   */
  private syncedTo: number;
  broken = false;

  private constructor(file: FileHandle, fileNumber: number, offset: number) {
    this.file = file;
    this.fileNumber = fileNumber;
    this.offset = offset;
    this.syncedTo = offset;
  }

  /** Bytes appended that no finished sync covers yet. */
  get unsyncedBytes(): number {
    return this.offset - this.syncedTo;
  }

  private syncedUpTo(offset: number): void {
    if (offset > this.syncedTo) this.syncedTo = offset;
  }

  /** Starts a new, empty log: writes the header record (not synced). */
  static create(file: FileHandle, kind: LogKind, fileNumber: number): LogWriter {
    const w = new LogWriter(file, fileNumber, 0);
    file.truncate(0);
    w.append(encodeLogHeader(kind, fileNumber));
    return w;
  }

  /** Continues an existing log whose valid records end at `offset` (cutting a torn tail). */
  static resume(file: FileHandle, fileNumber: number, offset: number): LogWriter {
    if (file.size() !== offset) file.truncate(offset);
    return new LogWriter(file, fileNumber, offset);
  }

  static forWal(file: FileHandle, fileNumber: number): LogWriter {
    return LogWriter.create(file, LogKind.Wal, fileNumber);
  }

  /** Appends framed record bytes. On failure cuts back (durably) to the previous end and rethrows. */
  append(bytes: Uint8Array): void {
    if (this.broken) throw new Error('log writer is broken');
    try {
      this.file.writeAt(bytes, this.offset);
    } catch (e) {
      try {
        this.file.truncate(this.offset);
        // Make the cut durable before the failure is reported: a part of the write that landed
        // can hold whole records of a group's first writers, and a crash that kept them but not
        // the cut would bring back writes their callers were told had failed.
        this.file.sync();
        this.syncedUpTo(this.offset);
      } catch {
        this.broken = true;
      }
      throw e;
    }
    this.offset += bytes.length;
  }

  /** fdatasync. A failure marks the writer broken: its durable contents are unknown. */
  sync(): void {
    if (this.broken) throw new Error('log writer is broken');
    const end = this.offset;
    try {
      this.file.sync();
    } catch (e) {
      this.broken = true;
      throw e;
    }
    this.syncedUpTo(end);
  }

  /**
   * Like `sync()`, without blocking the event loop where the file system allows. Covers every
   * record appended before the call.
   */
  async syncAsync(): Promise<void> {
    if (this.broken) throw new Error('log writer is broken');
    const end = this.offset;
    try {
      if (this.file.syncAsync !== undefined) await this.file.syncAsync();
      else this.file.sync();
    } catch (e) {
      this.broken = true;
      throw e;
    }
    this.syncedUpTo(end);
  }

  close(): void {
    this.file.close();
  }
}
