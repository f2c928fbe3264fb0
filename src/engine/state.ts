/**
 * The mutable state of an open engine, in one place so the write path, the flusher, reads and
 * recovery agree on it. Every field is changed only in synchronous sections (no `await`
 * between reading and writing a field that another task also changes).
 */
import type { Config } from '../api/options.js';
import type { FileSystem, DirLock } from '../fs/types.js';
import type { Manifest } from '../manifest/manifest.js';
import type { Memtable } from '../memtable/index.js';
import type { BlockCache } from '../sstable/index.js';
import type { LogWriter } from '../wal/writer.js';
import type { Version } from './version.js';

export interface MemEntry {
  readonly mem: Memtable;
  /** WAL file holding this memtable's writes (deleted once the memtable is flushed). */
  readonly walNumber: number;
}

export interface EngineStats {
  writes: number;
  /** Key and value bytes written by users. */
  userBytes: number;
  writeBatches: number;
  walSyncs: number;
  walBytes: number;
  walGroups: number;
  flushes: number;
  flushBytes: number;
  stallMs: number;
  stalls: number;
  gets: number;
  tableReads: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  l0Stalls: number;
}

export function emptyStats(): EngineStats {
  return { writes: 0, userBytes: 0, writeBatches: 0, walSyncs: 0, walBytes: 0, walGroups: 0, flushes: 0, flushBytes: 0, stallMs: 0, stalls: 0, gets: 0, tableReads: 0, compactionBytesRead: 0, compactionBytesWritten: 0, l0Stalls: 0 };
}

export interface EngineState {
  readonly config: Config;
  readonly fs: FileSystem;
  readonly dir: string;
  readonly cache: BlockCache;
  readonly lock: DirLock | undefined;
  manifest: Manifest | undefined;
  active: MemEntry;
  wal: LogWriter | undefined;
  /** Sealed memtables waiting for flush, oldest first. */
  immutables: MemEntry[];
  version: Version;
  /** Newest version visible to reads (published after a write is in the memtable). */
  lastVersion: number;
  nextFileNumber: number;
  /** Set when a durable write failed; every later write reports it. */
  failure: Error | undefined;
  closed: boolean;
  readonly stats: EngineStats;
}
