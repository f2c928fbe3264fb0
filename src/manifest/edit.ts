/**
 * A version edit: one atomic change to the set of live tables, plus counters.
 *
 *   edit  = field*
 *   field = tag varint | body
 *   LogNumber      body = n varint          (WAL files numbered below n are obsolete)
 *   NextFileNumber body = n varint
 *   LastVersion    body = v varint          (newest version stored in any table)
 *   DeleteTable    body = level varint | file number varint
 *   AddTable       body = level varint | file number varint | file size varint |
 *                         smallest length varint | smallest | largest length varint | largest |
 *                         entries varint | min version varint | max version varint
 */
import { ErrCorruption } from '../api/errors.js';
import { getVarint, putVarint, varintLength } from '../codec/varint.js';
import { EditTag, LEVELS } from './format.js';

export interface TableInfo {
  fileNumber: number;
  fileSize: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  entries: number;
  minVersion: number;
  maxVersion: number;
}

export interface VersionEdit {
  logNumber?: number;
  nextFileNumber?: number;
  lastVersion?: number;
  /** Compaction keeps every version above this (managed versions; absent until first set). */
  discardVersion?: number;
  deleted: { level: number; fileNumber: number }[];
  added: { level: number; table: TableInfo }[];
}

export function emptyEdit(): VersionEdit {
  return { deleted: [], added: [] };
}

export function encodeEdit(edit: VersionEdit): Uint8Array {
  let size = 0;
  if (edit.logNumber !== undefined) size += 1 + varintLength(edit.logNumber);
  if (edit.nextFileNumber !== undefined) size += 1 + varintLength(edit.nextFileNumber);
  if (edit.lastVersion !== undefined) size += 1 + varintLength(edit.lastVersion);
  if (edit.discardVersion !== undefined) size += 1 + varintLength(edit.discardVersion);
  for (const d of edit.deleted) size += 1 + varintLength(d.level) + varintLength(d.fileNumber);
  for (const a of edit.added) {
    const t = a.table;
    size += 1 + varintLength(a.level) + varintLength(t.fileNumber) + varintLength(t.fileSize);
    size += varintLength(t.smallest.length) + t.smallest.length + varintLength(t.largest.length) + t.largest.length;
    size += varintLength(t.entries) + varintLength(t.minVersion) + varintLength(t.maxVersion);
  }
  const out = new Uint8Array(size);
  let p = 0;
  if (edit.logNumber !== undefined) p = putVarint(out, putVarint(out, p, EditTag.LogNumber), edit.logNumber);
  if (edit.nextFileNumber !== undefined) p = putVarint(out, putVarint(out, p, EditTag.NextFileNumber), edit.nextFileNumber);
  if (edit.lastVersion !== undefined) p = putVarint(out, putVarint(out, p, EditTag.LastVersion), edit.lastVersion);
  if (edit.discardVersion !== undefined) p = putVarint(out, putVarint(out, p, EditTag.DiscardVersion), edit.discardVersion);
  for (const d of edit.deleted) {
    p = putVarint(out, p, EditTag.DeleteTable);
    p = putVarint(out, p, d.level);
    p = putVarint(out, p, d.fileNumber);
  }
  for (const a of edit.added) {
    const t = a.table;
    p = putVarint(out, p, EditTag.AddTable);
    p = putVarint(out, p, a.level);
    p = putVarint(out, p, t.fileNumber);
    p = putVarint(out, p, t.fileSize);
    p = putVarint(out, p, t.smallest.length);
    out.set(t.smallest, p);
    p += t.smallest.length;
    p = putVarint(out, p, t.largest.length);
    out.set(t.largest, p);
    p += t.largest.length;
    p = putVarint(out, p, t.entries);
    p = putVarint(out, p, t.minVersion);
    p = putVarint(out, p, t.maxVersion);
  }
  if (p !== size) throw new Error(`manifest edit size mismatch: ${p} != ${size}`);
  return out;
}

export function decodeEdit(data: Uint8Array, where: { file: string; offset: number }): VersionEdit {
  const edit = emptyEdit();
  const c = { pos: 0 };
  const end = data.length;
  const num = (what: string): number => {
    const v = getVarint(data, c, end);
    if (v < 0) throw new ErrCorruption(`bad ${what} in manifest edit`, where);
    return v;
  };
  const level = (): number => {
    const l = num('level');
    if (l >= LEVELS) throw new ErrCorruption(`level ${l} out of range in manifest edit`, where);
    return l;
  };
  const bytes = (what: string): Uint8Array => {
    const n = num(`${what} length`);
    if (c.pos + n > end) throw new ErrCorruption(`${what} runs past the end of a manifest edit`, where);
    const b = data.slice(c.pos, c.pos + n);
    c.pos += n;
    return b;
  };
  while (c.pos < end) {
    const tag = num('tag');
    switch (tag) {
      case EditTag.LogNumber:
        edit.logNumber = num('log number');
        break;
      case EditTag.NextFileNumber:
        edit.nextFileNumber = num('next file number');
        break;
      case EditTag.LastVersion:
        edit.lastVersion = num('last version');
        break;
      case EditTag.DiscardVersion:
        edit.discardVersion = num('discard version');
        break;
      case EditTag.DeleteTable:
        edit.deleted.push({ level: level(), fileNumber: num('file number') });
        break;
      case EditTag.AddTable: {
        const lv = level();
        const fileNumber = num('file number');
        const fileSize = num('file size');
        const smallest = bytes('smallest key');
        const largest = bytes('largest key');
        const entries = num('entries');
        const minVersion = num('min version');
        const maxVersion = num('max version');
        edit.added.push({ level: lv, table: { fileNumber, fileSize, smallest, largest, entries, minVersion, maxVersion } });
        break;
      }
      default:
        throw new ErrCorruption(`unknown manifest field tag ${tag} (written by a newer sett?)`, where);
    }
  }
  return edit;
}
