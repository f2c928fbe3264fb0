/**
 * Small shared shapes of the running engine: a memtable with its WAL, and the engine's counters.
 * The state itself lives on Engine (engine.ts); every field there is changed only in synchronous
 * sections (no `await` between reading and writing a field that another task also changes).
 */
import type { Memtable } from '../memtable/index.js';

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
  /** L0 tables written by flushes. */
  flushes: number;
  /** Sealed memtables flushed (several waiting together go into one table). */
  memtablesFlushed: number;
  flushBytes: number;
  stallMs: number;
  stalls: number;
  gets: number;
  tableReads: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  l0Stalls: number;
  /** Wall time spent in flush and compaction jobs (ms; overlapping jobs add up). */
  flushMs: number;
  compactionMs: number;
  compactions: number;
  /** Compactions started for a table's expired entries rather than a level's size (compaction/expiry.ts). */
  expiryCompactions: number;
}

export function emptyStats(): EngineStats {
  return { writes: 0, userBytes: 0, writeBatches: 0, walSyncs: 0, walBytes: 0, walGroups: 0, flushes: 0, memtablesFlushed: 0, flushBytes: 0, stallMs: 0, stalls: 0, gets: 0, tableReads: 0, compactionBytesRead: 0, compactionBytesWritten: 0, l0Stalls: 0, flushMs: 0, compactionMs: 0, compactions: 0, expiryCompactions: 0 };
}
