/**
 * Level sizing, scoring and picking (compaction/levels.ts, compaction/picker.ts) on hand-made
 * level layouts, including what may run next to compactions already running.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/codec/bytes.js';
import { makeInternalKey } from '../../src/codec/keys.js';
import { computeSizing, type CompactionTuning, scoreLevels } from '../../src/compaction/levels.js';
import { outputRange, pickCompaction, planFor, type RunningCompactions } from '../../src/compaction/picker.js';
import type { TableInfo } from '../../src/manifest/edit.js';

const MiB = 1024 * 1024;
const tuning: CompactionTuning = { l0CompactTables: 4, baseLevelBytes: 10 * MiB, levelMultiplier: 10, baseTableBytes: 2 * MiB };

let nextNumber = 1;
/** A table holding user keys [a, b] (single letters or words), `mib` MiB large. */
function t(a: string, b: string, mib: number): TableInfo {
  return { fileNumber: nextNumber++, fileSize: mib * MiB, smallest: makeInternalKey(utf8(a), 9), largest: makeInternalKey(utf8(b), 1), entries: 1, minVersion: 1, maxVersion: 9 };
}

function levels(spec: Partial<Record<number, TableInfo[]>>): TableInfo[][] {
  return Array.from({ length: 7 }, (_, l) => spec[l] ?? []);
}

function running(plans: NonNullable<ReturnType<typeof pickCompaction>>[]): RunningCompactions {
  const busy = new Set<number>();
  for (const p of plans) for (const x of [...p.upper, ...p.lower]) busy.add(x.fileNumber);
  return { busy, outputs: plans.map((p) => ({ level: p.outputLevel, range: outputRange(p), fromL0: p.level === 0 })) };
}

describe('level sizing', () => {
  it('a small database has L0 and the last level only; the base level rises as the last level grows', () => {
    expect(computeSizing(levels({ 6: [t('a', 'z', 5)] }), tuning).baseLevel).toBe(6);
    expect(computeSizing(levels({ 6: [t('a', 'z', 50)] }), tuning).baseLevel).toBe(5);
    const big = computeSizing(levels({ 6: [t('a', 'z', 5000)] }), tuning);
    expect(big.baseLevel).toBe(3);
    expect(big.targets[5]).toBe(500 * MiB);
    expect(big.targets[4]).toBe(50 * MiB);
    expect(big.targets[3]).toBe(10 * MiB);
  });

  it('the base level never lies below the first level holding data', () => {
    // The last level is small (after deletes), so its own size would put the base at L6, but L4
    // still holds tables: L0 must compact into L4 or above.
    expect(computeSizing(levels({ 4: [t('a', 'c', 1)], 6: [t('a', 'z', 1)] }), tuning).baseLevel).toBe(4);
  });

  it('scores: L0 by table count, deeper levels by bytes over target; busy tables do not count', () => {
    const l0 = [t('a', 'z', 1), t('a', 'z', 1), t('a', 'z', 1), t('a', 'z', 1), t('a', 'z', 1), t('a', 'z', 1)];
    const lv = levels({ 0: l0, 5: [t('a', 'm', 40), t('n', 'z', 40)], 6: [t('a', 'z', 500)] });
    const sizing = computeSizing(lv, tuning);
    const scores = scoreLevels(lv, sizing, tuning, new Set());
    expect(scores.find((s) => s.level === 0)!.score).toBe(1.5);
    expect(scores.find((s) => s.level === 5)!.score).toBeCloseTo(80 / 50);
    const busy = new Set([l0[0]!.fileNumber, l0[1]!.fileNumber, lv[5]![0]!.fileNumber]);
    const later = scoreLevels(lv, sizing, tuning, busy);
    expect(later.find((s) => s.level === 0)!.score).toBe(1);
    expect(later.find((s) => s.level === 5)!.score).toBeCloseTo(40 / 50);
  });
});

describe('picking', () => {
  it('moves all of L0 into the base level with every base table it touches', () => {
    const lv = levels({ 0: [t('c', 'f', 1), t('a', 'd', 1), t('e', 'h', 1), t('b', 'c', 1)], 6: [t('a', 'b', 3), t('c', 'g', 3), t('x', 'z', 3)] });
    const plan = pickCompaction(lv, tuning)!;
    expect(plan.level).toBe(0);
    expect(plan.outputLevel).toBe(6);
    expect(plan.upper).toHaveLength(4);
    expect(plan.lower.map((x) => x.fileNumber)).toEqual([lv[6]![0]!.fileNumber, lv[6]![1]!.fileNumber]);
    expect(plan.trivialMove).toBe(false);
  });

  it('moves L0 unread only when its tables are disjoint and no base table lies in their range', () => {
    // A sequential load: each flush holds the keys after the last one's.
    const seq = [t('g', 'h', 1), t('a', 'b', 1), t('e', 'f', 1), t('c', 'd', 1)];
    const moved = pickCompaction(levels({ 0: seq, 6: [t('0', '9', 3), t('m', 'z', 3)] }), tuning)!;
    expect(moved.level).toBe(0);
    expect(moved.upper).toHaveLength(4);
    expect(moved.lower).toHaveLength(0);
    expect(moved.trivialMove).toBe(true);
    // Two tables sharing the user key "d" (different versions of it): the newer must stay above.
    const sharing = [t('a', 'b', 1), t('c', 'd', 1), t('d', 'f', 1), t('g', 'h', 1)];
    expect(pickCompaction(levels({ 0: sharing }), tuning)!.trivialMove).toBe(false);
    // Disjoint, but a base table lies between two of them: it must be merged.
    const gap = pickCompaction(levels({ 0: [t('a', 'b', 1), t('c', 'd', 1), t('g', 'h', 1), t('k', 'l', 1)], 6: [t('e', 'f', 3)] }), tuning)!;
    expect(gap.lower).toHaveLength(1);
    expect(gap.trivialMove).toBe(false);
  });

  it('below L0 it takes the table with the least overlap per byte, and moves it unread when nothing overlaps', () => {
    const l5 = [t('a', 'c', 30), t('d', 'f', 30), t('m', 'p', 30)];
    const lv = levels({ 5: l5, 6: [t('a', 'b', 100), t('c', 'e', 100), t('f', 'h', 100)] });
    const plan = planFor(lv, 5, computeSizing(lv, tuning), tuning, 2)!;
    expect(plan.upper[0]!.fileNumber).toBe(l5[2]!.fileNumber);
    expect(plan.trivialMove).toBe(true);
  });

  it('next to a running compaction: never a busy table, never an overlapping output range of the same level, never a second L0 compaction', () => {
    const l0 = [t('a', 'c', 1), t('b', 'd', 1), t('a', 'b', 1), t('c', 'd', 1), t('a', 'd', 1)];
    const l5 = [t('a', 'b', 4), t('c', 'd', 4), t('e', 'f', 4), t('g', 'h', 4)];
    const l6 = [t('a', 'b', 20), t('c', 'd', 20), t('e', 'f', 20), t('g', 'h', 20)];
    const lv = levels({ 0: l0, 5: l5, 6: l6 });
    const first = pickCompaction(lv, tuning)!;
    expect(first.level).toBe(5); // L5 (the base) at 16 of 10 MiB scores above L0's 5 of 4 tables
    const second = pickCompaction(lv, tuning, running([first]))!;
    expect(second.level).toBe(5);
    const taken = new Set([...first.upper, ...first.lower, ...second.upper, ...second.lower].map((x) => x.fileNumber));
    expect(taken.size).toBe(4); // disjoint inputs: two L5 tables and the two L6 tables under them
    const [a1, b1] = outputRange(first);
    const [a2, b2] = outputRange(second);
    expect(Buffer.compare(b1, a2) < 0 || Buffer.compare(b2, a1) < 0).toBe(true);

    // L0 → base (L5) would need every L5 table its range touches: all of them, two busy.
    const third = pickCompaction(lv, tuning, running([first, second]));
    expect(third === undefined || third.level !== 0).toBe(true);
    // With L5 idle again, L0 goes, and no second L0 compaction starts next to it.
    const l0plan = planFor(lv, 0, computeSizing(lv, tuning), tuning, 2)!;
    expect(l0plan.outputLevel).toBe(5);
    expect(planFor(levels({ 0: [t('x', 'y', 1)], 5: l5, 6: l6 }), 0, computeSizing(lv, tuning), tuning, 2, running([l0plan]))).toBeUndefined();
  });

  it('a plan whose outputs would overlap what another compaction writes into the same level waits', () => {
    const l4 = [t('a', 'c', 20), t('e', 'g', 20)];
    const l5 = [t('b', 'b', 40), t('d', 'd', 40)];
    const lv = levels({ 4: l4, 5: l5, 6: [t('a', 'z', 1000)] });
    const sizing = computeSizing(lv, tuning);
    // Someone writes L5 over [c, f] (a made-up running compaction from elsewhere).
    const other: RunningCompactions = { busy: new Set(), outputs: [{ level: 5, range: [utf8('c'), utf8('f')], fromL0: false }] };
    // Both L4 tables' outputs would reach into [c, f]: nothing may run.
    expect(planFor(lv, 4, sizing, tuning, 2, other)).toBeUndefined();
    const elsewhere: RunningCompactions = { busy: new Set(), outputs: [{ level: 6, range: [utf8('c'), utf8('f')], fromL0: false }] };
    expect(planFor(lv, 4, sizing, tuning, 2, elsewhere)).toBeDefined();
  });
});
