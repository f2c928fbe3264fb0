/**
 * A transaction's iterator: the database as of the transaction's read version, with the
 * transaction's own pending writes merged over it (read your own writes). A pending put
 * replaces or adds the key; a pending delete (or an expired pending put) hides it.
 *
 * Both inputs are sorted in the iteration direction; on equal keys the pending write wins and
 * the database entry is skipped. The limit counts what the caller sees, after merging.
 */
import { compareBytes } from '../codec/bytes.js';
import { EntryKind } from '../codec/value.js';
import type { DBIter } from '../engine/db-iterator.js';
import type { StepIter } from '../api/iterator.js';

export interface PendingWrite {
  key: Uint8Array;
  kind: EntryKind;
  value: Uint8Array | undefined;
  /** Seconds since the epoch; 0 = never. */
  expiresAt: number;
  /** -1 = none. */
  userMeta: number;
}

export function pendingVisible(w: PendingWrite, now: number): boolean {
  return w.kind === EntryKind.Put && (w.expiresAt === 0 || w.expiresAt > now);
}

export class TxnIter implements StepIter {
  private readonly inner: DBIter;
  /** Pending writes inside the bounds, in iteration order. */
  private readonly pending: readonly PendingWrite[];
  private readonly reverse: boolean;
  private readonly keysOnly: boolean;
  private readonly now: number;
  private remaining: number;
  private pi = 0;
  /** Inner has a current entry not yet emitted. */
  private innerHas = false;
  private innerStarted = false;
  private done = false;
  key: Uint8Array = new Uint8Array(0);
  value: Uint8Array | undefined = undefined;
  /** Whether any entry was returned (then `key` is the last one). */
  private emitted = false;
  /**
   * Told how far the caller read once the iterator ends: `exhausted` if it ran to the end of
   * its bounds, else `last` is the last key returned (undefined if none).
   */
  private readonly onSettle: ((exhausted: boolean, last: Uint8Array | undefined) => void) | undefined;

  constructor(
    inner: DBIter,
    pending: readonly PendingWrite[],
    reverse: boolean,
    limit: number,
    keysOnly: boolean,
    now: number,
    onSettle?: (exhausted: boolean, last: Uint8Array | undefined) => void,
  ) {
    this.onSettle = onSettle;
    this.inner = inner;
    this.pending = pending;
    this.reverse = reverse;
    this.keysOnly = keysOnly;
    this.remaining = limit < 0 ? Infinity : limit;
    this.now = now;
  }

  private advanceInner(): void {
    this.innerHas = this.inner.step();
  }

  step(): boolean {
    if (this.done) return false;
    if (!this.innerStarted) {
      this.innerStarted = true;
      this.advanceInner();
    }
    while (this.remaining > 0) {
      const p = this.pending[this.pi];
      if (!this.innerHas && p === undefined) break;
      let c: number;
      if (p === undefined) c = -1;
      else if (!this.innerHas) c = 1;
      else {
        c = compareBytes(this.inner.key, p.key);
        if (this.reverse) c = -c;
      }
      if (c < 0) {
        // The database entry comes first and no pending write shadows it.
        this.key = this.inner.key;
        this.value = this.inner.value;
        this.advanceInner();
        this.remaining--;
        this.emitted = true;
        return true;
      }
      // The pending write comes first, or shadows the database entry of the same key.
      this.pi++;
      if (c === 0) this.advanceInner();
      if (!pendingVisible(p!, this.now)) continue;
      this.key = p!.key.slice();
      this.value = this.keysOnly ? undefined : p!.value!.slice();
      this.remaining--;
      this.emitted = true;
      return true;
    }
    this.end(this.remaining > 0);
    return false;
  }

  /** Closed by the caller before the end: it saw keys up to the last one returned. */
  close(): void {
    this.end(false);
  }

  private end(exhausted: boolean): void {
    if (this.done) return;
    this.done = true;
    this.inner.close();
    this.onSettle?.(exhausted, this.emitted ? this.key : undefined);
  }
}
