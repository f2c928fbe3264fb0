/**
 * A monotonically increasing integer sequence stored under one key (Badger's Sequence).
 * Numbers are leased from the store `bandwidth` at a time in a transaction, so `next()` costs
 * a write only once per lease. The stored value is the first number not yet leased (8 bytes,
 * little-endian). After a crash or without `release()`, the unused rest of a lease is skipped:
 * numbers are unique and increasing, not gap-free.
 */
import type { DB } from '../api/db.js';
import { ErrInvalidValue } from '../api/errors.js';
import { getU64, putU64 } from '../codec/bytes.js';

function stored(v: Uint8Array | undefined): number {
  if (v === undefined) return 0;
  if (v.length !== 8) throw new ErrInvalidValue(`sequence key holds ${v.length} bytes, not a sequence number (8 bytes)`);
  return getU64(v, 0);
}

export class Sequence {
  private readonly db: DB;
  private readonly key: Uint8Array | string;
  private readonly bandwidth: number;
  private nextValue = 0;
  private leased = 0;
  /** Serializes leases: concurrent next() calls share one. */
  private leasing: Promise<void> | undefined;

  /** @internal Use `db.sequence()`. */
  constructor(db: DB, key: Uint8Array | string, bandwidth: number) {
    if (!Number.isSafeInteger(bandwidth) || bandwidth < 1) throw new RangeError(`sequence: bandwidth must be a positive integer, got ${bandwidth}`);
    this.db = db;
    this.key = key;
    this.bandwidth = bandwidth;
  }

  /** The next number (0 for a new sequence). */
  async next(): Promise<number> {
    while (this.nextValue >= this.leased) {
      this.leasing ??= this.lease().finally(() => {
        this.leasing = undefined;
      });
      await this.leasing;
    }
    return this.nextValue++;
  }

  private async lease(): Promise<void> {
    // State changes only after the commit: an attempt that conflicts leased nothing.
    const start = await this.db.update(
      (t) => {
        const first = stored(t.getSync(this.key));
        const out = new Uint8Array(8);
        putU64(out, 0, first + this.bandwidth);
        t.put(this.key, out);
        return first;
      },
      { retries: 16 },
    );
    this.nextValue = start;
    this.leased = start + this.bandwidth;
  }

  /** Gives back the unused rest of the lease (stores the next number), so that it is not skipped. */
  async release(): Promise<void> {
    if (this.leasing !== undefined) await this.leasing;
    if (this.nextValue >= this.leased) return;
    const expected = this.leased;
    const next = this.nextValue;
    await this.db.update((t) => {
      const v = t.getSync(this.key);
      // Another holder leased past ours meanwhile: leave the stored number alone.
      if (stored(v) !== expected) return;
      const out = new Uint8Array(8);
      putU64(out, 0, next);
      t.put(this.key, out);
    }, { retries: 16 });
    this.leased = next;
  }
}
