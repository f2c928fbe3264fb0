/** What `db.stats()` reports: the shape of the tree and the engine's counters. */
import type { Engine } from '../engine/engine.js';
import type { EngineStats } from '../engine/state.js';
import { computeSizing, scoreLevels } from '../compaction/levels.js';

export interface LevelStats {
  level: number;
  tables: number;
  bytes: number;
  entries: number;
  /** Compaction urgency (1 or more: due). */
  score: number;
  /** Target bytes (0 for L0 and levels above the base level). */
  targetBytes: number;
  compactions: number;
  /** Shards run by compactions into this level that were split (subcompactions). */
  subcompactions: number;
  trivialMoves: number;
  /** Bytes compactions into this level read and wrote. */
  compactionBytesRead: number;
  compactionBytesWritten: number;
}

export interface DBStats {
  lastVersion: number;
  memtables: { active: { entries: number; bytes: number; capacity: number }; immutable: number; immutableBytes: number };
  levels: LevelStats[];
  tables: number;
  tableBytes: number;
  blockCache: { capacityBytes: number; usedBytes: number; hits: number; misses: number };
  snapshots: number;
  iterators: number;
  failed: string | undefined;
  baseLevel: number;
  /** Bytes written to disk (WAL + flushes + compactions) per byte of user data written. */
  writeAmplification: number;
  /** Compactions running now (up to `compactionWorkers` at once on Node). */
  compactionsRunning: number;
  compactionFailures: number;
  lastCompactionError: string | undefined;
  counters: EngineStats;
}

export function statsOf(e: Engine): DBStats {
  const infos = e.version.levels.map((l) => l.map((t) => t.info));
  const sizing = computeSizing(infos, e.config);
  const scores = new Map(scoreLevels(infos, sizing, e.config, new Set()).map((s) => [s.level, s.score]));
  const levels = e.version.levels.map((tables, level) => {
    const c = e.compactor.perLevel[level]!;
    return {
      level,
      tables: tables.length,
      bytes: tables.reduce((s, t) => s + t.info.fileSize, 0),
      entries: tables.reduce((s, t) => s + t.info.entries, 0),
      score: scores.get(level) ?? 0,
      targetBytes: sizing.targets[level] ?? 0,
      compactions: c.compactions,
      subcompactions: c.subcompactions,
      trivialMoves: c.trivialMoves,
      compactionBytesRead: c.bytesRead,
      compactionBytesWritten: c.bytesWritten,
    };
  });
  let snapshots = 0;
  for (const n of e.snapshots.values()) snapshots += n;
  return {
    lastVersion: e.lastVersion,
    memtables: {
      active: { entries: e.active.mem.entries, bytes: e.active.mem.usedBytes, capacity: e.active.mem.capacityBytes },
      immutable: e.immutables.length,
      immutableBytes: e.immutables.reduce((s, m) => s + m.mem.usedBytes, 0),
    },
    levels,
    tables: levels.reduce((s, l) => s + l.tables, 0),
    tableBytes: levels.reduce((s, l) => s + l.bytes, 0),
    blockCache: { capacityBytes: e.cache.capacityBytes, usedBytes: e.cache.usedBytes, hits: e.cache.hits, misses: e.cache.misses },
    snapshots,
    iterators: e.openIterators,
    failed: e.failure?.message,
    baseLevel: sizing.baseLevel,
    writeAmplification: e.stats.userBytes > 0 ? (e.stats.walBytes + e.stats.flushBytes + e.stats.compactionBytesWritten) / e.stats.userBytes : 0,
    compactionsRunning: e.compactor.runningCount,
    compactionFailures: e.compactor.failures,
    lastCompactionError: e.compactor.lastError,
    counters: { ...e.stats },
  };
}
