/**
 * Flush: sealed memtables → L0 table → manifest edit → WALs removed, oldest memtable first, one
 * flush at a time (the memtables queued together, up to FLUSH_MERGE_MAX, go into one table).
 * The order of steps is what makes a crash at any point safe:
 *   1. write the table and sync it; sync the directory (a crash here leaves an orphan table,
 *      removed on open, and the WAL still holds the data);
 *   2. append and sync the manifest edit that adds the table and advances the log number (a
 *      failure here fails the store: the edit may or may not be on disk);
 *   3. in one synchronous section, install the new Version and drop the memtable;
 *   4. remove the WALs (a crash before this leaves WALs below the log number, removed on open).
 *
 * The job runs on the engine's thread in slices (build-table.ts yields to the event loop);
 * moving it to a worker (issue #5) changes only `buildTable`'s host, not this sequence.
 */
import { buildTable } from '../compaction/build-table.js';
import { ErrorCode, SettError } from '../api/errors.js';
import { isFsError } from '../fs/types.js';
import { mapWriteError } from './commit.js';
import { manifestPath, tablePath, walPath } from '../manifest/filenames.js';
import { CurrentSwitchUnsynced, Manifest } from '../manifest/manifest.js';
import { TableReader } from '../sstable/index.js';
import { MergingIterator } from './merging-iterator.js';
import { isSharedMemory } from '../memtable/arena.js';
import type { Engine } from './engine.js';
import { TableHandle } from './version.js';
import { Compression } from '../codec/compression.js';
import type { BlockCache, TableOptions } from '../sstable/index.js';
import type { FileSystem } from '../fs/types.js';
import type { TableInfo } from '../manifest/edit.js';

export function tableOptions(e: Engine): TableOptions {
  return {
    blockSize: e.config.blockSize,
    restartInterval: e.config.blockRestartInterval,
    bloomFalsePositiveRate: e.config.bloomFalsePositiveRate,
    compression: e.config.compression === Compression.Snappy ? Compression.Snappy : Compression.None,
  };
}

/** Opens a reader for a table file and wraps it in a handle whose death removes the file. */
/** What opening a table needs; `removals` collects deletions of obsolete tables so close() can wait for them. */
export interface TableContext {
  fs: FileSystem;
  dir: string;
  cache: BlockCache;
  removals: Set<Promise<void>>;
}

export async function openTable(e: TableContext, info: TableInfo): Promise<TableHandle> {
  const path = tablePath(e.dir, info.fileNumber);
  const file = await e.fs.open(path, { readOnly: true });
  let reader: TableReader;
  try {
    reader = TableReader.open(file, info.fileNumber, e.cache);
  } catch (err) {
    file.close();
    throw err;
  }
  return new TableHandle(info, reader, (t) => {
    t.reader.close();
    e.cache.evictFile(t.info.fileNumber);
    const removal: Promise<void> = e.fs
      .remove(tablePath(e.dir, t.info.fileNumber))
      .catch(() => undefined)
      .finally(() => e.removals.delete(removal));
    e.removals.add(removal);
  });
}

/** Whether an error means "the disk is full" (retryable once space is freed). */
export function isNoSpace(e: unknown): boolean {
  return isFsError(e, 'ENOSPC') || (e instanceof SettError && e.code === ErrorCode.InsufficientDiskSpace);
}

export class Flusher {
  private readonly engine: Engine;
  private running: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  /**
   * Set while flushes fail for lack of space. Nothing durable is at stake (the WAL still holds
   * the data, a partial table is removed), so the flusher retries with a backoff and writers
   * that would wait for it get ErrInsufficientDiskSpace instead of waiting forever.
   */
  noSpace: Error | undefined;
  private retryDelayMs = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** Starts flushing if sealed memtables wait and no flush runs. */
  schedule(): void {
    if (this.running !== undefined || this.engine.config.readOnly || this.retryTimer !== undefined) return;
    if (this.engine.immutables.length === 0) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.wake();
    });
  }

  /** Resolves when a flush completes (or fails). */
  waitForProgress(): Promise<void> {
    if (this.running === undefined) this.schedule();
    if (this.running === undefined) return new Promise((resolve) => setTimeout(resolve, this.retryTimer === undefined ? 0 : 20));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when no flush is running. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
    if (this.retryTimer !== undefined && this.engine.closed) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async loop(): Promise<void> {
    const e = this.engine;
    while (e.immutables.length > 0 && e.failure === undefined && !e.closed) {
      if (this.holdForL0()) {
        // Sealed memtables wait in memory (writers stall on them as on L0) until a running
        // compaction ends; they then go down together, merged into one table.
        await e.compactor.waitForProgress();
        continue;
      }
      try {
        await this.flushOne();
        this.noSpace = undefined;
        this.retryDelayMs = 0;
      } catch (err) {
        if (isNoSpace(err) && !(e.manifest?.broken ?? false)) {
          this.noSpace = mapWriteError(err, 'flushing a memtable failed');
          this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 50), 2000);
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.schedule();
          }, this.retryDelayMs);
          this.wake();
          return;
        }
        e.fail(err, 'flushing a memtable failed');
      }
      this.wake();
    }
  }

  /**
   * Whether to hold flushes while L0 is at the stall threshold: writers already wait for L0 to
   * drain, and a flush would only push L0 past the threshold. Held only while a compaction
   * runs (its end is progress, and wakes this loop): with none running (automatic compaction
   * off, or a manual compaction holding the compactor) flushes go ahead.
   */
  private holdForL0(): boolean {
    const e = this.engine;
    return !e.config.disableAutoCompaction && e.version.levels[0]!.length >= e.config.l0StallTables && e.compactor.runningCount > 0;
  }

  private async flushOne(): Promise<void> {
    const e = this.engine;
    const entry = e.immutables[0]!;
    if (entry.mem.entries === 0) {
      // Nothing to write (an empty replayed WAL): only advance the log number.
      await e.withManifest(async (m) => {
        await m.applyAsync({ logNumber: e.immutables[1]?.walNumber ?? e.active.walNumber, deleted: [], added: [] });
        e.retireMemtable(e.immutables.shift()!.mem);
      });
      await e.fs.remove(walPath(e.dir, entry.walNumber)).catch(() => undefined);
      return;
    }
    // Sealed memtables that wait together (writes outran flushes, or stalled on L0) go into one
    // L0 table: L0 then holds more data per table, so writers stall on its table count later
    // and each L0 compaction moves more data down per rewrite of the base level (RocksDB's
    // min_write_buffer_number_to_merge, taken only when memtables are already waiting).
    const batch = [entry];
    // Bounded in bytes too: huge memtables (up to 1 GiB each) merged four at a time could pass
    // a table's limits (a bloom filter holds at most 2^31 bits), failing every flush and open.
    let bytes = entry.mem.usedBytes;
    while (batch.length < FLUSH_MERGE_MAX && batch.length < e.immutables.length) {
      const next = e.immutables[batch.length]!;
      if (next.mem.entries === 0 || isSharedMemory(next.mem.arenaMemory) !== isSharedMemory(entry.mem.arenaMemory)) break;
      if (bytes + next.mem.usedBytes > FLUSH_MERGE_BYTES_MAX) break;
      bytes += next.mem.usedBytes;
      batch.push(next);
    }
    const fileNumber = e.allocateFileNumber();
    let info: TableInfo;
    const memories = batch.map((b) => b.mem.arenaMemory);
    const started = performance.now();
    if (e.runner.flush !== undefined && isSharedMemory(memories[0]!)) {
      // Off the engine's thread: the worker reads the sealed arenas in place.
      try {
        info = await e.runner.flush(e.fs, { dir: e.dir, fileNumber, memories, tableOptions: tableOptions(e) });
      } catch (err) {
        await e.fs.remove(tablePath(e.dir, fileNumber)).catch(() => undefined);
        throw err;
      }
    } else {
      const its = batch.map((b) => b.mem.iterator());
      const iter = its.length === 1 ? its[0]! : new MergingIterator(its);
      try {
        info = await buildTable(e.fs, e.dir, fileNumber, iter, tableOptions(e));
      } finally {
        iter.close();
      }
    }
    e.stats.flushBytes += info.fileSize;
    e.stats.flushMs += performance.now() - started;
    await e.fs.syncDir(e.dir);
    const handle = await openTable(e, info);
    const maxVersion = Math.max(...batch.map((b) => b.mem.maxVersion));
    await e.withManifest(async (manifest) => {
      try {
        await manifest.applyAsync({
          logNumber: e.immutables[batch.length]?.walNumber ?? e.active.walNumber,
          nextFileNumber: e.nextFileNumber,
          lastVersion: Math.max(maxVersion, manifest.state.lastVersion),
          deleted: [],
          added: [{ level: 0, table: info }],
        });
      } catch (err) {
        handle.reader.close();
        // Remove the table only if the edit was certainly not made (its append was cut back).
        // After a failed sync the edit may be durable, and a reopen would find it naming a
        // missing table, with the WAL already below the log number: keep it for the next open.
        if (!manifest.broken) void e.fs.remove(tablePath(e.dir, info.fileNumber)).catch(() => undefined);
        throw err;
      }
      // Install: the table replaces the memtables for readers in one synchronous step.
      e.installFromManifest(new Map([[info.fileNumber, handle]]));
      for (let i = 0; i < batch.length; i++) e.retireMemtable(e.immutables.shift()!.mem);
    });
    e.stats.flushes++;
    e.stats.memtablesFlushed += batch.length;
    for (const b of batch) await e.fs.remove(walPath(e.dir, b.walNumber)).catch(() => undefined);
    await e.withManifest(() => maybeRewriteManifest(e));
    e.compactor.schedule();
  }
}

/** Most sealed memtables merged into one L0 table, and most bytes of memtable they may hold. */
const FLUSH_MERGE_MAX = 4;
const FLUSH_MERGE_BYTES_MAX = 256 * 1024 * 1024;

/** Rewrites the manifest into a fresh file once it has grown past the configured size. */
export async function maybeRewriteManifest(e: Engine): Promise<void> {
  const m = e.manifest;
  if (m === undefined || m.sizeBytes < e.config.manifestRewriteBytes) return;
  const number = e.allocateFileNumber();
  const state = { ...m.state, nextFileNumber: e.nextFileNumber };
  let next: Manifest;
  try {
    next = await Manifest.create(e.fs, e.dir, number, state);
  } catch (err) {
    // CURRENT may already name the new manifest: appending to the old one would be lost
    // after a restart that reads the new one. Fail the store; a reopen finds either
    // manifest consistent.
    if (err instanceof CurrentSwitchUnsynced) throw e.fail(err.cause, 'syncing the directory after switching CURRENT to a rewritten manifest failed');
    throw err;
  }
  e.manifest = next;
  m.close();
  await e.fs.remove(manifestPath(e.dir, m.number)).catch(() => undefined);
}
