/**
 * The engines of the browser benchmark behind one small async interface, and the data they all
 * get: the same keys (16 bytes, spread over the key space) and values (100 bytes, half
 * compressible) in the same order.
 *
 * - sett: the LSM engine on OPFS, in the dedicated worker that runs this code (the engine's
 *   home in a browser), called through its async API (`await db.get(k)`).
 * - sett-proxy: the same engine seen from the page, through `openInWorker()`'s RemoteDB: every
 *   call is a message round trip to the worker.
 * - browser-level: abstract-level over IndexedDB (one IDB transaction per call).
 * - indexeddb: raw IndexedDB, one transaction per call, binary keys, chunked getAll for scans.
 *
 * Durability as measured: sett writes are acknowledged once in the WAL and handed to OPFS
 * (unsynced, the default; `sync: true` variants fsync before acknowledging). IndexedDB
 * transactions use the browser's default durability (Chromium: 'relaxed', committed without an
 * fsync) unless marked 'strict'.
 */
import { BrowserLevel } from 'browser-level';
import { open, openInWorker, type RemoteDB } from '../../src/browser.js';
import type { DB } from '../../src/api/db.js';
import { OpfsFileSystem } from '../../src/fs/opfs.js';

export interface BenchEngine {
  /** Writes `keys[i] = values[i]` for i in [from, to) as one atomic batch. */
  batch(keys: Uint8Array[], values: Uint8Array[], from: number, to: number): Promise<void>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Reads every entry in key order; returns the count (and touches every byte length). */
  scan(): Promise<{ count: number; bytes: number }>;
  /** Called after the fill, before reads: lets background work finish (flush, compaction). */
  settle(): Promise<void>;
  /** Compacts everything into one level (engines with a full compaction only). */
  flatten?(): Promise<void>;
  close(): Promise<void>;
}

export type EngineName = 'sett' | 'sett-sync' | 'sett-proxy' | 'browser-level' | 'indexeddb' | 'indexeddb-strict';

/** Key i: 16 bytes; a multiplicative hash first, so writes land all over the key space. */
export function keyOf(i: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0);
  dv.setUint32(4, 0x73657474); // "sett"
  dv.setUint32(8, Math.floor(i / 0x1_0000_0000));
  dv.setUint32(12, i >>> 0);
  return out;
}

/** Value i: 100 bytes, 50 of a repeated pattern and 50 pseudo-random. */
export function valueOf(i: number): Uint8Array {
  const v = new Uint8Array(100);
  for (let j = 0; j < 50; j++) v[j] = 0x61 + (j % 8);
  let x = (i * 2654435761) >>> 0;
  for (let j = 50; j < 100; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[j] = x & 0xff;
  }
  return v;
}

/** sett options for the benchmark: an 8 MiB memtable (a browser-friendly size), defaults otherwise. */
export const SETT_OPTIONS = { memtableSize: 8 * 1024 * 1024 };

/** Counts the entries and bytes of a whole-database iterator. */
async function scanAll(entries: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for await (const [k, v] of entries) {
    count++;
    bytes += k.length + v.length;
  }
  return { count, bytes };
}

class SettLocal implements BenchEngine {
  private constructor(
    private readonly db: DB,
    private readonly fs: OpfsFileSystem,
    private readonly sync: boolean,
  ) {}

  static async open(path: string, sync: boolean): Promise<SettLocal> {
    const fs = new OpfsFileSystem();
    return new SettLocal(await open({ path, fs, ...SETT_OPTIONS }), fs, sync);
  }

  batch(keys: Uint8Array[], values: Uint8Array[], from: number, to: number): Promise<void> {
    const b = this.db.batch();
    for (let i = from; i < to; i++) b.put(keys[i]!, values[i]!);
    return b.write({ sync: this.sync });
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.db.put(key, value, { sync: this.sync });
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key);
  }

  scan(): Promise<{ count: number; bytes: number }> {
    return scanAll(this.db.iterator());
  }

  async settle(): Promise<void> {
    await this.db.flush();
  }

  flatten(): Promise<void> {
    return this.db.flatten();
  }

  async close(): Promise<void> {
    await this.db.close();
    this.fs.closeIdleFiles();
  }
}

class SettProxy implements BenchEngine {
  private constructor(private readonly db: RemoteDB) {}

  static async open(path: string, workerUrl: string): Promise<SettProxy> {
    return new SettProxy(await openInWorker({ path, worker: workerUrl, ...SETT_OPTIONS }));
  }

  batch(keys: Uint8Array[], values: Uint8Array[], from: number, to: number): Promise<void> {
    const b = this.db.batch();
    for (let i = from; i < to; i++) b.put(keys[i]!, values[i]!);
    return b.write();
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.db.put(key, value);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key);
  }

  scan(): Promise<{ count: number; bytes: number }> {
    return scanAll(this.db.iterator());
  }

  settle(): Promise<void> {
    return this.db.flush();
  }

  flatten(): Promise<void> {
    return this.db.flatten();
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

class Level implements BenchEngine {
  private constructor(private readonly db: BrowserLevel<Uint8Array, Uint8Array>) {}

  static async open(name: string): Promise<Level> {
    const db = new BrowserLevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new Level(db);
  }

  batch(keys: Uint8Array[], values: Uint8Array[], from: number, to: number): Promise<void> {
    const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
    for (let i = from; i < to; i++) ops.push({ type: 'put', key: keys[i]!, value: values[i]! });
    return this.db.batch(ops);
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.db.put(key, value);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(key);
  }

  scan(): Promise<{ count: number; bytes: number }> {
    return scanAll(this.db.iterator());
  }

  async settle(): Promise<void> {}

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A binary IndexedDB key (the view itself: IndexedDB copies it). */
function idbKey(k: Uint8Array): IDBValidKey {
  return k as Uint8Array<ArrayBuffer>;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

class RawIdb implements BenchEngine {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly durability: IDBTransactionDurability,
  ) {}

  static async open(name: string, durability: IDBTransactionDurability): Promise<RawIdb> {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('kv');
    return new RawIdb(await req(r), durability);
  }

  private tx(mode: IDBTransactionMode): IDBTransaction {
    return this.db.transaction('kv', mode, { durability: this.durability });
  }

  batch(keys: Uint8Array[], values: Uint8Array[], from: number, to: number): Promise<void> {
    const tx = this.tx('readwrite');
    const store = tx.objectStore('kv');
    for (let i = from; i < to; i++) store.put(values[i]!, idbKey(keys[i]!));
    return done(tx);
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const tx = this.tx('readwrite');
    tx.objectStore('kv').put(value, idbKey(key));
    return done(tx);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = (await req(this.tx('readonly').objectStore('kv').get(idbKey(key)))) as Uint8Array | undefined;
    return v;
  }

  async scan(): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    let after: ArrayBuffer | undefined;
    for (;;) {
      const store = this.tx('readonly').objectStore('kv');
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      const [keys, values] = await Promise.all([req(store.getAllKeys(range, 1000)), req(store.getAll(range, 1000))]);
      if (keys.length === 0) break;
      for (let i = 0; i < keys.length; i++) {
        count++;
        bytes += (keys[i] as ArrayBuffer).byteLength + (values[i] as Uint8Array).byteLength;
      }
      after = keys[keys.length - 1] as ArrayBuffer;
      if (keys.length < 1000) break;
    }
    return { count, bytes };
  }

  async settle(): Promise<void> {}

  async close(): Promise<void> {
    this.db.close();
  }
}

export async function openEngine(name: EngineName, location: string, workerUrl: string): Promise<BenchEngine> {
  switch (name) {
    case 'sett':
      return SettLocal.open(location, false);
    case 'sett-sync':
      return SettLocal.open(location, true);
    case 'sett-proxy':
      return SettProxy.open(location, workerUrl);
    case 'browser-level':
      return Level.open(location);
    case 'indexeddb':
      return RawIdb.open(location, 'default');
    case 'indexeddb-strict':
      return RawIdb.open(location, 'strict');
  }
}
