/**
 * Ranges a transaction iterated, kept for the commit-time conflict check. A range is the
 * iterator's bounds while it is open; once it stops early (limit reached, or closed by the
 * caller) it is cut at the last key returned, since nothing beyond was observed (txn.ts,
 * narrowRange). Checking more than was read can only add conflicts, never miss one.
 */
import { compareBytes } from '../codec/bytes.js';
import type { Bounds } from '../engine/db-iterator.js';

export type ReadRange = Bounds;

/** True if `key` lies inside `range`. */
export function rangeContains(range: ReadRange, key: Uint8Array): boolean {
  if (range.lower !== undefined) {
    const c = compareBytes(key, range.lower);
    if (c < 0 || (c === 0 && !range.lowerInclusive)) return false;
  }
  if (range.upper !== undefined) {
    const c = compareBytes(key, range.upper);
    if (c > 0 || (c === 0 && !range.upperInclusive)) return false;
  }
  return true;
}
