/**
 * Picks the next compaction: the most urgent level (levels.ts scores), and within it the input
 * tables.
 *
 *  - L0 → base level: every L0 table (they overlap each other, so they move down together,
 *    oldest to newest), plus every base-level table their key range touches.
 *  - Ln → Ln+1: the one table whose overlap with Ln+1 is smallest relative to its own size
 *    (least rewriting per byte moved down), plus the tables of Ln+1 it overlaps.
 *  - A single input with nothing to merge with in the output level is a trivial move: a
 *    manifest edit, no rewrite.
 *
 * Key ranges compare user keys: all versions of one user key live in one table at every level
 * below L0 (outputs split only between user keys), so a range of user keys is never cut.
 */
import { compareBytes } from '../codec/bytes.js';
import { userKeyOf } from '../codec/keys.js';
import type { TableInfo } from '../manifest/edit.js';
import { type CompactionTuning, computeSizing, LAST_LEVEL, type LevelSizing, scoreLevels, tableTargetBytes } from './levels.js';

export interface CompactionPlan {
  level: number;
  outputLevel: number;
  /** Input tables of `level` (for L0, oldest last as in the manifest: newest first). */
  upper: TableInfo[];
  /** Overlapping tables of `outputLevel`. */
  lower: TableInfo[];
  trivialMove: boolean;
  targetTableBytes: number;
  score: number;
  sizing: LevelSizing;
}

function lo(t: TableInfo): Uint8Array {
  return userKeyOf(t.smallest);
}
function hi(t: TableInfo): Uint8Array {
  return userKeyOf(t.largest);
}

/** Tables of a sorted, disjoint level whose user-key range intersects [a, b]. */
export function overlapping(level: readonly TableInfo[], a: Uint8Array, b: Uint8Array): TableInfo[] {
  const out: TableInfo[] = [];
  for (const t of level) {
    if (compareBytes(hi(t), a) < 0) continue;
    if (compareBytes(lo(t), b) > 0) break;
    out.push(t);
  }
  return out;
}

export function rangeOf(tables: readonly TableInfo[]): [Uint8Array, Uint8Array] {
  let a = lo(tables[0]!);
  let b = hi(tables[0]!);
  for (const t of tables) {
    if (compareBytes(lo(t), a) < 0) a = lo(t);
    if (compareBytes(hi(t), b) > 0) b = hi(t);
  }
  return [a, b];
}

function bytes(ts: readonly TableInfo[]): number {
  let n = 0;
  for (const t of ts) n += t.fileSize;
  return n;
}

export function planFor(levels: readonly (readonly TableInfo[])[], level: number, sizing: LevelSizing, tuning: CompactionTuning, score: number): CompactionPlan | undefined {
  const src = levels[level] ?? [];
  if (src.length === 0 || level >= LAST_LEVEL) return undefined;
  const outputLevel = level === 0 ? sizing.baseLevel : level + 1;
  const dst = levels[outputLevel] ?? [];
  let upper: TableInfo[];
  if (level === 0) {
    upper = src.slice();
  } else {
    let best: TableInfo | undefined;
    let bestRatio = Infinity;
    for (const t of src) {
      const ratio = bytes(overlapping(dst, lo(t), hi(t))) / Math.max(1, t.fileSize);
      if (ratio < bestRatio) {
        bestRatio = ratio;
        best = t;
      }
    }
    upper = [best!];
  }
  const [a, b] = rangeOf(upper);
  const lower = overlapping(dst, a, b);
  // L0 tables overlap each other, so one may only move alone if it is the only one.
  const trivialMove = lower.length === 0 && upper.length === 1 && (level > 0 || src.length === 1);
  return { level, outputLevel, upper, lower, trivialMove, targetTableBytes: tableTargetBytes(outputLevel, sizing, tuning), score, sizing };
}

/** The most urgent compaction, or undefined if every score is below 1. */
export function pickCompaction(levels: readonly (readonly TableInfo[])[], tuning: CompactionTuning): CompactionPlan | undefined {
  const sizing = computeSizing(levels, tuning);
  for (const { level, score } of scoreLevels(levels, sizing, tuning, new Set())) {
    if (score < 1) return undefined;
    const plan = planFor(levels, level, sizing, tuning, score);
    if (plan !== undefined) return plan;
  }
  return undefined;
}

/** Plan that pushes everything in `level` (overlapping [a, b] if given) one step down. */
export function manualPlan(levels: readonly (readonly TableInfo[])[], level: number, tuning: CompactionTuning, a?: Uint8Array, b?: Uint8Array): CompactionPlan | undefined {
  const sizing = computeSizing(levels, tuning);
  let src = (levels[level] ?? []).slice();
  // L0 moves down whole: leaving an older, overlapping L0 table above newer data would let it
  // shadow that data.
  if (level > 0 && (a !== undefined || b !== undefined)) {
    src = src.filter((t) => (a === undefined || compareBytes(hi(t), a) >= 0) && (b === undefined || compareBytes(lo(t), b) <= 0));
  }
  if (src.length === 0 || level >= LAST_LEVEL) return undefined;
  const outputLevel = level === 0 ? Math.max(1, sizing.baseLevel) : level + 1;
  const [x, y] = rangeOf(src);
  const lower = overlapping(levels[outputLevel] ?? [], x, y);
  // A manual compaction ends in the last level; the step into it always rewrites, so that
  // overwritten, deleted and expired entries are collected (moving a table down unread would
  // keep them, as LevelDB avoids by never moving tables in a manual compaction).
  const trivialMove = lower.length === 0 && src.length === 1 && (level > 0 || (levels[0] ?? []).length === 1) && outputLevel < LAST_LEVEL;
  return { level, outputLevel, upper: src, lower, trivialMove, targetTableBytes: tableTargetBytes(outputLevel, sizing, tuning), score: 0, sizing };
}
