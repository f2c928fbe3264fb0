/** What `db.stats()` reports: the shape of the tree and the engine's counters. */
import type { Engine } from '../engine/engine.js';
import type { EngineStats } from '../engine/state.js';

export interface LevelStats {
  level: number;
  tables: number;
  bytes: number;
  entries: number;
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
  counters: EngineStats;
}

export function statsOf(e: Engine): DBStats {
  const levels = e.version.levels.map((tables, level) => ({
    level,
    tables: tables.length,
    bytes: tables.reduce((s, t) => s + t.info.fileSize, 0),
    entries: tables.reduce((s, t) => s + t.info.entries, 0),
  }));
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
    counters: { ...e.stats },
  };
}
