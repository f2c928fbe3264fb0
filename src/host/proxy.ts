/**
 * The page side of the engine host: `RemoteDB` has the async API of `DB` (the KVStore methods
 * plus getMany, snapshot, stats, flush, sync, verify) and forwards every call to the engine in
 * a dedicated Worker (worker.ts) over a MessagePort.
 *
 * Arguments are checked here, with the engine's own checks and the database's config (sent back
 * by `open`), so bad input fails the same way and as early as with a local DB: a bad key in a
 * chained batch throws at `put()`, not at `write()`.
 *
 * Bytes are copied once, into a buffer that is then transferred: a batch into one packed
 * buffer, a put's key and value into one. Results come back transferred: a value as its own
 * buffer; an iterator chunk or a getMany answer as one buffer that the returned entries are
 * views of. Iterators stream: each chunk request asks for up to twice as many entries as the
 * last (64 up to 4096, at most 1 MiB), and the next chunk is requested as soon as one arrives.
 *
 * Errors come back as the same classes with the same codes (wire-error.ts).
 */
import type { BatchOp } from '../api/db.js';
import { ErrBatchWriteFailed, ErrIteratorClosed, ErrKeyNotFound, ErrSnapshotReleased, ErrStoreClosed, ErrStoreFailed } from '../api/errors.js';
import { type Bytes, boundBytes, keyBytes, valueBytes } from '../api/input.js';
import { boundsOf, limitOf } from '../api/iterator.js';
import type { Entry, KVBatch, KVIterator, KVStore, RangeOptions, WriteOptions } from '../api/kvstore.js';
import type { Config } from '../api/options.js';
import type { DBStats } from '../api/stats.js';
import type { VerifyReport } from '../engine/verify.js';
import { OpPacker, packItems, unpackItems } from './pack.js';
import { CONNECT, type HostStorage, type IterChunk, type OpenReply, type PackedEntries, PROTOCOL_VERSION, type Reply, type RequestBody, type WireRange } from './protocol.js';
import { fromWireError } from './wire-error.js';

/** What a worker needs to be for `connectWorker`: a Worker, or anything that posts like one. */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'error', listener: (e: ErrorEvent | Event) => void): void;
  terminate?(): void;
}

export interface RemoteReadOptions {
  snapshot?: RemoteSnapshot;
}

export interface RemoteIteratorOptions extends RangeOptions, RemoteReadOptions {}

const chunkEntriesFirst = 64;
const chunkEntriesMax = 4096;
const chunkBytesMax = 1024 * 1024;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** @internal Request/reply over one port. A crashed worker fails every pending and later call. */
export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken: Error | undefined;

  constructor(private readonly port: MessagePort) {
    port.onmessage = (e: MessageEvent) => this.receive(e.data as Reply);
    port.start();
  }

  call<T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.port.postMessage({ ...req, id }, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Fails every pending call and every later one with `error`. */
  break(error: Error): void {
    this.broken ??= error;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(this.broken);
  }

  close(): void {
    this.port.close();
  }

  private receive(r: Reply): void {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(fromWireError(r.error));
  }
}

/** A fresh copy of a checked key or value: its buffer can be transferred. */
function fresh(b: Uint8Array): Uint8Array {
  return b.slice();
}

function bytesForWire(b: Uint8Array): [Uint8Array, Transferable[]] {
  const f = fresh(b);
  return [f, [f.buffer]];
}

/**
 * Opens a database in `worker` (which must run `serveWorker()`, as sett-worker.js does) and
 * returns its proxy. `storage`: 'opfs' (default) or 'memory'.
 */
export async function connectWorker(worker: WorkerLike, options: Record<string, unknown>, storage: HostStorage = 'opfs', owned = false): Promise<RemoteDB> {
  const channel = new MessageChannel();
  const ch = new Channel(channel.port1);
  const onError = (e: ErrorEvent | Event): void => {
    const detail = 'message' in e && typeof e.message === 'string' && e.message.length > 0 ? e.message : 'the worker script failed to load or threw';
    ch.break(new ErrStoreFailed(`the sett worker failed: ${detail}`));
  };
  worker.addEventListener('error', onError);
  worker.postMessage({ type: CONNECT, version: PROTOCOL_VERSION, port: channel.port2 }, [channel.port2]);
  let reply: OpenReply;
  try {
    reply = await ch.call<OpenReply>({ op: 'open', options, storage });
  } catch (e) {
    ch.close();
    if (owned) worker.terminate?.();
    throw e;
  }
  return new RemoteDB(ch, reply, owned ? worker : undefined);
}

export class RemoteDB implements KVStore {
  /** The database's options as the worker normalized them. */
  readonly config: Config;
  private readonly ch: Channel;
  private readonly ownedWorker: WorkerLike | undefined;
  private isClosed = false;
  private closing: Promise<void> | undefined;
  private nextIter = 1;
  private nextSnap = 1;
  /** @internal Open iterators, closed with the store. */
  readonly iterators = new Set<RemoteIterator>();

  /** @internal Use `openInWorker()`. */
  constructor(ch: Channel, reply: OpenReply, ownedWorker: WorkerLike | undefined) {
    this.ch = ch;
    this.config = reply.config;
    this.ownedWorker = ownedWorker;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** @internal */
  checkOpen(): void {
    if (this.isClosed) throw new ErrStoreClosed();
  }

  /** @internal */
  call<T>(req: RequestBody, transfer: Transferable[] = []): Promise<T> {
    return this.ch.call<T>(req, transfer);
  }

  private snapshotId(options: RemoteReadOptions | undefined): number | undefined {
    const s = options?.snapshot;
    if (s === undefined) return undefined;
    return s.idFor(this);
  }

  put(key: Bytes, value: Bytes, options?: WriteOptions): Promise<void> {
    try {
      this.checkOpen();
      const k = keyBytes(key, this.config);
      const v = valueBytes(value, this.config);
      const kv = new Uint8Array(k.length + v.length);
      kv.set(k);
      kv.set(v, k.length);
      return this.ch.call({ op: 'put', kv, keyLength: k.length, sync: options?.sync }, [kv.buffer]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  delete(key: Bytes, options?: WriteOptions): Promise<void> {
    try {
      this.checkOpen();
      const [k, t] = bytesForWire(keyBytes(key, this.config));
      return this.ch.call({ op: 'delete', key: k, sync: options?.sync }, t);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  get(key: Bytes, options?: RemoteReadOptions): Promise<Uint8Array | undefined> {
    try {
      this.checkOpen();
      const [k, t] = bytesForWire(keyBytes(key, this.config));
      return this.ch.call({ op: 'get', key: k, snapshot: this.snapshotId(options) }, t);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async getOrThrow(key: Bytes, options?: RemoteReadOptions): Promise<Uint8Array> {
    const v = await this.get(key, options);
    if (v === undefined) throw new ErrKeyNotFound(`key not found: ${typeof key === 'string' ? key : `${key.length} bytes`}`);
    return v;
  }

  has(key: Bytes, options?: RemoteReadOptions): Promise<boolean> {
    try {
      this.checkOpen();
      const [k, t] = bytesForWire(keyBytes(key, this.config));
      return this.ch.call({ op: 'has', key: k, snapshot: this.snapshotId(options) }, t);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Values in the order of `keys` (undefined for missing ones), in one round trip. */
  async getMany(keys: readonly Bytes[], options?: RemoteReadOptions): Promise<(Uint8Array | undefined)[]> {
    this.checkOpen();
    const packed = packItems(keys.map((k) => keyBytes(k, this.config)));
    const r = await this.ch.call<PackedEntries>({ op: 'getMany', keys: packed.data, lengths: packed.lengths, snapshot: this.snapshotId(options) }, [
      packed.data.buffer,
      packed.lengths.buffer,
    ]);
    return unpackItems(r);
  }

  /** A chained batch, or, given operations, writes them as one atomic batch. */
  batch(): RemoteBatch;
  batch(ops: readonly BatchOp[], options?: WriteOptions): Promise<void>;
  batch(ops?: readonly BatchOp[], options?: WriteOptions): RemoteBatch | Promise<void> {
    if (ops === undefined) {
      this.checkOpen();
      return new RemoteBatch(this);
    }
    try {
      const b = new RemoteBatch(this);
      for (const op of ops) {
        if (op.type === 'put') b.put(op.key, op.value);
        else if (op.type === 'del') b.delete(op.key);
        else throw new TypeError(`batch operation type must be 'put' or 'del', got ${String((op as { type: unknown }).type)}`);
      }
      return b.write(options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Streams entries in order (or reverse) within bounds, in chunks. See RangeOptions. */
  iterator(options: RemoteIteratorOptions = {}): RemoteIterator {
    this.checkOpen();
    boundsOf(options); // the engine's checks, thrown here and now
    limitOf(options);
    const range: WireRange = {};
    for (const name of ['gt', 'gte', 'lt', 'lte', 'prefix'] as const) {
      const b = options[name];
      if (b !== undefined) range[name] = fresh(boundBytes(b, name));
    }
    if (options.reverse !== undefined) range.reverse = options.reverse;
    if (options.limit !== undefined) range.limit = options.limit;
    if (options.keysOnly !== undefined) range.keysOnly = options.keysOnly;
    const snap = this.snapshotId(options);
    if (snap !== undefined) range.snapshot = snap;
    const id = this.nextIter++;
    const it = new RemoteIterator(this, id, range);
    this.iterators.add(it);
    return it;
  }

  /** Keys only (values are neither read nor sent). */
  async *keys(options: RemoteIteratorOptions = {}): AsyncGenerator<Uint8Array> {
    for await (const [k] of this.iterator({ ...options, keysOnly: true })) yield k;
  }

  /**
   * Pins the current version in the worker: reads passing `{ snapshot }` see the database as it
   * was when this call was made (in the order of calls). Release it when done.
   */
  snapshot(): RemoteSnapshot {
    this.checkOpen();
    const id = this.nextSnap++;
    const version = this.ch.call<number>({ op: 'snapshot', snap: id });
    version.catch(() => undefined);
    return new RemoteSnapshot(this, id, version);
  }

  stats(): Promise<DBStats> {
    return this.simple<DBStats>('stats');
  }

  /** Makes every acknowledged write durable (flush of the WAL's access handle). */
  sync(): Promise<void> {
    return this.simple('sync');
  }

  /** Writes the memtable (and any waiting ones) to tables. */
  flush(): Promise<void> {
    return this.simple('flush');
  }

  /** Reads every block and record; reports damage without throwing. */
  verify(): Promise<VerifyReport> {
    return this.simple<VerifyReport>('verify');
  }

  /**
   * Closes the database in the worker (syncing the WAL, releasing the lock and the files), then
   * ends the worker if `openInWorker` created it. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      for (const it of [...this.iterators]) it.abandon();
      try {
        await this.ch.call({ op: 'close' });
      } finally {
        this.ch.break(new ErrStoreClosed());
        this.ch.close();
        this.ownedWorker?.terminate?.();
      }
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private simple<T = void>(op: 'stats' | 'flush' | 'sync' | 'verify'): Promise<T> {
    try {
      this.checkOpen();
      return this.ch.call<T>({ op });
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** A snapshot held by the worker for a RemoteDB. */
export class RemoteSnapshot {
  private db: RemoteDB | undefined;

  /** @internal */
  constructor(
    db: RemoteDB,
    private readonly id: number,
    /** The version it reads at, once the worker has taken it. */
    readonly version: Promise<number>,
  ) {
    this.db = db;
  }

  get released(): boolean {
    return this.db === undefined;
  }

  /** @internal */
  idFor(db: RemoteDB): number {
    if (this.db === undefined) throw new ErrSnapshotReleased();
    if (this.db !== db) throw new RangeError('snapshot belongs to another database');
    return this.id;
  }

  release(): void {
    const db = this.db;
    this.db = undefined;
    if (db === undefined || db.closed) return;
    db.call({ op: 'snapshotRelease', snap: this.id }).catch(() => undefined);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** A chained batch: operations are checked and packed as they are added, sent on write(). */
export class RemoteBatch implements KVBatch {
  private readonly db: RemoteDB;
  private readonly ops = new OpPacker();
  private written = false;

  /** @internal */
  constructor(db: RemoteDB) {
    this.db = db;
  }

  get length(): number {
    return this.ops.count;
  }

  /** Bytes of keys and values queued (with 5 to 9 bytes of framing per operation). */
  get byteLength(): number {
    return this.ops.byteLength;
  }

  private check(): void {
    if (this.written) throw new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()');
    this.db.checkOpen();
  }

  put(key: Bytes, value: Bytes): this {
    this.check();
    this.ops.put(keyBytes(key, this.db.config), valueBytes(value, this.db.config));
    return this;
  }

  delete(key: Bytes): this {
    this.check();
    this.ops.delete(keyBytes(key, this.db.config));
    return this;
  }

  reset(): this {
    this.check();
    this.ops.reset();
    return this;
  }

  write(options?: WriteOptions): Promise<void> {
    if (this.written) return Promise.reject(new ErrBatchWriteFailed('batch was already written; create a new one with db.batch()'));
    this.written = true;
    try {
      this.db.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    const ops = this.ops.finish();
    return this.db.call({ op: 'batch', ops, sync: options?.sync }, [ops.buffer]);
  }
}

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
