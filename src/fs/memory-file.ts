/**
 * One file of the memory backend (an inode: names live in directories, see memory.ts) and its
 * handle. Invariant, checked by `Inode.verify()`: replaying `pending` on `durable` gives
 * `current` byte for byte. `sync()` replays `pending` onto `durable` and empties it, so a sync
 * costs the unsynced bytes, not the file size.
 */

import type { Prng } from './prng.js';
import { checkOffset, FsError, type FileHandle } from './types.js';

/** A growable byte array. Bytes between `length` and the capacity are always zero. */
export class ByteStore {
  private bytes: Uint8Array;
  private len: number;

  constructor(initial?: Uint8Array) {
    this.bytes = initial === undefined ? new Uint8Array(0) : new Uint8Array(initial);
    this.len = this.bytes.length;
  }

  get length(): number {
    return this.len;
  }

  /** Writes `data` at `position`; a gap past the end reads as zeros. */
  write(position: number, data: Uint8Array): void {
    if (data.length === 0) return; // like pwrite(2): a zero-length write does not extend
    const end = position + data.length;
    this.reserve(end);
    this.bytes.set(data, position);
    if (end > this.len) this.len = end;
  }

  truncate(size: number): void {
    if (size < this.len) this.bytes.fill(0, size, this.len);
    else this.reserve(size);
    this.len = size;
  }

  /** Copies bytes from `position` into `buf`; returns how many (0 at or past the end). */
  read(buf: Uint8Array, position: number): number {
    if (position >= this.len) return 0;
    const n = Math.min(buf.length, this.len - position);
    buf.set(this.bytes.subarray(position, position + n));
    return n;
  }

  /** A copy of the content. */
  copy(): Uint8Array {
    return this.bytes.slice(0, this.len);
  }

  xorByte(offset: number, mask: number): void {
    this.bytes[offset] = this.bytes[offset]! ^ mask;
  }

  private reserve(size: number): void {
    if (size <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(size, this.bytes.length * 2, 64));
    grown.set(this.bytes.subarray(0, this.len));
    this.bytes = grown;
  }
}

/** A write or truncate not yet made durable by `sync()`. `data` is a private copy. */
export type FileOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; size: number };

function applyFileOp(store: ByteStore, op: FileOp): void {
  if (op.kind === 'write') store.write(op.position, op.data);
  else store.truncate(op.size);
}

/** How much of the unsynced state a crash clone keeps. */
export type KeepUnsynced = 'none' | 'all' | 'random';

/** How many of `n` pending operations a crash keeps: 0, n, or uniform in [0, n]. */
export function keptCount(n: number, keep: KeepUnsynced, prng: Prng): number {
  if (keep === 'none') return 0;
  if (keep === 'all') return n;
  return prng.nextInt(n + 1);
}

export class Inode {
  current: ByteStore;
  durable: ByteStore;
  pending: FileOp[] = [];
  /** Bytes held by the writes in `pending`. */
  private pendingBytes = 0;

  /**
   * `unsyncedBytesMax` bounds `pending`: past it, the oldest operations are written back (made
   * durable), as a kernel writes back dirty pages on its own. This keeps the prefix model and
   * bounds memory when a store runs without sync.
   */
  constructor(
    content: Uint8Array | undefined,
    private readonly unsyncedBytesMax: number,
  ) {
    this.current = new ByteStore(content);
    this.durable = new ByteStore(content);
  }

  write(position: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const copy = new Uint8Array(data); // the caller may reuse its buffer (a Buffer's slice() would share it)
    this.current.write(position, copy);
    this.pending.push({ kind: 'write', position, data: copy });
    this.pendingBytes += copy.length;
    if (this.pendingBytes > this.unsyncedBytesMax) this.writeBack();
  }

  /** Makes the oldest pending operations durable until at most half the limit is pending. */
  private writeBack(): void {
    let n = 0;
    while (n < this.pending.length && this.pendingBytes > this.unsyncedBytesMax / 2) {
      const op = this.pending[n++]!;
      applyFileOp(this.durable, op);
      if (op.kind === 'write') this.pendingBytes -= op.data.length;
    }
    this.pending.splice(0, n);
  }

  truncate(size: number): void {
    this.current.truncate(size);
    this.pending.push({ kind: 'truncate', size });
  }

  /** fdatasync: every write so far becomes durable. */
  sync(): void {
    for (const op of this.pending) applyFileOp(this.durable, op);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Replaces the content, durable at once (test helpers: setting up or damaging files). */
  setDurable(content: Uint8Array): void {
    this.current = new ByteStore(content);
    this.durable = new ByteStore(content);
    this.pending = [];
    this.pendingBytes = 0;
  }

  /**
   * The content after a power failure now: the durable bytes, then a prefix of the pending
   * operations in order; with 'random', the last one kept, if a write, is torn half the time
   * (only a prefix of its bytes lands).
   */
  crashContent(keep: KeepUnsynced, prng: Prng): Uint8Array {
    const out = new ByteStore(this.durable.copy());
    const k = keptCount(this.pending.length, keep, prng);
    for (let i = 0; i < k; i++) {
      const op = this.pending[i]!;
      if (i === k - 1 && keep === 'random' && op.kind === 'write' && prng.chance(0.5)) {
        out.write(op.position, op.data.subarray(0, prng.nextInt(op.data.length)));
      } else {
        applyFileOp(out, op);
      }
    }
    return out.copy();
  }

  /** O(size) check of the invariant at the top of this file. Throws Error when broken. */
  verify(name: string): void {
    const replay = new ByteStore(this.durable.copy());
    for (const op of this.pending) applyFileOp(replay, op);
    const a = replay.copy();
    const b = this.current.copy();
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      throw new Error(`memory fs invariant broken: durable + pending != current for ${name}`);
    }
  }
}

/**
 * A handle on an inode: it keeps working after the file is renamed or removed (POSIX
 * semantics). Closed handle: EBADF. Writes or truncates through a read-only handle: EACCES
 * (as NodeFileSystem, which checks before calling the OS).
 */
export class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly inode: Inode,
    private readonly readOnly: boolean,
  ) {}

  readAt(buf: Uint8Array, position: number): number {
    this.checkOpen();
    checkOffset(position, 'read position');
    return this.inode.current.read(buf, position);
  }

  writeAt(data: Uint8Array, position: number): void {
    this.checkWritable();
    checkOffset(position, 'write position');
    this.inode.write(position, data);
  }

  /** Like fdatasync on any descriptor of the file: makes every write to the file durable. */
  sync(): void {
    this.checkOpen();
    this.inode.sync();
  }

  truncate(size: number): void {
    this.checkWritable();
    checkOffset(size, 'truncate size');
    this.inode.truncate(size);
  }

  size(): number {
    this.checkOpen();
    return this.inode.current.length;
  }

  close(): void {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new FsError('EBADF', 'file handle is closed', { path: this.path });
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new FsError('EACCES', 'file handle is read-only', { path: this.path });
  }
}
