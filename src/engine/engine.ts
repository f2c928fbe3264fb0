/**
 * An open database: the state every part of the engine shares, the read path and the
 * lifecycle. Writes go through `commit.ts`, flushes through `flusher.ts`, opening through
 * `recovery.ts`.
 *
 * Read path: active memtable → sealed memtables newest first → L0 tables newest first → one
 * table per deeper level. Versions only grow from older layers to newer ones, so the first
 * layer holding any version of the key at or below the read version holds the newest one.
 */
import { isSharedMemory } from '../memtable/arena.js';
import { ErrStoreClosed, ErrStoreFailed } from '../api/errors.js';
import type { Config } from '../api/options.js';
import type { InternalIterator } from '../codec/iterator.js';
import type { DirLock, FileSystem } from '../fs/types.js';
import type { Manifest } from '../manifest/manifest.js';
import type { TableHandle } from './version.js';
import { Memtable } from '../memtable/index.js';
import type { BlockCache } from '../sstable/index.js';
import { bloomHash } from '../sstable/bloom.js';
import type { LogWriter } from '../wal/writer.js';
import { CommitQueue } from './commit.js';
import { type Bounds, DBIter } from './db-iterator.js';
import { Compactor, type CompactionRunner, inlineRunner } from './compactor.js';
import { Flusher } from './flusher.js';
import { MergingIterator } from './merging-iterator.js';
import { emptyStats, type EngineStats, type MemEntry } from './state.js';
import { Version } from './version.js';

export class Engine {
  readonly config: Config;
  readonly fs: FileSystem;
  readonly dir: string;
  readonly cache: BlockCache;
  readonly lock: DirLock | undefined;
  manifest: Manifest | undefined;
  active: MemEntry;
  wal: LogWriter | undefined;
  /** Sealed memtables waiting for flush, oldest first. */
  immutables: MemEntry[] = [];
  version: Version;
  /** Newest version visible to reads (published once a write is in the memtable). */
  lastVersion: number;
  nextFileNumber: number;
  /** Set when a durable write failed; every later write reports it. */
  failure: Error | undefined;
  closed = false;
  readonly stats: EngineStats = emptyStats();
  readonly commits: CommitQueue;
  readonly flusher: Flusher;
  readonly compactor: Compactor;
  /** Where compaction merges run (inline, or a worker pool on Node). */
  readonly runner: CompactionRunner;
  /** Serializes manifest edits and rewrites (a rewrite awaits; edits must not slip past it). */
  private manifestTail: Promise<unknown> = Promise.resolve();
  /** Open snapshots: version → count. */
  readonly snapshots = new Map<number, number>();
  /**
   * Compaction keeps every version above this (managed versions, persisted in the manifest);
   * undefined: only what open snapshots can read is kept.
   */
  discardVersion: number | undefined;
  /**
   * Reads at a version below this may miss history compaction already dropped: the highest
   * floor any compaction of this process used (at open: the discard version, else the last
   * version, since an earlier process may have compacted up to it).
   */
  historyFloor: number;
  /** Open iterators; close() closes them, so that the tables they pin are released. */
  readonly iterators = new Set<{ abort(): void }>();

  get openIterators(): number {
    return this.iterators.size;
  }

  constructor(init: {
    config: Config;
    fs: FileSystem;
    cache: BlockCache;
    lock: DirLock | undefined;
    manifest: Manifest | undefined;
    active: MemEntry;
    wal: LogWriter | undefined;
    immutables: MemEntry[];
    version: Version;
    lastVersion: number;
    nextFileNumber: number;
    runner?: CompactionRunner;
    removals: Set<Promise<void>>;
  }) {
    this.config = init.config;
    this.fs = init.fs;
    this.dir = init.config.path;
    this.cache = init.cache;
    this.lock = init.lock;
    this.manifest = init.manifest;
    this.active = init.active;
    this.wal = init.wal;
    this.immutables = init.immutables;
    this.version = init.version;
    this.version.ref();
    this.lastVersion = init.lastVersion;
    this.discardVersion = init.manifest?.state.discardVersion;
    this.historyFloor = this.discardVersion ?? init.lastVersion;
    this.nextFileNumber = init.nextFileNumber;
    this.commits = new CommitQueue(this);
    this.flusher = new Flusher(this);
    this.compactor = new Compactor(this);
    this.runner = init.runner ?? inlineRunner;
    this.removals = init.removals;
  }

  /** Deletions of obsolete table files still in flight (close() waits for them). */
  readonly removals: Set<Promise<void>>;

  /**
   * Runs `fn` with the manifest, after every earlier manifest operation. Apply an edit and
   * install the Version it implies inside `fn`, in one synchronous step.
   */
  withManifest<T>(fn: (m: Manifest) => T | Promise<T>): Promise<T> {
    const run = this.manifestTail.then(() => fn(this.manifest!));
    this.manifestTail = run.catch(() => undefined);
    return run;
  }

  /**
   * Installs the Version the manifest now describes. Tables already open keep their handles;
   * `added` supplies handles of new tables; tables no longer listed become obsolete and are
   * deleted when their last reader lets go.
   */
  installFromManifest(added: ReadonlyMap<number, TableHandle>): void {
    const known = new Map<number, TableHandle>();
    for (const level of this.version.levels) for (const t of level) known.set(t.info.fileNumber, t);
    const levels: TableHandle[][] = this.manifest!.state.levels.map((tables) =>
      tables.map((info) => {
        const h = known.get(info.fileNumber) ?? added.get(info.fileNumber);
        if (h === undefined) throw new Error(`manifest lists table ${info.fileNumber} but no handle is open (bug)`);
        known.delete(info.fileNumber);
        return h;
      }),
    );
    for (const gone of known.values()) gone.obsolete = true;
    this.installVersion(new Version(levels));
  }

  /**
   * Arena memory of flushed memtables, reused by the next ones. A flush worker's reference to a
   * SharedArrayBuffer keeps its memory alive until that worker happens to collect garbage (and
   * a worker that allocates little rarely does), so without reuse every flushed memtable's
   * memory could stay resident: RSS would grow with the data written.
   */
  private readonly arenaPool: (ArrayBuffer | SharedArrayBuffer)[] = [];

  /** A new memtable (shared memory when a worker will flush it), on recycled memory if any fits. */
  newMemtable(size: number): Memtable {
    const shared = this.runner.sharedMemtables;
    const i = this.arenaPool.findIndex((m) => m.byteLength === (size & ~3));
    const reuse = i < 0 ? undefined : this.arenaPool.splice(i, 1)[0];
    return new Memtable(size, { shared, ...(reuse === undefined ? {} : { reuse }) });
  }

  /** Called once a flushed memtable left `immutables`: its memory is recycled when unpinned. */
  retireMemtable(mem: Memtable): void {
    mem.retired = true;
    if (mem.pins === 0) this.recycle(mem);
  }

  private recycle(mem: Memtable): void {
    // Only memory newMemtable can use: the configured size, and shared exactly when new
    // memtables are (a memtable replayed from the WAL is never shared). Two spare arenas cover
    // a rotation while another memtable waits for its readers. Shared arenas are all kept, up
    // to the immutable-memtable limit (never more than the peak already in use when writes
    // stalled on flushes): one dropped instead stays resident until both this thread and the
    // flush worker happen to run a full garbage collection, so a long fill would grow RSS by
    // tens of MB (measured: main-thread ArrayBuffer bytes 44 → 93 MB over a 4 M-key fill).
    const memory = mem.arenaMemory;
    const shared = isSharedMemory(memory);
    if (shared !== this.runner.sharedMemtables || mem.capacityBytes !== (this.config.memtableSize & ~3)) return;
    const keep = shared ? Math.max(2, this.config.maxImmutableMemtables) : 2;
    if (this.arenaPool.length < keep) this.arenaPool.push(memory);
  }

  allocateFileNumber(): number {
    return this.nextFileNumber++;
  }

  checkOpen(): void {
    if (this.closed) throw new ErrStoreClosed();
  }

  /** Puts the store into its failed state; later writes report `cause`. */
  fail(cause: unknown, what: string): ErrStoreFailed {
    if (this.failure === undefined) {
      this.failure = new ErrStoreFailed(`${what}; the store refuses further writes, reopen it to recover`, { cause });
    }
    return this.failure as ErrStoreFailed;
  }

  /** Replaces the current Version (the old one is released when its last reader is done). */
  installVersion(next: Version): void {
    next.ref();
    const old = this.version;
    this.version = next;
    old.unref();
  }

  /** Encoded value of the newest entry of `userKey` at or below `readVersion`, tombstones included. */
  getEncoded(userKey: Uint8Array, readVersion: number): Uint8Array | undefined {
    this.stats.gets++;
    // One hash of the key serves every memtable filter and table bloom asked.
    const hash = bloomHash(userKey, 0, userKey.length);
    let v = this.active.mem.get(userKey, readVersion, hash);
    if (v !== undefined) return v;
    const imms = this.immutables;
    for (let i = imms.length - 1; i >= 0; i--) {
      v = imms[i]!.mem.get(userKey, readVersion, hash);
      if (v !== undefined) return v;
    }
    const levels = this.version.levels;
    const l0 = levels[0]!;
    for (let i = 0; i < l0.length; i++) {
      const t = l0[i]!;
      if (t.info.minVersion > readVersion || !t.covers(userKey)) continue;
      this.stats.tableReads++;
      v = t.reader.get(userKey, readVersion, hash);
      if (v !== undefined) return v;
    }
    for (let l = 1; l < levels.length; l++) {
      const level = levels[l]!;
      if (level.length === 0) continue;
      const t = Version.findInLevel(level, userKey);
      if (t === undefined || t.info.minVersion > readVersion) continue;
      this.stats.tableReads++;
      v = t.reader.get(userKey, readVersion, hash);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Iterator over every source, pinned to the current memtables and Version. */
  internalIterator(): { iter: InternalIterator; release: () => void } {
    const mems = [this.active.mem];
    for (let i = this.immutables.length - 1; i >= 0; i--) mems.push(this.immutables[i]!.mem);
    const children: InternalIterator[] = mems.map((m) => {
      m.pins++;
      return m.iterator();
    });
    const version = this.version;
    version.ref();
    for (const level of version.levels) for (const t of level) children.push(t.reader.iterator());
    let released = false;
    return {
      iter: new MergingIterator(children),
      release: () => {
        if (released) return;
        released = true;
        for (const m of mems) {
          m.pins--;
          if (m.retired && m.pins === 0) this.recycle(m);
        }
        version.unref();
      },
    };
  }

  newIterator(readVersion: number, bounds: Bounds, reverse: boolean, limit: number, keysOnly: boolean, since = 0): DBIter {
    const { iter, release } = this.internalIterator();
    const it = new DBIter(
      iter,
      readVersion,
      bounds,
      reverse,
      limit,
      keysOnly,
      () => {
        this.iterators.delete(it);
        release();
      },
      since,
    );
    this.iterators.add(it);
    return it;
  }

  /** Pins a read version (default: the newest) so compaction keeps what it can read. */
  acquireSnapshot(v = this.lastVersion): number {
    this.snapshots.set(v, (this.snapshots.get(v) ?? 0) + 1);
    return v;
  }

  releaseSnapshot(v: number): void {
    const n = this.snapshots.get(v);
    if (n === undefined) return;
    if (n <= 1) this.snapshots.delete(v);
    else this.snapshots.set(v, n - 1);
  }

  /** Oldest version an open snapshot can read (compaction keeps everything newer). */
  oldestSnapshot(): number {
    let min = this.lastVersion;
    for (const v of this.snapshots.keys()) if (v < min) min = v;
    return min;
  }

  /**
   * The version a compaction starting now may collect history below: the oldest open snapshot,
   * or the discard version if lower. Raises historyFloor, so no read starts below it later.
   */
  takeGcFloor(): number {
    const floor = Math.min(this.oldestSnapshot(), this.discardVersion ?? Infinity);
    if (floor > this.historyFloor) this.historyFloor = floor;
    return floor;
  }

  /**
   * Closes the store: waits for queued writes, syncs the WAL (so a clean close loses nothing),
   * waits for running flushes, releases files and the lock. Memtables are not flushed; the next
   * open replays their WAL.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    // Re-check after every await: a flush() may start a rotation between the queue going idle
    // and this continuation, and closing the WAL under it would leak the new one.
    while (this.commits.busy) await this.commits.drainAll();
    this.closed = true;
    this.compactor.stop();
    await this.flusher.idle();
    await this.compactor.idle();
    await this.runner.close();
    // An iterator still open would pin its tables' file handles past close (and read on).
    for (const it of [...this.iterators]) it.abort();
    let error: unknown;
    try {
      if (this.wal !== undefined && this.failure === undefined && this.wal.unsyncedBytes > 0) this.wal.sync();
    } catch (e) {
      error = e;
    }
    this.wal?.close();
    this.manifest?.close();
    this.version.unref();
    for (const level of this.version.levels) for (const t of level) if (t.refs === 0) t.reader.close();
    // Obsolete tables still being deleted: finish, so the directory is settled when close resolves.
    while (this.removals.size > 0) await Promise.all([...this.removals]);
    await this.lock?.release();
    if (error !== undefined) throw this.fail(error, 'syncing the WAL at close failed');
  }
}
