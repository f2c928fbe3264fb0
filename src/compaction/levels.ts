/**
 * Level sizing and scoring (leveled compaction with dynamic level sizes, as RocksDB's
 * level_compaction_dynamic_level_bytes and Pebble do).
 *
 * The last level (L6) holds most of the data. Each level above it targets a tenth (the level
 * multiplier) of the one below. The base level, where L0 compacts into, is the highest level
 * whose target is still at least `baseLevelBytes`, but never below the first level holding
 * data; levels above it stay empty, so a small database has L0 and L6 only, instead of a chain
 * of nearly empty middle levels.
 *
 * Scores: L0 by table count against `l0CompactTables`; levels from the base to L5 by bytes
 * against target; a non-empty level above the base scores high so it drains down. A score of 1
 * or more means "needs compaction"; the highest goes first.
 */
import type { TableInfo } from '../manifest/edit.js';
import { LEVELS } from '../manifest/format.js';

export const LAST_LEVEL = LEVELS - 1;

export interface CompactionTuning {
  /** L0 tables that trigger an L0 compaction (default 5). */
  l0CompactTables: number;
  /** Target bytes of the base level (default 10 MiB). */
  baseLevelBytes: number;
  /** Size ratio between adjacent levels (default 10). */
  levelMultiplier: number;
  /** Output table size at the base level; doubles per level below (default 2 MiB). */
  baseTableBytes: number;
}

export interface LevelSizing {
  baseLevel: number;
  /** Target bytes per level (index = level); 0 for L0 and for levels above the base. */
  targets: number[];
}

export function levelBytes(tables: readonly TableInfo[]): number {
  let n = 0;
  for (const t of tables) n += t.fileSize;
  return n;
}

export function computeSizing(levels: readonly (readonly TableInfo[])[], tuning: CompactionTuning): LevelSizing {
  let maxBytes = 0;
  for (let l = 1; l <= LAST_LEVEL; l++) maxBytes = Math.max(maxBytes, levelBytes(levels[l] ?? []));
  let base = LAST_LEVEL;
  let cur = maxBytes;
  while (base > 1 && cur > tuning.baseLevelBytes) {
    cur /= tuning.levelMultiplier;
    base--;
  }
  // Never below a level that holds data: L0 compacts into the base level, and newer data must
  // not land below older data of a level it skipped (a tombstone there, dropped at the bottom,
  // would let the older value above come back). The last level shrinking (after deletes and a
  // compaction) moves the computed base down while a middle level may still hold tables.
  for (let l = 1; l < base; l++) {
    if ((levels[l] ?? []).length > 0) {
      base = l;
      break;
    }
  }
  const targets = new Array<number>(LEVELS).fill(0);
  targets[LAST_LEVEL] = Math.max(maxBytes, tuning.baseLevelBytes);
  for (let l = LAST_LEVEL - 1; l >= base; l--) targets[l] = Math.max(targets[l + 1]! / tuning.levelMultiplier, tuning.baseLevelBytes);
  return { baseLevel: base, targets };
}

/** Output table size target for a level: the base size at the base level, doubling below it. */
export function tableTargetBytes(level: number, sizing: LevelSizing, tuning: CompactionTuning): number {
  const depth = Math.max(0, level - sizing.baseLevel);
  return Math.min(tuning.baseTableBytes * 2 ** depth, 256 * 1024 * 1024);
}

export interface LevelScore {
  level: number;
  score: number;
}

/**
 * Scores every level that can compact (L0..L5). `busy` holds file numbers already being
 * compacted; they do not count towards a level's need.
 */
export function scoreLevels(levels: readonly (readonly TableInfo[])[], sizing: LevelSizing, tuning: CompactionTuning, busy: ReadonlySet<number>): LevelScore[] {
  const scores: LevelScore[] = [];
  const idle = (l: number): TableInfo[] => (levels[l] ?? []).filter((t) => !busy.has(t.fileNumber));
  scores.push({ level: 0, score: idle(0).length / tuning.l0CompactTables });
  for (let l = 1; l < LAST_LEVEL; l++) {
    const bytes = levelBytes(idle(l));
    if (l < sizing.baseLevel) scores.push({ level: l, score: bytes > 0 ? 100 + l : 0 });
    else scores.push({ level: l, score: bytes / sizing.targets[l]! });
  }
  return scores.sort((a, b) => b.score - a.score);
}
