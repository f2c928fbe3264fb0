/**
 * The manifest state's invariants, checked on every edit for the levels it touches: a level
 * below L0 holds disjoint user-key ranges. An edit that would break that is refused before it is
 * written, and the state it was applied to is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ErrCorruption } from '../../src/api/errors.js';
import { makeInternalKey } from '../../src/codec/keys.js';
import { utf8 } from '../../src/codec/bytes.js';
import type { TableInfo } from '../../src/manifest/edit.js';
import { applyEdit, emptyState } from '../../src/manifest/state.js';

const where = { file: 'MANIFEST-000001', offset: 0 };
function table(fileNumber: number, lo: string, hi: string, loVersion = 5, hiVersion = 5): TableInfo {
  return { fileNumber, fileSize: 100, smallest: makeInternalKey(utf8(lo), loVersion), largest: makeInternalKey(utf8(hi), hiVersion), entries: 2, minVersion: 1, maxVersion: 9 };
}

describe('manifest state invariants', () => {
  it('disjoint tables in a level below L0 are accepted, in any order; L0 tables may overlap', () => {
    let st = emptyState();
    st = applyEdit(st, { deleted: [], added: [{ level: 6, table: table(2, 'm', 'p') }, { level: 6, table: table(1, 'a', 'c') }] }, where);
    st = applyEdit(st, { deleted: [], added: [{ level: 0, table: table(3, 'a', 'z') }, { level: 0, table: table(4, 'b', 'y') }] }, where);
    expect(st.levels[6]!.map((t) => t.fileNumber)).toEqual([1, 2]);
    expect(st.levels[0]!.length).toBe(2);
  });

  it('an edit that makes two tables of L1+ overlap is ErrCorruption, and changes nothing', () => {
    const st = applyEdit(emptyState(), { deleted: [], added: [{ level: 5, table: table(1, 'a', 'f') }] }, where);
    const bad = [
      table(2, 'e', 'k'), // overlaps a..f
      table(3, 'f', 'g'), // shares the user key f (its versions must live in one table)
      table(4, 'A', 'z'), // covers it
    ];
    for (const t of bad) {
      let err: unknown;
      try {
        applyEdit(st, { deleted: [], added: [{ level: 5, table: t }] }, where);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ErrCorruption);
      expect((err as Error).message).toMatch(/overlapping/);
    }
    expect(st.levels[5]!.map((x) => x.fileNumber)).toEqual([1]);
    // Replacing a table by one with a wider range in the same edit is fine.
    const next = applyEdit(st, { deleted: [{ level: 5, fileNumber: 1 }], added: [{ level: 5, table: table(2, 'a', 'k') }] }, where);
    expect(next.levels[5]!.map((x) => x.fileNumber)).toEqual([2]);
  });

  it('the same user key at different versions in two tables of a level is an overlap', () => {
    const st = applyEdit(emptyState(), { deleted: [], added: [{ level: 4, table: table(1, 'a', 'k', 9, 3) }] }, where);
    expect(() => applyEdit(st, { deleted: [], added: [{ level: 4, table: table(2, 'k', 'q', 2, 2) }] }, where)).toThrow(ErrCorruption);
  });
});
