/**
 * When to compact a table for its expired entries.
 *
 * A compaction drops an entry whose TTL has passed (merge.ts), but only a compaction that reads
 * it: nothing reads a table again just because time went by. A table of the last level is
 * rewritten only when data from above lands on its key range, and for keys that only grow (a
 * timestamp, a block height) that never happens, so its expired entries would stay on disk for
 * good. So when no compaction is due or running, the compactor looks for a table in which
 * enough has expired and rewrites it alone, in place in its level (expired entries whose key a
 * deeper level holds are kept, as in any compaction: they hide the older value below). A
 * last-level table in which every entry has expired is dropped without being read.
 *
 * How much of a table has expired is estimated from its properties: the entries with a TTL, and
 * their earliest and latest expiry, between which the expiries are taken as spread evenly. A
 * table qualifies once the estimate reaches EXPIRED_SHARE_MIN of its entries, so that expired
 * entries keep at most about that share of a table's space, and each such compaction drops
 * about that much or more. A table whose newest version is above the oldest version a reader may
 * still read at is left alone: the merge would have to keep what it holds.
 */

/** Estimated share of a table's entries that expired before it qualifies. */
export const EXPIRED_SHARE_MIN = 0.25;

export interface ExpiryProperties {
  entries: number;
  /** Entries with a TTL (0 in tables written before this was recorded). */
  expiringEntries: number;
  minExpiresAt: number;
  maxExpiresAt: number;
}

/**
 * Estimated share of the table's entries that have expired at `now` (unix seconds). A table
 * written before the TTL count was recorded has only its earliest expiry: once that has passed,
 * it counts as just qualifying, so it is rewritten once and its output carries the counts.
 */
export function expiredShare(p: ExpiryProperties, now: number): number {
  if (p.expiringEntries === 0) return p.minExpiresAt > 0 && p.minExpiresAt <= now ? EXPIRED_SHARE_MIN : 0;
  if (p.entries === 0 || now < p.minExpiresAt) return 0;
  const passed = Math.min(1, (now - p.minExpiresAt + 1) / (p.maxExpiresAt - p.minExpiresAt + 1));
  return (p.expiringEntries / p.entries) * passed;
}

/** The first second at which `expiredShare` reaches EXPIRED_SHARE_MIN, or undefined if it never does. */
export function expiryDueAt(p: ExpiryProperties): number | undefined {
  if (p.expiringEntries === 0) return p.minExpiresAt > 0 ? p.minExpiresAt : undefined;
  if (p.entries === 0) return undefined;
  const ttlShare = p.expiringEntries / p.entries;
  if (ttlShare < EXPIRED_SHARE_MIN) return undefined;
  const span = p.maxExpiresAt - p.minExpiresAt + 1;
  for (let at = Math.max(p.minExpiresAt, Math.floor(p.minExpiresAt - 1 + (EXPIRED_SHARE_MIN / ttlShare) * span)); at < p.maxExpiresAt; at++) {
    if (expiredShare(p, at) >= EXPIRED_SHARE_MIN) return at;
  }
  return p.maxExpiresAt;
}

/** Whether every entry of the table has expired at `now` (it can go without being read). */
export function allExpired(p: ExpiryProperties, now: number): boolean {
  return p.entries > 0 && p.expiringEntries === p.entries && p.maxExpiresAt <= now;
}
