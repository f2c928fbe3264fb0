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
 * views of. Iterators stream in chunks (remote-iterator.ts).
 *
 * Errors come back as the same classes with the same codes (wire-error.ts).
 */
import type { BatchOp } from '../api/db.js';
import { ErrKeyNotFound, ErrStoreClosed, ErrStoreFailed } from '../api/errors.js';
import { type Bytes, boundBytes, keyBytes, valueBytes } from '../api/input.js';
import { boundsOf, limitOf } from '../api/iterator.js';
import type { KVStore, RangeOptions, WriteOptions } from '../api/kvstore.js';
import type { Config } from '../api/options.js';
import type { DBStats } from '../api/stats.js';
import type { VerifyReport } from '../engine/verify.js';
import { Channel } from './channel.js';
import { packItems, unpackItems } from './pack.js';
import { CONNECT, type HostStorage, type OpenReply, type PackedEntries, PROTOCOL_VERSION, type RequestBody, type WireRange } from './protocol.js';
import { RemoteIterator } from './remote-iterator.js';
import { RemoteBatch, RemoteSnapshot } from './remote-parts.js';

export { RemoteBatch, RemoteIterator, RemoteSnapshot };

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

  /**
   * Compacts [start, end] (everything if both are omitted) down to the last level, in the
   * worker; its reads and writes go on meanwhile (the merge runs there in time slices).
   */
  compactRange(start?: Bytes, end?: Bytes): Promise<void> {
    try {
      this.checkOpen();
      const a = start === undefined ? undefined : boundBytes(start, 'start');
      const b = end === undefined ? undefined : boundBytes(end, 'end');
      return this.ch.call({ op: 'compactRange', start: a, end: b });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Flushes and compacts everything into one level, in the worker. */
  flatten(): Promise<void> {
    return this.compactRange();
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

