import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import type { DB } from '../../src/api/db.js';
import type { Options } from '../../src/api/options.js';
import { fromUtf8, utf8 } from '../../src/codec/bytes.js';

/** Options that make flushes and block boundaries happen constantly. */
export const TINY: Partial<Options> = {
  memtableSize: 4096,
  blockSize: 64,
  blockRestartInterval: 2,
  blockCacheSize: 2048,
  maxImmutableMemtables: 2,
  valueBytesMax: 512,
  manifestRewriteBytes: 2048,
  // Compaction in miniature: L0 compacts at 3 tables, the base level holds 8 KiB, each level
  // 4x the one above, outputs of 2 KiB — multi-level compactions every few hundred writes.
  l0CompactTables: 3,
  l0StallTables: 6,
  baseLevelBytes: 8192,
  levelMultiplier: 4,
  baseTableBytes: 2048,
  compactionWorkers: 0,
};

export async function openMem(fs = new MemoryFileSystem(), extra: Partial<Options> = {}): Promise<{ db: DB; fs: MemoryFileSystem }> {
  const db = await open({ path: '/db', fs, ...extra });
  return { db, fs };
}

export const s = fromUtf8;
export const b = utf8;

export function entriesToStrings(entries: [Uint8Array, Uint8Array][]): [string, string][] {
  return entries.map(([k, v]) => [fromUtf8(k), fromUtf8(v)]);
}
