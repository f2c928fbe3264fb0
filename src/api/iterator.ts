/**
 * The public iterator. Underneath it is synchronous (memtables and tables are read with
 * synchronous calls), so it offers both a sync cursor (`nextSync`, `for...of`) and the async
 * protocol (`next`, `for await`). Entries are copies the caller owns. Breaking out of a loop
 * closes the iterator; otherwise call `close()` (or read to the end) to release the tables
 * it pins. Closing the store closes its iterators: using one afterwards throws ErrIteratorClosed.
 */
import { EMPTY, compareBytes, prefixUpperBound } from '../codec/bytes.js';
import type { Bounds, DBIter } from '../engine/db-iterator.js';
import { ErrIteratorClosed } from './errors.js';
import { boundBytes } from './input.js';
import type { Entry, KVIterator, RangeOptions } from './kvstore.js';

/** Turns gt/gte/lt/lte/prefix into one lower and one upper bound. */
export function boundsOf(o: RangeOptions): Bounds {
  if (o.gt !== undefined && o.gte !== undefined) throw new RangeError('iterator: give gt or gte, not both');
  if (o.lt !== undefined && o.lte !== undefined) throw new RangeError('iterator: give lt or lte, not both');
  let lower: Uint8Array | undefined;
  let lowerInclusive = true;
  let upper: Uint8Array | undefined;
  let upperInclusive = false;
  if (o.gt !== undefined) {
    lower = boundBytes(o.gt, 'gt');
    lowerInclusive = false;
  } else if (o.gte !== undefined) lower = boundBytes(o.gte, 'gte');
  if (o.lt !== undefined) upper = boundBytes(o.lt, 'lt');
  else if (o.lte !== undefined) {
    upper = boundBytes(o.lte, 'lte');
    upperInclusive = true;
  }
  if (o.prefix !== undefined) {
    const p = boundBytes(o.prefix, 'prefix');
    if (p.length > 0) {
      if (lower === undefined || compareBytes(p, lower) > 0) {
        lower = p;
        lowerInclusive = true;
      }
      const pEnd = prefixUpperBound(p);
      if (pEnd !== undefined && (upper === undefined || compareBytes(pEnd, upper) < 0 || (compareBytes(pEnd, upper) === 0 && upperInclusive))) {
        upper = pEnd;
        upperInclusive = false;
      }
    }
  }
  return { lower, lowerInclusive, upper, upperInclusive };
}

export function limitOf(o: RangeOptions): number {
  if (o.limit === undefined || o.limit === Infinity || o.limit < 0) return -1;
  if (!Number.isInteger(o.limit)) throw new RangeError(`iterator: limit must be an integer, got ${o.limit}`);
  return o.limit;
}

/** What DBIterator drives: the engine's DBIter, or a transaction's merged iterator. */
export type StepIter = Pick<DBIter, 'step' | 'key' | 'value' | 'close'>;

/**
 * The iterator protocols (sync cursor, async, for...of, for await) over a stepping source;
 * `current()` turns the source's position into what the caller gets.
 */
export abstract class Cursor<T, S extends { step(): boolean; close(): void }> implements Iterable<T>, AsyncIterable<T> {
  protected readonly iter: S;
  private closed = false;

  protected constructor(iter: S) {
    this.iter = iter;
  }

  protected abstract current(): T;

  /** Next entry, or undefined at the end (the iterator then closes itself). */
  nextSync(): T | undefined {
    if (this.closed) throw new ErrIteratorClosed();
    if (!this.iter.step()) {
      this.closed = true;
      return undefined;
    }
    return this.current();
  }

  next(): Promise<T | undefined> {
    try {
      return Promise.resolve(this.nextSync());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  allSync(): T[] {
    const out: T[] = [];
    for (let e = this.nextSync(); e !== undefined; e = this.nextSync()) out.push(e);
    return out;
  }

  all(): Promise<T[]> {
    try {
      return Promise.resolve(this.allSync());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    this.iter.close();
  }

  close(): Promise<void> {
    this.closeSync();
    return Promise.resolve();
  }

  [Symbol.iterator](): Iterator<T> {
    return {
      next: (): IteratorResult<T> => {
        const e = this.closed ? undefined : this.nextSync();
        return e === undefined ? { done: true, value: undefined } : { done: false, value: e };
      },
      return: (): IteratorResult<T> => {
        this.closeSync();
        return { done: true, value: undefined };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async (): Promise<IteratorResult<T>> => {
        const e = this.closed ? undefined : this.nextSync();
        return e === undefined ? { done: true, value: undefined } : { done: false, value: e };
      },
      return: async (): Promise<IteratorResult<T>> => {
        this.closeSync();
        return { done: true, value: undefined };
      },
    };
  }
}

/** Key/value entries at one read version. */
export class DBIterator extends Cursor<Entry, StepIter> implements KVIterator {
  /** @internal */
  constructor(iter: StepIter) {
    super(iter);
  }

  protected current(): Entry {
    return [this.iter.key, this.iter.value ?? EMPTY];
  }
}
