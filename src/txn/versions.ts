/**
 * Every stored version of the keys in a range (Badger's AllVersions), optionally only those
 * written after `sinceVersion` (change data capture). Versions come in key order, newest
 * first within a key, each at or below the read version. Deletes and expired entries are
 * included and marked. What exists is what compaction kept: every version above the oldest
 * open snapshot, and below it only the newest (see compaction/merge.ts).
 *
 * Eager by design: the entries are collected in one synchronous pass and the pinned tables
 * released at once, so nothing is left open if the caller stops early or the store closes.
 * Bound the result with a range, `sinceVersion` or `limit`.
 */
import { ErrCorruption } from '../api/errors.js';
import { boundsOf, limitOf } from '../api/iterator.js';
import type { RangeOptions } from '../api/kvstore.js';
import { copyOut } from '../codec/alloc.js';
import { compareRange } from '../codec/bytes.js';
import { makeInternalKey, readTrailer, TRAILER_BYTES, VERSION_MAX } from '../codec/keys.js';
import { type DecodedValue, decodeValueHeader, EntryKind, MetaFlag } from '../codec/value.js';
import { nowSeconds } from '../engine/db-iterator.js';
import type { Engine } from '../engine/engine.js';

export interface VersionsOptions extends Omit<RangeOptions, 'reverse' | 'keysOnly'> {
  /** Only versions greater than this. */
  sinceVersion?: number;
}

export interface VersionEntry {
  key: Uint8Array;
  version: number;
  /** undefined for a delete. */
  value: Uint8Array | undefined;
  deleted: boolean;
  /** Expired at the time of the call. */
  expired: boolean;
  /** Seconds since the epoch; 0 = never. */
  expiresAt: number;
  /** -1 = none. */
  userMeta: number;
}

const header: DecodedValue = { kind: 0, expiresAt: 0, userMeta: 0, valueStart: 0 };

export function collectVersions(engine: Engine, readVersion: number, o: VersionsOptions): VersionEntry[] {
  const bounds = boundsOf(o);
  const limit = limitOf(o);
  const since = o.sinceVersion ?? 0;
  if (!Number.isSafeInteger(since) || since < 0) throw new RangeError(`versions: sinceVersion must be a non-negative integer, got ${o.sinceVersion}`);
  const now = nowSeconds();
  const out: VersionEntry[] = [];
  const { iter, release } = engine.internalIterator();
  try {
    if (bounds.lower === undefined) iter.seekToFirst();
    else iter.seek(makeInternalKey(bounds.lower, bounds.lowerInclusive ? VERSION_MAX : 0));
    for (; iter.valid() && (limit < 0 || out.length < limit); iter.next()) {
      const ik = iter.key();
      const ulen = ik.length - TRAILER_BYTES;
      const u = bounds.upper;
      if (u !== undefined) {
        const c = compareRange(ik, 0, ulen, u, 0, u.length);
        if (bounds.upperInclusive ? c > 0 : c >= 0) break;
      }
      const l = bounds.lower;
      if (l !== undefined && !bounds.lowerInclusive && compareRange(ik, 0, ulen, l, 0, l.length) === 0) continue;
      const version = readTrailer(ik, ulen);
      if (version > readVersion || version <= since) continue;
      const v = iter.value();
      const h = decodeValueHeader(v, header);
      if (h === undefined) throw new ErrCorruption('malformed entry value');
      const deleted = h.kind === EntryKind.Delete;
      out.push({
        key: copyOut(ik, 0, ulen),
        version,
        value: deleted ? undefined : copyOut(v, h.valueStart, v.length),
        deleted,
        expired: !deleted && h.expiresAt !== 0 && h.expiresAt <= now,
        expiresAt: h.expiresAt,
        userMeta: (v[0]! & MetaFlag.UserMeta) !== 0 ? h.userMeta : -1,
      });
    }
  } finally {
    iter.close();
    release();
  }
  return out;
}
