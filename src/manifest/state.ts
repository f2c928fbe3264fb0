/**
 * The manifest's view of the tree: which tables live in which level, plus the counters that
 * must survive a restart. `applyEdit` is the only way it changes, so replay and live updates
 * follow one path.
 *
 * Invariants: a file number appears at most once across all levels; L1 and deeper are sorted by
 * smallest key and their user-key ranges do not overlap (every version of a user key lives in
 * one table of a level). Both are checked for every edit, for the tables it adds: an edit
 * that would break them is refused before it is written (a bug in whatever built it), and a
 * manifest that replays into such a state is damage.
 */
import { ErrCorruption } from '../api/errors.js';
import { compareInternal, userKeyOf } from '../codec/keys.js';
import { compareBytes } from '../codec/bytes.js';
import type { TableInfo, VersionEdit } from './edit.js';
import { LEVELS } from './format.js';

export interface ManifestState {
  levels: TableInfo[][];
  logNumber: number;
  nextFileNumber: number;
  lastVersion: number;
  /** Compaction keeps every version above this; undefined until managed versions set it. */
  discardVersion: number | undefined;
}

export function emptyState(): ManifestState {
  return { levels: Array.from({ length: LEVELS }, () => []), logNumber: 0, nextFileNumber: 1, lastVersion: 0, discardVersion: undefined };
}

/** Applies an edit, returning a new state (the old one is not changed; readers may hold it). */
export function applyEdit(state: ManifestState, edit: VersionEdit, where: { file: string; offset: number }): ManifestState {
  const levels = state.levels.map((l) => l.slice());
  for (const d of edit.deleted) {
    const level = levels[d.level]!;
    const i = level.findIndex((t) => t.fileNumber === d.fileNumber);
    if (i < 0) throw new ErrCorruption(`manifest deletes table ${d.fileNumber} which is not in L${d.level}`, where);
    level.splice(i, 1);
  }
  for (const a of edit.added) {
    for (const l of levels) {
      if (l.some((t) => t.fileNumber === a.table.fileNumber)) {
        throw new ErrCorruption(`manifest adds table ${a.table.fileNumber} twice`, where);
      }
    }
    levels[a.level]!.push(a.table);
  }
  // L0: newest first (higher max version first). L1+: by smallest key, disjoint.
  levels[0]!.sort((x, y) => y.maxVersion - x.maxVersion || y.fileNumber - x.fileNumber);
  // Only an added table can make a level overlap: check it against its neighbours.
  const added = new Set<TableInfo>();
  for (const a of edit.added) if (a.level > 0) added.add(a.table);
  for (let l = 1; l < levels.length; l++) {
    const level = levels[l]!;
    level.sort((x, y) => compareInternal(x.smallest, y.smallest));
    if (added.size === 0) continue;
    for (let i = 1; i < level.length; i++) {
      const prev = level[i - 1]!;
      const next = level[i]!;
      if (!added.has(prev) && !added.has(next)) continue;
      if (compareBytes(userKeyOf(prev.largest), userKeyOf(next.smallest)) >= 0) {
        throw new ErrCorruption(`manifest edit leaves tables ${prev.fileNumber} and ${next.fileNumber} of L${l} overlapping (a level below L0 must hold disjoint key ranges)`, where);
      }
    }
  }
  return {
    levels,
    logNumber: Math.max(state.logNumber, edit.logNumber ?? 0),
    nextFileNumber: Math.max(state.nextFileNumber, edit.nextFileNumber ?? 0),
    lastVersion: Math.max(state.lastVersion, edit.lastVersion ?? 0),
    discardVersion: edit.discardVersion === undefined ? state.discardVersion : Math.max(state.discardVersion ?? 0, edit.discardVersion),
  };
}

/** The edit that recreates `state` from nothing (first record of a rewritten manifest). */
export function snapshotEdit(state: ManifestState): VersionEdit {
  const added: VersionEdit['added'] = [];
  state.levels.forEach((tables, level) => {
    for (const table of tables) added.push({ level, table });
  });
  const edit: VersionEdit = { logNumber: state.logNumber, nextFileNumber: state.nextFileNumber, lastVersion: state.lastVersion, deleted: [], added };
  if (state.discardVersion !== undefined) edit.discardVersion = state.discardVersion;
  return edit;
}

export function liveTableNumbers(state: ManifestState): Set<number> {
  const s = new Set<number>();
  for (const l of state.levels) for (const t of l) s.add(t.fileNumber);
  return s;
}
