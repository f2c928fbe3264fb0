/**
 * A FileSystem wrapper that calls a hook before every operation that changes what is on disk
 * (write, truncate, sync of a file; create, rename, remove, syncDir), with a label naming the
 * operation. Crash tests use it to take a crash clone of the wrapped MemoryFileSystem at every
 * step of a flush, a WAL rotation or a manifest rewrite, not only between whole operations.
 *
 * It can also give the asynchronous operations (open, list, rename, remove, syncDir) a latency
 * of some event-loop turns, chosen per call by `latency`: the memory backend answers them at
 * once, which hides races that a real disk's latency opens between concurrent engine tasks.
 * It counts open handles, so a test can check that close() releases every file.
 */
import type { DirLock, FileHandle, FileSystem, OpenOptions } from '../../src/fs/types.js';

export type FsHook = (label: string) => void;

/** Event-loop turns an operation waits before it runs (0: none). */
export type FsLatency = (op: string, path: string) => number;

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

class HookFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly inner: FileHandle,
    private readonly hook: () => FsHook | undefined,
    private readonly onClose: () => void,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  readAt(buf: Uint8Array, position: number): number {
    return this.inner.readAt(buf, position);
  }

  writeAt(data: Uint8Array, position: number): void {
    this.hook()?.(`write ${data.length}B at ${position} of ${this.inner.path}`);
    this.inner.writeAt(data, position);
  }

  sync(): void {
    this.hook()?.(`sync ${this.inner.path}`);
    this.inner.sync();
  }

  truncate(size: number): void {
    this.hook()?.(`truncate ${this.inner.path} to ${size}`);
    this.inner.truncate(size);
  }

  size(): number {
    return this.inner.size();
  }

  close(): void {
    if (!this.closed) this.onClose();
    this.closed = true;
    this.inner.close();
  }
}

export class HookFileSystem implements FileSystem {
  readonly name: string;
  /** Called before each mutating operation; undefined disables the hook. */
  hook: FsHook | undefined;
  /** Latency of the asynchronous operations; undefined: none. */
  latency: FsLatency | undefined;
  /** Handles opened and not yet closed, by path. */
  readonly openHandles = new Map<string, number>();

  constructor(
    readonly inner: FileSystem,
    hook?: FsHook,
  ) {
    this.name = `hook(${inner.name})`;
    this.hook = hook;
  }

  private async wait(op: string, path: string): Promise<void> {
    const n = this.latency?.(op, path) ?? 0;
    if (n > 0) await turns(n);
  }

  /** Number of handles opened through this file system and not closed. */
  get openHandleCount(): number {
    let n = 0;
    for (const c of this.openHandles.values()) n += c;
    return n;
  }

  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    await this.wait('open', path);
    if (options?.create === true || options?.truncate === true) this.hook?.(`open ${path} ${JSON.stringify(options)}`);
    const h = await this.inner.open(path, options);
    this.openHandles.set(path, (this.openHandles.get(path) ?? 0) + 1);
    return new HookFileHandle(h, () => this.hook, () => {
      const n = this.openHandles.get(path)! - 1;
      if (n === 0) this.openHandles.delete(path);
      else this.openHandles.set(path, n);
    });
  }

  async list(dir: string): Promise<string[]> {
    await this.wait('list', dir);
    return this.inner.list(dir);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.wait('rename', from);
    this.hook?.(`rename ${from} -> ${to}`);
    return this.inner.rename(from, to);
  }

  async remove(path: string): Promise<void> {
    await this.wait('remove', path);
    this.hook?.(`remove ${path}`);
    return this.inner.remove(path);
  }

  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  async syncDir(dir: string): Promise<void> {
    await this.wait('syncDir', dir);
    this.hook?.(`syncDir ${dir}`);
    return this.inner.syncDir(dir);
  }

  lock(dir: string): Promise<DirLock> {
    return this.inner.lock(dir);
  }
}
