/**
 * Picks the next compaction: the most urgent level (levels.ts scores), and within it the input
 * tables.
 *
 *  - L0 → base level: every L0 table (they overlap each other, so they move down together,
 *    oldest to newest), plus every base-level table their key range touches.
 *  - Ln → Ln+1: the one table whose overlap with Ln+1 is smallest relative to its own size
 *    (least rewriting per byte moved down), plus the tables of Ln+1 it overlaps.
 *  - A single input with nothing to merge with in the output level is a trivial move: a
 *    manifest edit, no rewrite (the compactor still rewrites one holding deletions when it
 *    would land in the last level, where nothing would ever drop them).
 *
 * Key ranges compare user keys: all versions of one user key live in one table at every level
 * below L0 (outputs split only between user keys), so a range of user keys is never cut.
 */
import { compareBytes } from '../codec/bytes.js';
import { userKeyOf } from '../codec/keys.js';
import type { TableInfo } from '../manifest/edit.js';
import { type CompactionTuning, computeSizing, LAST_LEVEL, type LevelSizing, scoreLevels, tableTargetBytes } from './levels.js';
import { allExpired, EXPIRED_SHARE_MIN, type ExpiryProperties, expiredShare } from './expiry.js';

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
  /** Picked for the table's expired entries (expiry.ts), not for the level's size. */
  expiry?: boolean;
  /** An expiry plan for a last-level table in which everything expired: dropped, not read. */
  dropWhole?: boolean;
}

function lo(t: TableInfo): Uint8Array {
  return userKeyOf(t.smallest);
}
function hi(t: TableInfo): Uint8Array {
  return userKeyOf(t.largest);
}

/** Tables of a sorted, disjoint level whose user-key range intersects [a, b]. */
export function overlapping(level: readonly TableInfo[], a: Uint8Array, b: Uint8Array): TableInfo[] {
  // First table that does not end before a (binary search: picking asks this per table).
  let i = 0;
  let j = level.length;
  while (i < j) {
    const mid = (i + j) >>> 1;
    if (compareBytes(hi(level[mid]!), a) < 0) i = mid + 1;
    else j = mid;
  }
  const out: TableInfo[] = [];
  for (; i < level.length; i++) {
    const t = level[i]!;
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

/** Whether no two of the tables share a user key (each ends before the next in key order begins). */
export function disjoint(tables: readonly TableInfo[]): boolean {
  const byStart = tables.slice().sort((x, y) => compareBytes(lo(x), lo(y)));
  for (let i = 1; i < byStart.length; i++) if (compareBytes(hi(byStart[i - 1]!), lo(byStart[i]!)) >= 0) return false;
  return true;
}

function bytes(ts: readonly TableInfo[]): number {
  let n = 0;
  for (const t of ts) n += t.fileSize;
  return n;
}

/**
 * What runs already: the tables it reads (busy) and, per running compaction, the level it
 * writes and the user-key range its outputs may cover. A new plan may not read a busy table, nor
 * write a range of a level another compaction is writing, nor (for L0) start while another L0
 * compaction runs: L0 moves down whole, oldest first, or newer data could land below older.
 */
export interface RunningCompactions {
  busy: ReadonlySet<number>;
  outputs: readonly { level: number; range: [Uint8Array, Uint8Array]; fromL0: boolean }[];
}

export const NOTHING_RUNNING: RunningCompactions = { busy: new Set(), outputs: [] };

function rangesOverlap(a: [Uint8Array, Uint8Array], b: [Uint8Array, Uint8Array]): boolean {
  return compareBytes(a[0], b[1]) <= 0 && compareBytes(b[0], a[1]) <= 0;
}

/** The user-key range a plan's outputs may cover: the hull of all its inputs. */
export function outputRange(plan: CompactionPlan): [Uint8Array, Uint8Array] {
  return rangeOf([...plan.upper, ...plan.lower]);
}

function clashes(plan: CompactionPlan, running: RunningCompactions): boolean {
  for (const t of plan.lower) if (running.busy.has(t.fileNumber)) return true;
  if (running.outputs.length === 0) return false;
  const range = outputRange(plan);
  for (const o of running.outputs) if (o.level === plan.outputLevel && rangesOverlap(o.range, range)) return true;
  return false;
}

export function planFor(
  levels: readonly (readonly TableInfo[])[],
  level: number,
  sizing: LevelSizing,
  tuning: CompactionTuning,
  score: number,
  running: RunningCompactions = NOTHING_RUNNING,
): CompactionPlan | undefined {
  const src = levels[level] ?? [];
  if (src.length === 0 || level >= LAST_LEVEL) return undefined;
  const outputLevel = level === 0 ? sizing.baseLevel : level + 1;
  const dst = levels[outputLevel] ?? [];
  const make = (upper: TableInfo[], lower = overlapping(dst, ...rangeOf(upper))): CompactionPlan => {
    // Below L0 one table moves alone. L0 moves whole, and may move unread when its tables are
    // disjoint (a sequential load flushes one key range after another): no table then shadows
    // another, so they can lie side by side in a sorted level.
    const trivialMove = lower.length === 0 && (level > 0 ? upper.length === 1 : upper.length === src.length && disjoint(upper));
    return { level, outputLevel, upper, lower, trivialMove, targetTableBytes: tableTargetBytes(outputLevel, sizing, tuning), score, sizing };
  };
  if (level === 0) {
    if (running.outputs.some((o) => o.fromL0)) return undefined;
    const plan = make(src.slice());
    return clashes(plan, running) ? undefined : plan;
  }
  // The idle table whose overlap with the next level is smallest relative to its own size
  // (least rewriting per byte moved down) among those that clash with nothing running.
  let best: CompactionPlan | undefined;
  let bestRatio = Infinity;
  for (const t of src) {
    if (running.busy.has(t.fileNumber)) continue;
    const lower = overlapping(dst, lo(t), hi(t));
    const ratio = bytes(lower) / Math.max(1, t.fileSize);
    if (ratio >= bestRatio) continue;
    const plan = make([t], lower);
    if (clashes(plan, running)) continue;
    bestRatio = ratio;
    best = plan;
  }
  return best;
}

/** The most urgent compaction that can run next to `running`, or undefined if none is due. */
export function pickCompaction(levels: readonly (readonly TableInfo[])[], tuning: CompactionTuning, running: RunningCompactions = NOTHING_RUNNING): CompactionPlan | undefined {
  const sizing = computeSizing(levels, tuning);
  for (const { level, score } of scoreLevels(levels, sizing, tuning, running.busy)) {
    if (score < 1) return undefined;
    const plan = planFor(levels, level, sizing, tuning, score, running);
    if (plan !== undefined) return plan;
  }
  return undefined;
}

/**
 * A compaction for expired entries (expiry.ts): the idle table with the largest estimated
 * expired share, at least EXPIRED_SHARE_MIN, among those whose versions are all at or below
 * `floor` (what no reader needs any more can be dropped), rewritten alone in place (level ===
 * outputLevel; the merge keeps an expired entry whose key a deeper level holds). A last-level
 * table whose entries have all expired is dropped whole instead.
 */
export function pickExpiryCompaction(
  levels: readonly (readonly TableInfo[])[],
  propertiesOf: (fileNumber: number) => ExpiryProperties | undefined,
  tuning: CompactionTuning,
  running: RunningCompactions,
  now: number,
  floor: number,
): CompactionPlan | undefined {
  let best: CompactionPlan | undefined;
  let bestShare = EXPIRED_SHARE_MIN;
  let sizing: LevelSizing | undefined;
  for (let level = 1; level <= LAST_LEVEL; level++) {
    for (const t of levels[level] ?? []) {
      if (running.busy.has(t.fileNumber) || t.maxVersion > floor) continue;
      const p = propertiesOf(t.fileNumber);
      if (p === undefined) continue;
      const share = expiredShare(p, now);
      if (share < bestShare) continue;
      sizing ??= computeSizing(levels, tuning);
      const plan: CompactionPlan = { level, outputLevel: level, upper: [t], lower: [], trivialMove: false, targetTableBytes: tableTargetBytes(level, sizing, tuning), score: share, sizing, expiry: true };
      if (level === LAST_LEVEL && allExpired(p, now)) plan.dropWhole = true;
      if (clashes(plan, running)) continue;
      best = plan;
      bestShare = share;
    }
  }
  return best;
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
