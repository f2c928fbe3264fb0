/**
 * The page side of a worker iterator: streams entries in chunks (one packed, transferred buffer
 * per chunk), asking for up to twice as many entries each time (64 up to 4096, at most 1 MiB)
 * and requesting the next chunk as soon as one arrives.
 */
import { ErrIteratorClosed } from '../api/errors.js';
import type { Entry, KVIterator } from '../api/kvstore.js';
import { unpackItems } from './pack.js';
import type { IterChunk, WireRange } from './protocol.js';
import type { RemoteDB } from './proxy.js';

const chunkEntriesFirst = 64;
const chunkEntriesMax = 4096;
const chunkBytesMax = 1024 * 1024;

/**
 * Streams an iterator of the worker in chunks. Reads a consistent view as of its creation (the
 * worker opens it in call order). Reading to the end, breaking out of `for await` or `close()`
 * releases it in the worker.
 */
export class RemoteIterator implements KVIterator {
  private readonly db: RemoteDB;
  private readonly id: number;
  private readonly opened: Promise<void>;
  private chunk: (Uint8Array | undefined)[] = [];
  private pos = 0;
  private inflight: Promise<IterChunk> | undefined;
  private chunkEntries = chunkEntriesFirst;
  /** The worker has no more entries. */
  private drained = false;
  private closed = false;

  /** @internal */
  constructor(db: RemoteDB, id: number, range: WireRange) {
    this.db = db;
    this.id = id;
    this.opened = db.call({ op: 'iterOpen', iter: id, range });
    this.opened.catch(() => undefined);
  }

  /** Next entry, or undefined at the end (the iterator then closes itself). */
  async next(): Promise<Entry | undefined> {
    if (this.closed) throw new ErrIteratorClosed();
    if (this.pos >= this.chunk.length) {
      if (this.drained) {
        this.finish();
        return undefined;
      }
      await this.refill();
      if (this.pos >= this.chunk.length) {
        this.finish();
        return undefined;
      }
    }
    const k = this.chunk[this.pos]!;
    const v = this.chunk[this.pos + 1]!;
    this.pos += 2;
    return [k, v];
  }

  /** Every remaining entry. */
  async all(): Promise<Entry[]> {
    const out: Entry[] = [];
    for (let e = await this.next(); e !== undefined; e = await this.next()) out.push(e);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.finish();
    if (!this.drained && !this.db.closed) await this.db.call({ op: 'iterClose', iter: this.id }).catch(() => undefined);
  }

  /** @internal The store closed: the worker has dropped the iterator. */
  abandon(): void {
    this.closed = true;
    this.db.iterators.delete(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<Entry> {
    return {
      next: async (): Promise<IteratorResult<Entry>> => {
        const e = this.closed ? undefined : await this.next();
        return e === undefined ? { done: true, value: undefined } : { done: false, value: e };
      },
      return: async (): Promise<IteratorResult<Entry>> => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private finish(): void {
    this.closed = true;
    this.db.iterators.delete(this);
  }

  private request(): Promise<IterChunk> {
    const p = this.db.call<IterChunk>({ op: 'iterNext', iter: this.id, maxEntries: this.chunkEntries, maxBytes: chunkBytesMax });
    p.catch(() => undefined);
    this.chunkEntries = Math.min(this.chunkEntries * 2, chunkEntriesMax);
    return p;
  }

  private async refill(): Promise<void> {
    await this.opened;
    const c = await (this.inflight ?? this.request());
    this.inflight = undefined;
    if (this.closed) throw new ErrIteratorClosed();
    this.chunk = unpackItems(c);
    this.pos = 0;
    this.drained = c.done;
    if (!c.done) this.inflight = this.request(); // the next chunk travels while this one is read
  }
}
