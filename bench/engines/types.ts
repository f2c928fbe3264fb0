/**
 * What the workloads need from an engine. Every adapter maps these onto the engine's fastest
 * idiomatic API and names that API (`apis`), so the output says what was measured.
 *
 * Keys and values are Buffers the engine may keep or copy; `get` is synchronous because every
 * engine here offers a synchronous point read, and that is its fastest one.
 */
export type EngineId = 'sett' | 'leveldb' | 'lmdb' | 'sqlite' | 'memory';

export const ENGINE_IDS: readonly EngineId[] = ['sett', 'leveldb', 'lmdb', 'sqlite', 'memory'];

export interface OpenOptions {
  /** Make every write durable before it is acknowledged (fillsync). */
  sync: boolean;
  /** Memtable / write buffer bytes, for engines that have one. */
  memtableBytes: number;
  /** Block / page cache bytes, for engines that let it be set. */
  cacheBytes: number;
}

export interface EngineApis {
  put: string;
  batch: string;
  get: string;
  scan: string;
  seek: string;
  /** Read-modify-write transaction (txn-*); absent: the engine has none. */
  txn?: string;
  /** Full compaction (overwrite3-flatten); absent: nothing to call. */
  compact?: string;
}

/** Counters only sett reports (write amplification from its own books). */
export interface SettCounters {
  walBytes: number;
  flushBytes: number;
  /** Table bytes compactions wrote. */
  compactionBytes: number;
  tableBytes: number;
  tables: number;
  l0Tables: number;
  stallMs: number;
  stalls: number;
  walSyncs: number;
  walGroups: number;
}

export interface Engine {
  /** One awaited put; `sync` asks for durability before the promise resolves. */
  put(key: Buffer, value: Buffer, sync: boolean): Promise<void> | void;
  /** One atomic batch of puts. */
  putBatch(keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> | void;
  /** Fastest point read. */
  get(key: Buffer): Uint8Array | undefined | null;
  /** Reads every entry in order (or reverse); returns how many, and the bytes seen. */
  scan(reverse: boolean): Promise<{ entries: number; bytes: number }> | { entries: number; bytes: number };
  /** Positions at the first key >= `key` and reads up to `n` entries; returns how many. */
  seek(key: Buffer, n: number): Promise<number> | number;
  close(): Promise<void>;
  counters?(): SettCounters;
  /**
   * One read-modify-write transaction: reads `keys`, writes `update(values read)` back to them
   * and commits, atomically and serializably; `sync`: durable before it resolves. Retries on a
   * conflict; resolves with the number of retries. Absent on engines without transactions.
   */
  transact?(keys: readonly Buffer[], update: (values: (Uint8Array | undefined)[]) => Buffer[], sync: boolean): Promise<number> | number;
  /** Compacts the whole key space (drops overwritten versions); absent if the engine has no such call. */
  compactAll?(): Promise<void>;
  /** Bytes flushes and compactions have written to tables so far, from the engine's own books. */
  tableBytesWritten?(): number;
  /**
   * Lets background work the writes left behind finish, for engines whose background work
   * needs the event loop (sett installs flushes on the main thread, and a synchronous read loop
   * would starve it). Resolves with the milliseconds waited.
   */
  settle?(): Promise<number>;
}

export interface EngineFactory {
  readonly id: EngineId;
  /** Package name and version, e.g. "classic-level 3.0.0". */
  readonly label: string;
  readonly apis: EngineApis;
  /** False for the in-memory reference: no durability, so no fillsync and no disk figures. */
  readonly durable: boolean;
  open(dir: string, options: OpenOptions): Promise<Engine>;
}
