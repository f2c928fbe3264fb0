/**
 * Options: one documented type (`Options`), checked and normalized once on open into a frozen
 * `Config` the engine reads. Every default is listed in the README; keep the two in step.
 */
import { Compression, compressionFromName, type CompressionName } from '../codec/compression.js';
import type { FileSystem } from '../fs/types.js';
import { ErrInvalidConfig } from './errors.js';

export interface Options {
  /** Directory of the database. Required. */
  path: string;
  /** File system backend. Node default: the real file system; browser: required (OPFS). */
  fs?: FileSystem;
  /** Create the database if the directory holds none. Default true. */
  createIfMissing?: boolean;
  /** Fail with ErrInvalidConfig if a database already exists. Default false. */
  errorIfExists?: boolean;
  /** Open without taking the writer lock; every write fails with ErrReadOnly. Default false. */
  readOnly?: boolean;
  /**
   * fsync the WAL before a write is acknowledged. Default false: a write is then durable once a
   * later synced write, `db.sync()`, a memtable rotation or `close()` syncs the WAL; a crash
   * before that can lose the newest unsynced writes (never older ones, never part of a batch).
   */
  sync?: boolean;
  /** Memtable (and WAL file) size in bytes. Default 64 MiB; range 4 KiB to 1 GiB. */
  memtableSize?: number;
  /** Full memtables waiting for flush before writes stall. Default 4; range 1 to 64. */
  maxImmutableMemtables?: number;
  /** Target uncompressed data block size. Default 4096; range 64 to 1 MiB. */
  blockSize?: number;
  /** Keys between restart points in a block. Default 16; range 1 to 1024. */
  blockRestartInterval?: number;
  /** Block cache budget in bytes (0 disables it). Default 64 MiB. */
  blockCacheSize?: number;
  /** Block compression. Default 'snappy'. */
  compression?: CompressionName;
  /** Bloom filter false-positive rate per table (0 disables filters). Default 0.01; range 0 to 0.5. */
  bloomFalsePositiveRate?: number;
  /** Largest key accepted, in bytes. Default 65536; range 1 to 1 MiB. */
  keyBytesMax?: number;
  /** Largest value accepted, in bytes. Default 16 MiB, and at most a quarter of memtableSize. */
  valueBytesMax?: number;
  /** Rewrite the manifest once it grows past this many bytes. Default 4 MiB. */
  manifestRewriteBytes?: number;
  /** L0 tables that trigger a compaction into the base level. Default 5; range 2 to 100. */
  l0CompactTables?: number;
  /** L0 tables at which writes stall until compaction catches up. Default 15; at least l0CompactTables. */
  l0StallTables?: number;
  /** Target size of the base level (where L0 compacts into). Default 10 MiB. */
  baseLevelBytes?: number;
  /** Size ratio between adjacent levels. Default 10; range 2 to 100. */
  levelMultiplier?: number;
  /** Table size at the base level; doubles per level below. Default 2 MiB. */
  baseTableBytes?: number;
  /** Versions kept per key below the oldest snapshot. Default 1. */
  versionsToKeep?: number;
  /** Turn off automatic compaction (compactRange/flatten still work). Default false. */
  disableAutoCompaction?: boolean;
  /**
   * Managed versions: keep every version until `db.setDiscardVersion(v)` allows compaction to
   * collect history at or below v (for callers with their own clock, e.g. a block height).
   * Remembered by the store once set. Default false.
   */
  managedVersions?: boolean;
  /** Worker threads for compaction on Node (0 = run inline on the engine's thread); one more runs flushes. Default 2. */
  compactionWorkers?: number;
}

export interface Config {
  readonly path: string;
  readonly createIfMissing: boolean;
  readonly errorIfExists: boolean;
  readonly readOnly: boolean;
  readonly sync: boolean;
  readonly memtableSize: number;
  readonly maxImmutableMemtables: number;
  readonly blockSize: number;
  readonly blockRestartInterval: number;
  readonly blockCacheSize: number;
  readonly compression: Compression;
  readonly bloomFalsePositiveRate: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  readonly manifestRewriteBytes: number;
  readonly l0CompactTables: number;
  readonly l0StallTables: number;
  readonly baseLevelBytes: number;
  readonly levelMultiplier: number;
  readonly baseTableBytes: number;
  readonly versionsToKeep: number;
  readonly disableAutoCompaction: boolean;
  readonly managedVersions: boolean;
  readonly compactionWorkers: number;
}

export const DEFAULTS = {
  createIfMissing: true,
  errorIfExists: false,
  readOnly: false,
  sync: false,
  memtableSize: 64 * 1024 * 1024,
  maxImmutableMemtables: 4,
  blockSize: 4096,
  blockRestartInterval: 16,
  blockCacheSize: 64 * 1024 * 1024,
  compression: 'snappy' as CompressionName,
  bloomFalsePositiveRate: 0.01,
  keyBytesMax: 65536,
  valueBytesMax: 16 * 1024 * 1024,
  manifestRewriteBytes: 4 * 1024 * 1024,
  l0CompactTables: 5,
  l0StallTables: 15,
  baseLevelBytes: 10 * 1024 * 1024,
  levelMultiplier: 10,
  baseTableBytes: 2 * 1024 * 1024,
  versionsToKeep: 1,
  disableAutoCompaction: false,
  managedVersions: false,
  compactionWorkers: 2,
} as const;

const KNOWN = new Set([
  'path',
  'fs',
  ...Object.keys(DEFAULTS),
]);

function bool(o: Record<string, unknown>, name: keyof typeof DEFAULTS & string, def: boolean): boolean {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new ErrInvalidConfig(`option ${name} must be a boolean, got ${typeof v}`);
  return v;
}

function int(o: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ErrInvalidConfig(`option ${name} must be an integer, got ${String(v)}`);
  if (v < min || v > max) throw new ErrInvalidConfig(`option ${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** Validates user options; throws ErrInvalidConfig naming the first bad option. */
export function normalizeOptions(options: unknown): { config: Config; fs: FileSystem | undefined } {
  if (options === null || typeof options !== 'object') throw new ErrInvalidConfig('open() needs an options object with at least { path }');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new ErrInvalidConfig(`unknown option ${k}`);
  }
  if (typeof o.path !== 'string' || o.path.length === 0) throw new ErrInvalidConfig('option path must be a non-empty string (the database directory)');
  const fs = o.fs as FileSystem | undefined;
  if (fs !== undefined && (typeof fs !== 'object' || fs === null || typeof (fs as FileSystem).open !== 'function')) {
    throw new ErrInvalidConfig('option fs must be a FileSystem');
  }
  const memtableSize = int(o, 'memtableSize', DEFAULTS.memtableSize, 4096, 1024 * 1024 * 1024);
  const compression = o.compression ?? DEFAULTS.compression;
  if (compression !== 'snappy' && compression !== 'none') throw new ErrInvalidConfig(`option compression must be 'snappy' or 'none', got ${String(compression)}`);
  const bloom = o.bloomFalsePositiveRate ?? DEFAULTS.bloomFalsePositiveRate;
  if (typeof bloom !== 'number' || !(bloom >= 0 && bloom <= 0.5)) throw new ErrInvalidConfig(`option bloomFalsePositiveRate must be a number from 0 to 0.5, got ${String(bloom)}`);
  const valueCap = Math.floor(memtableSize / 4);
  const valueBytesMax = int(o, 'valueBytesMax', Math.min(DEFAULTS.valueBytesMax, valueCap), 1, 256 * 1024 * 1024);
  if (valueBytesMax > valueCap) {
    throw new ErrInvalidConfig(`option valueBytesMax (${valueBytesMax}) must be at most a quarter of memtableSize (${valueCap}); raise memtableSize`);
  }
  const l0CompactTables = int(o, 'l0CompactTables', DEFAULTS.l0CompactTables, 2, 100);
  const l0StallTables = int(o, 'l0StallTables', Math.max(DEFAULTS.l0StallTables, l0CompactTables), 2, 1000);
  if (l0StallTables < l0CompactTables) throw new ErrInvalidConfig(`option l0StallTables (${l0StallTables}) must be at least l0CompactTables (${l0CompactTables})`);
  const config: Config = {
    path: o.path,
    createIfMissing: bool(o, 'createIfMissing', DEFAULTS.createIfMissing),
    errorIfExists: bool(o, 'errorIfExists', DEFAULTS.errorIfExists),
    readOnly: bool(o, 'readOnly', DEFAULTS.readOnly),
    sync: bool(o, 'sync', DEFAULTS.sync),
    memtableSize,
    maxImmutableMemtables: int(o, 'maxImmutableMemtables', DEFAULTS.maxImmutableMemtables, 1, 64),
    blockSize: int(o, 'blockSize', DEFAULTS.blockSize, 64, 1024 * 1024),
    blockRestartInterval: int(o, 'blockRestartInterval', DEFAULTS.blockRestartInterval, 1, 1024),
    blockCacheSize: int(o, 'blockCacheSize', DEFAULTS.blockCacheSize, 0, Number.MAX_SAFE_INTEGER),
    compression: compressionFromName(compression),
    bloomFalsePositiveRate: bloom,
    keyBytesMax: int(o, 'keyBytesMax', DEFAULTS.keyBytesMax, 1, 1024 * 1024),
    valueBytesMax,
    manifestRewriteBytes: int(o, 'manifestRewriteBytes', DEFAULTS.manifestRewriteBytes, 1024, 1024 * 1024 * 1024),
    l0CompactTables,
    l0StallTables,
    baseLevelBytes: int(o, 'baseLevelBytes', DEFAULTS.baseLevelBytes, 1024, Number.MAX_SAFE_INTEGER),
    levelMultiplier: int(o, 'levelMultiplier', DEFAULTS.levelMultiplier, 2, 100),
    baseTableBytes: int(o, 'baseTableBytes', DEFAULTS.baseTableBytes, 1024, 1024 * 1024 * 1024),
    versionsToKeep: int(o, 'versionsToKeep', DEFAULTS.versionsToKeep, 1, 1_000_000),
    disableAutoCompaction: bool(o, 'disableAutoCompaction', DEFAULTS.disableAutoCompaction),
    managedVersions: bool(o, 'managedVersions', DEFAULTS.managedVersions),
    compactionWorkers: int(o, 'compactionWorkers', DEFAULTS.compactionWorkers, 0, 16),
  };
  return { config: Object.freeze(config), fs };
}
