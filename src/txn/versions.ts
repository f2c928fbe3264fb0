/**
 * Every stored version of the keys in a range (Badger's AllVersions): `db.iterator({ allVersions:
 * true })`, optionally only versions written after `sinceVersion` (incremental export / change
 * data capture). Forward: keys ascending, each key's versions newest first. Reverse: keys
 * descending, each key's versions oldest first (the internal order walked backwards). Only
 * versions at or below the read version. Deletes and expired entries are included and marked.
 * What exists is what compaction kept: every version above the oldest open snapshot and the
 * discard version, and below that only the newest `versionsToKeep` (see compaction/merge.ts).
 *
 * Streaming, like the DB iterator: it pins the tables it reads until closed (breaking out of a
 * loop closes it; closing the store closes it).
 */
import { ErrCorruption } from '../api/errors.js';
import { boundsOf, Cursor, limitOf } from '../api/iterator.js';
import type { RangeOptions } from '../api/kvstore.js';
import { copyOut } from '../codec/alloc.js';
import type { InternalIterator } from '../codec/iterator.js';
import { readTrailer, TRAILER_BYTES } from '../codec/keys.js';
import { type DecodedValue, decodeValueHeader, EntryKind, MetaFlag } from '../codec/value.js';
import { type Bounds, nowSeconds, RangeIter } from '../engine/db-iterator.js';
import type { Engine } from '../engine/engine.js';

export interface VersionsOptions extends Omit<RangeOptions, 'keysOnly'> {
  /** Only versions greater than this. */
  sinceVersion?: number;
}

export interface VersionEntry {
  key: Uint8Array;
  version: number;
  /** undefined for a delete. */
  value: Uint8Array | undefined;
  deleted: boolean;
  /** Expired at the time the iterator was created. */
  expired: boolean;
  /** Seconds since the epoch; 0 = never. */
  expiresAt: number;
  /** -1 = none. */
  userMeta: number;
}

/** Checks a `sinceVersion` option; 0 when absent. */
export function sinceOf(o: { sinceVersion?: number }): number {
  const since = o.sinceVersion ?? 0;
  if (!Number.isSafeInteger(since) || since < 0) throw new RangeError(`iterator: sinceVersion must be a non-negative integer, got ${o.sinceVersion}`);
  return since;
}

/** Steps over every internal entry in bounds with since < version <= readVersion. */
class VersionIter extends RangeIter {
  private readonly readVersion: number;
  private readonly since: number;
  readonly now = nowSeconds();
  /** Current entry (views into the inner iterator, valid until the next step). */
  key: Uint8Array = new Uint8Array(0);
  ulen = 0;
  value: Uint8Array = new Uint8Array(0);
  version = 0;

  constructor(inner: InternalIterator, bounds: Bounds, reverse: boolean, readVersion: number, since: number, limit: number, onClose: () => void) {
    super(inner, bounds, reverse, limit, onClose);
    this.readVersion = readVersion;
    this.since = since;
  }

  step(): boolean {
    if (this.ended()) return false;
    if (this.remaining <= 0) return this.finish();
    const it = this.inner;
    if (!this.started) {
      this.started = true;
      this.position();
    } else if (this.reverse) it.prev();
    else it.next();
    for (; it.valid(); this.reverse ? it.prev() : it.next()) {
      const ik = it.key();
      const ulen = ik.length - TRAILER_BYTES;
      // Past the far bound ends the walk; entries before the near bound are skipped.
      if (this.reverse ? this.belowLower(ik, ulen) : this.beyondUpper(ik, ulen)) break;
      if (this.reverse ? this.beyondUpper(ik, ulen) : this.belowLower(ik, ulen)) continue;
      const version = readTrailer(ik, ulen);
      if (version > this.readVersion || version <= this.since) continue;
      this.key = ik;
      this.ulen = ulen;
      this.value = it.value();
      this.version = version;
      this.remaining--;
      return true;
    }
    return this.finish();
  }
}

const header: DecodedValue = { kind: 0, expiresAt: 0, userMeta: 0, valueStart: 0 };

/** Every version in range; entries are copies the caller owns. */
export class VersionIterator extends Cursor<VersionEntry, VersionIter> {
  /** @internal */
  constructor(engine: Engine, readVersion: number, o: VersionsOptions) {
    const bounds = boundsOf(o);
    const limit = limitOf(o);
    const since = sinceOf(o);
    engine.checkOpen();
    const { iter, release } = engine.internalIterator();
    const vi: VersionIter = new VersionIter(iter, bounds, o.reverse === true, readVersion, since, limit, () => {
      engine.iterators.delete(vi);
      release();
    });
    engine.iterators.add(vi);
    super(vi);
  }

  protected current(): VersionEntry {
    const it = this.iter;
    const v = it.value;
    const h = decodeValueHeader(v, header);
    if (h === undefined) throw new ErrCorruption('malformed entry value');
    const deleted = h.kind === EntryKind.Delete;
    return {
      key: copyOut(it.key, 0, it.ulen),
      version: it.version,
      value: deleted ? undefined : copyOut(v, h.valueStart, v.length),
      deleted,
      expired: !deleted && h.expiresAt !== 0 && h.expiresAt <= it.now,
      expiresAt: h.expiresAt,
      userMeta: (v[0]! & MetaFlag.UserMeta) !== 0 ? h.userMeta : -1,
    };
  }
}
