/**
 * The set of live tables at one moment (a Version), shared by reads and iterators.
 *
 * Lifetime: a Version holds one reference on each of its tables. The engine holds the current
 * Version; an iterator pins the Version it started on. A table that an edit removed is marked
 * obsolete, and its file is closed and deleted once the last Version that lists it is released
 * (a file is never deleted under a reader). Point reads are synchronous, so they need no pin.
 */
import { compareUserOfInternal } from '../codec/keys.js';
import type { TableInfo } from '../manifest/edit.js';
import type { TableReader } from '../sstable/index.js';

export class TableHandle {
  readonly info: TableInfo;
  readonly reader: TableReader;
  refs = 0;
  obsolete = false;
  /** Called when the table is obsolete and unreferenced (closes the reader, removes the file). */
  private readonly onDead: (t: TableHandle) => void;

  constructor(info: TableInfo, reader: TableReader, onDead: (t: TableHandle) => void) {
    this.info = info;
    this.reader = reader;
    this.onDead = onDead;
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs === 0 && this.obsolete) this.onDead(this);
    if (this.refs < 0) throw new Error(`table ${this.info.fileNumber} released more than acquired`);
  }

  /** Whether userKey lies within the table's key range. */
  covers(userKey: Uint8Array): boolean {
    return compareUserOfInternal(this.info.smallest, userKey) <= 0 && compareUserOfInternal(this.info.largest, userKey) >= 0;
  }
}

export class Version {
  /** levels[0] newest first; deeper levels sorted by smallest key, disjoint. */
  readonly levels: readonly (readonly TableHandle[])[];
  private refs = 0;

  constructor(levels: TableHandle[][]) {
    this.levels = levels;
    for (const l of levels) for (const t of l) t.ref();
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs === 0) {
      for (const l of this.levels) for (const t of l) t.unref();
    }
  }

  tableCount(): number {
    let n = 0;
    for (const l of this.levels) n += l.length;
    return n;
  }

  /** In a sorted, disjoint level: the one table whose range may hold userKey. */
  static findInLevel(level: readonly TableHandle[], userKey: Uint8Array): TableHandle | undefined {
    let lo = 0;
    let hi = level.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUserOfInternal(level[mid]!.info.largest, userKey) < 0) lo = mid + 1;
      else hi = mid;
    }
    const t = level[lo];
    if (t === undefined || compareUserOfInternal(t.info.smallest, userKey) > 0) return undefined;
    return t;
  }
}
