/**
 * Turns the merged stream of internal entries (every version of every key, tombstones included)
 * into what a user sees at one read version: for each user key in range, its newest version at
 * or below the read version, unless that version is a tombstone or has expired.
 *
 * Forward: entries of one user key arrive newest first, so the first visible version decides
 * and the rest of that key is skipped. Reverse: they arrive oldest first, so the iterator walks
 * back over the whole key, remembering the newest visible version, and decides when the user key
 * changes (LevelDB's DBIter::FindPrevUserEntry).
 */
import { ErrCorruption, ErrIteratorClosed } from '../api/errors.js';
import { copyOut } from '../codec/alloc.js';
import { compareRange } from '../codec/bytes.js';
import type { InternalIterator } from '../codec/iterator.js';
import { makeInternalKey, readTrailer, TRAILER_BYTES, VERSION_MAX } from '../codec/keys.js';
import { type DecodedValue, decodeValueHeader, EntryKind } from '../codec/value.js';

export interface Bounds {
  lower: Uint8Array | undefined;
  lowerInclusive: boolean;
  upper: Uint8Array | undefined;
  upperInclusive: boolean;
}

const header: DecodedValue = { kind: 0, expiresAt: 0, userMeta: 0, valueStart: 0 };

/** True if the entry is a tombstone or expired at `now` (seconds). Throws on a malformed value. */
export function isDeadValue(v: Uint8Array, now: number): boolean {
  const meta = v[0];
  if (meta === EntryKind.Put) return false;
  if (meta === EntryKind.Delete) return true;
  const h = decodeValueHeader(v, header);
  if (h === undefined) throw new ErrCorruption('malformed entry value');
  if (h.kind === EntryKind.Delete) return true;
  return h.expiresAt !== 0 && h.expiresAt <= now;
}

/** Copy of the user value inside an encoded value. */
export function userValueOf(v: Uint8Array): Uint8Array {
  if (v[0] === EntryKind.Put) return copyOut(v, 1, v.length);
  const h = decodeValueHeader(v, header);
  if (h === undefined) throw new ErrCorruption('malformed entry value');
  return copyOut(v, h.valueStart, v.length);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * What the user-level iterators share: a range over the merged internal iterator, positioning
 * at either end, bound checks, and a lifecycle in which the store's close() aborts them.
 */
export abstract class RangeIter {
  protected readonly inner: InternalIterator;
  protected readonly bounds: Bounds;
  protected readonly reverse: boolean;
  protected remaining: number;
  protected started = false;
  private done = false;
  /** Closed by the store's close(): further steps fail instead of reporting the end. */
  private aborted = false;
  private readonly onClose: () => void;

  protected constructor(inner: InternalIterator, bounds: Bounds, reverse: boolean, limit: number, onClose: () => void) {
    this.inner = inner;
    this.bounds = bounds;
    this.reverse = reverse;
    this.remaining = limit < 0 ? Infinity : limit;
    this.onClose = onClose;
  }

  /** True once ended (throws ErrIteratorClosed if the store's close() ended it). */
  protected ended(): boolean {
    if (!this.done) return false;
    if (this.aborted) throw new ErrIteratorClosed('iterator was closed because its store was closed');
    return true;
  }

  protected finish(): false {
    this.close();
    return false;
  }

  /** Positions the inner iterator at the first entry in range, in the walking direction. */
  protected position(): void {
    const { lower, lowerInclusive, upper, upperInclusive } = this.bounds;
    // (k, VERSION_MAX) sorts before every stored version of k; (k, 0) after all of them.
    if (!this.reverse) {
      if (lower === undefined) this.inner.seekToFirst();
      else this.inner.seek(makeInternalKey(lower, lowerInclusive ? VERSION_MAX : 0));
    } else if (upper === undefined) this.inner.seekToLast();
    else this.inner.seekForPrev(makeInternalKey(upper, upperInclusive ? 0 : VERSION_MAX));
  }

  protected beyondUpper(ik: Uint8Array, ulen: number): boolean {
    const u = this.bounds.upper;
    if (u === undefined) return false;
    const c = compareRange(ik, 0, ulen, u, 0, u.length);
    return this.bounds.upperInclusive ? c > 0 : c >= 0;
  }

  protected belowLower(ik: Uint8Array, ulen: number): boolean {
    const l = this.bounds.lower;
    if (l === undefined) return false;
    const c = compareRange(ik, 0, ulen, l, 0, l.length);
    return this.bounds.lowerInclusive ? c < 0 : c <= 0;
  }

  /** Closes the iterator on behalf of the store; a later step throws ErrIteratorClosed. */
  abort(): void {
    if (this.done) return;
    this.aborted = true;
    this.close();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.inner.close();
    this.onClose();
  }
}

export class DBIter extends RangeIter {
  private readonly readVersion: number;
  private readonly keysOnly: boolean;
  private readonly now: number;
  /** Only keys whose visible version is above this (0: all). */
  private readonly since: number;
  /** Current entry (copies owned by the caller once returned). */
  key: Uint8Array = new Uint8Array(0);
  value: Uint8Array | undefined = undefined;

  constructor(inner: InternalIterator, readVersion: number, bounds: Bounds, reverse: boolean, limit: number, keysOnly: boolean, onClose: () => void, since = 0) {
    super(inner, bounds, reverse, limit, onClose);
    this.since = since;
    this.readVersion = readVersion;
    this.keysOnly = keysOnly;
    this.now = nowSeconds();
  }

  /** Moves to the next visible entry; false once exhausted (then closes itself). */
  step(): boolean {
    if (this.ended()) return false;
    if (this.remaining <= 0) return this.finish();
    let found: boolean;
    if (!this.started) {
      this.started = true;
      this.position();
      found = this.reverse ? this.findPrev() : this.findNext(undefined);
    } else {
      found = this.reverse ? this.findPrev() : this.findNext(this.key);
    }
    if (!found) return this.finish();
    this.remaining--;
    return true;
  }

  private findNext(skip: Uint8Array | undefined): boolean {
    const inner = this.inner;
    while (inner.valid()) {
      const ik = inner.key();
      const ulen = ik.length - TRAILER_BYTES;
      if (skip !== undefined && compareRange(ik, 0, ulen, skip, 0, skip.length) === 0) {
        inner.next();
        continue;
      }
      if (this.beyondUpper(ik, ulen)) return false;
      const version = readTrailer(ik, ulen);
      if (version > this.readVersion || this.belowLower(ik, ulen)) {
        inner.next();
        continue;
      }
      const v = inner.value();
      if (version <= this.since || isDeadValue(v, this.now)) {
        skip = ik.slice(0, ulen);
        inner.next();
        continue;
      }
      this.key = copyOut(ik, 0, ulen);
      this.value = this.keysOnly ? undefined : userValueOf(v);
      return true;
    }
    return false;
  }

  private findPrev(): boolean {
    const inner = this.inner;
    for (;;) {
      let saved: Uint8Array | undefined;
      let savedValue: Uint8Array | undefined;
      let savedVersion = 0;
      while (inner.valid()) {
        const ik = inner.key();
        const ulen = ik.length - TRAILER_BYTES;
        if (saved !== undefined) {
          if (compareRange(ik, 0, ulen, saved, 0, saved.length) !== 0) break;
        } else {
          if (this.belowLower(ik, ulen)) break;
          if (this.beyondUpper(ik, ulen)) {
            inner.prev();
            continue;
          }
        }
        const version = readTrailer(ik, ulen);
        if (version <= this.readVersion) {
          if (saved === undefined) saved = ik.slice(0, ulen);
          savedValue = inner.value().slice();
          savedVersion = version;
        }
        inner.prev();
      }
      if (saved === undefined || savedValue === undefined) return false;
      if (savedVersion <= this.since || isDeadValue(savedValue, this.now)) continue;
      this.key = saved;
      this.value = this.keysOnly ? undefined : userValueOf(savedValue);
      return true;
    }
  }

}
