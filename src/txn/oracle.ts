/**
 * The transaction oracle: hands out read versions and decides, at commit, whether a
 * read-write transaction may commit (serializable snapshot isolation, as Badger's oracle).
 *
 * A transaction reads at its read version r (a pinned snapshot). At commit it conflicts iff
 * some write accepted with a commit version > r touched a key it read, or a key inside a range
 * it iterated (so an insert into a scanned gap conflicts too). The check runs inside the commit
 * queue's synchronous section (CommitQueue `validate` hook), in commit order, so check and
 * commit are atomic relative to every other write, including others of the same group.
 *
 * Invariants:
 *  - every write accepted by the commit queue (transactions, puts, batches) is recorded here
 *    with its last version, in increasing version order (`records` is sorted by version); a
 *    group whose append or sync fails is forgotten at once (`onAbort`), so no later
 *    transaction conflicts with a write that never happened;
 *  - a record is kept while an open read-write transaction may need it (its version is above
 *    the oldest open read version) or while it is not yet published (version > lastVersion: a
 *    transaction beginning now would read below it). Everything else is released.
 */
import { compareBytes, toHex } from '../codec/bytes.js';
import type { Engine } from '../engine/engine.js';
import type { BatchRep } from '../wal/batch.js';
import { visitBatchRep } from '../wal/batch.js';
import type { ReadRange } from './read-set.js';
import { rangeContains } from './read-set.js';

/**
 * One accepted write. Its key sets are built lazily, on the first check that needs them, so
 * plain writes cost one small object while no transaction looks at them.
 */
class WriteRecord {
  /** Last version of the write's entries: its commit version. */
  readonly version: number;
  private rep: BatchRep | undefined;
  private keySet: Set<string> | undefined;
  private sortedKeys: Uint8Array[] | undefined;

  constructor(rep: BatchRep, version: number) {
    this.rep = rep;
    this.version = version;
  }

  /** Hex of every key written (point checks). */
  get keys(): Set<string> {
    if (this.keySet === undefined) this.build();
    return this.keySet!;
  }

  /** The same keys, sorted and deduplicated (range checks by binary search). */
  get sorted(): Uint8Array[] {
    if (this.sortedKeys === undefined) this.build();
    return this.sortedKeys!;
  }

  private build(): void {
    const keys = new Set<string>();
    const sorted: Uint8Array[] = [];
    visitBatchRep(this.rep!, 0, {
      entry(key: Uint8Array): void {
        const h = toHex(key);
        if (keys.has(h)) return;
        keys.add(h);
        sorted.push(key.slice());
      },
    });
    sorted.sort(compareBytes);
    this.keySet = keys;
    this.sortedKeys = sorted;
    this.rep = undefined;
  }
}

/** What the oracle needs from a transaction to validate it. */
export interface ReadSetOwner {
  readonly readVersion: number;
  readonly readKeys: ReadonlySet<string>;
  readonly readRanges: readonly ReadRange[];
}

export class Oracle {
  private readonly engine: Engine;
  private readonly records: WriteRecord[] = [];
  /** Open read-write transactions: read version → count. */
  private readonly open = new Map<number, number>();
  /** Conflicts found (for stats and the bank test). */
  conflicts = 0;
  /**
   * Highest version of a record released: a transaction reading below it (a managed
   * readVersion) cannot be fully checked, so if it read anything it conflicts.
   */
  private releasedThrough: number;

  constructor(engine: Engine) {
    this.engine = engine;
    // Writes before this open were never recorded: as if released, up to the last version.
    this.releasedThrough = engine.lastVersion;
    engine.commits.onAccept = (rep, _first, last) => this.record(rep, last);
    engine.commits.onAbort = (first) => this.forget(first);
  }

  /** Number of write sets held (tests check that memory is released). */
  get recordCount(): number {
    return this.records.length;
  }

  /** Registers a read-write transaction reading at `readVersion`. */
  begin(readVersion: number): void {
    this.open.set(readVersion, (this.open.get(readVersion) ?? 0) + 1);
  }

  /** Unregisters it (after its commit was decided, or on rollback) and releases what nobody needs. */
  end(readVersion: number): void {
    const n = this.open.get(readVersion);
    if (n === undefined) return;
    if (n <= 1) this.open.delete(readVersion);
    else this.open.set(readVersion, n - 1);
    this.release();
  }

  private record(rep: BatchRep, version: number): void {
    this.release();
    // Kept even when no transaction is open: one may begin while this group waits for its
    // fsync, reading below it. release() drops it once published and unneeded. (A group whose
    // append or sync fails is forgotten by onAbort before its versions are handed out again.)
    this.records.push(new WriteRecord(rep, version));
  }

  /** Forgets the writes accepted from `first` on: their group failed, they never committed. */
  private forget(first: number): void {
    const r = this.records;
    while (r.length > 0 && r[r.length - 1]!.version >= first) r.pop();
  }

  /** Drops records no open transaction (and no transaction that may begin now) can need. */
  private release(): void {
    let floor = this.engine.lastVersion;
    for (const v of this.open.keys()) if (v < floor) floor = v;
    const r = this.records;
    let i = 0;
    while (i < r.length && r[i]!.version <= floor) i++;
    if (i > 0 && r[i - 1]!.version > this.releasedThrough) this.releasedThrough = r[i - 1]!.version;
    if (i === r.length) r.length = 0;
    else if (i > 0) r.splice(0, i);
  }

  /** True if a write committed after `t.readVersion` touched what `t` read. */
  hasConflict(t: ReadSetOwner): boolean {
    const r = this.records;
    // Writes after the read version were forgotten before this transaction began: any read may
    // have been overwritten, so only a blind write can pass.
    if (t.readVersion < this.releasedThrough && (t.readKeys.size > 0 || t.readRanges.length > 0)) return this.found();
    // Records are in version order: find the first one above the read version.
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.version <= t.readVersion) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < r.length; i++) {
      const rec = r[i]!;
      if (t.readKeys.size > 0) {
        if (t.readKeys.size <= rec.keys.size) {
          for (const k of t.readKeys) if (rec.keys.has(k)) return this.found();
        } else {
          for (const k of rec.keys) if (t.readKeys.has(k)) return this.found();
        }
      }
      for (const range of t.readRanges) if (anyInRange(rec.sorted, range)) return this.found();
    }
    return false;
  }

  private found(): true {
    this.conflicts++;
    return true;
  }
}

/** True if some key of `sorted` lies inside `range`. */
function anyInRange(sorted: readonly Uint8Array[], range: ReadRange): boolean {
  let lo = 0;
  let hi = sorted.length;
  const lower = range.lower;
  if (lower !== undefined) {
    // First key >= lower (or > lower, for an exclusive bound).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(sorted[mid]!, lower);
      if (c < 0 || (c === 0 && !range.lowerInclusive)) lo = mid + 1;
      else hi = mid;
    }
  }
  const k = sorted[lo];
  return k !== undefined && rangeContains(range, k);
}
