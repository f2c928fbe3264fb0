/**
 * Runs one compaction: merges the input tables, drops the history nobody can read, and writes
 * the survivors into new tables of the output level, split near the target size but only
 * between user keys. The same function runs inline (browser, memory file system) and inside a
 * worker thread (Node); it touches nothing but the file system and the tables named in the job.
 *
 * Garbage collection, per user key (versions arrive newest first):
 *  - every version newer than `discardVersion` (the oldest version an open snapshot or reader
 *    may read at) is kept;
 *  - of the versions at or below it, the newest `versionsToKeep` are kept (default 1), and
 *    nothing below a tombstone or expired entry (no reader at or above the discard version
 *    can see past it);
 *  - that newest tombstone (or expired entry) itself is dropped only if no deeper level holds
 *    the key: otherwise it still hides an older value below (the case Badger got wrong).
 */
import { compareRange, keepPrefix } from '../codec/bytes.js';
import type { InternalIterator } from '../codec/iterator.js';
import { makeInternalKey, readTrailer, TRAILER_BYTES, VERSION_MAX } from '../codec/keys.js';
import type { FileSystem } from '../fs/types.js';
import type { TableInfo } from '../manifest/edit.js';
import { tablePath } from '../manifest/filenames.js';
import { BlockCache, TableBuilder, type TableOptions, TableReader } from '../sstable/index.js';
import { isDeadValue } from '../engine/db-iterator.js';
import { MergingIterator } from '../engine/merging-iterator.js';
import { Slicer } from '../engine/yield.js';
import { ConcatIterator } from './concat-iterator.js';

export interface CompactionJob {
  dir: string;
  /**
   * Input tables as sorted runs: each run lists tables in key order with disjoint ranges (an
   * L0 table is a run of its own; the tables taken from a deeper level form one run). Runs may
   * come in any order: internal keys are unique across tables.
   */
  runs: number[][];
  /**
   * A subcompaction's share of the key space: user keys in [start, end) (either side open when
   * absent). Shards of one compaction split between user keys and run in parallel.
   */
  start?: Uint8Array;
  end?: Uint8Array;
  /** File numbers the outputs may use, in order. */
  outputNumbers: number[];
  outputLevel: number;
  targetTableBytes: number;
  discardVersion: number;
  versionsToKeep: number;
  nowSeconds: number;
  /** Per deeper level: sorted, disjoint [smallest, largest] user-key ranges of its tables. */
  deeperRanges: [Uint8Array, Uint8Array][][];
  /**
   * Smallest user keys of the tables of the level below the output level, sorted (absent or
   * empty for the last level). An output at least half its target size ends where one of those
   * tables begins, so that its own compaction later takes whole tables below it, not a part of
   * a table at each end (less rewriting, as Pebble and RocksDB cut at "grandparent" bounds).
   */
  grandparentStarts?: Uint8Array[];
  tableOptions: TableOptions;
}

export interface CompactionResult {
  outputs: TableInfo[];
  bytesRead: number;
  bytesWritten: number;
  entriesIn: number;
  entriesOut: number;
}

function inRanges(ranges: [Uint8Array, Uint8Array][], key: Uint8Array, ks: number, ke: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid]!;
    if (compareRange(r[1], 0, r[1].length, key, ks, ke) < 0) lo = mid + 1;
    else hi = mid;
  }
  const r = ranges[lo];
  return r !== undefined && compareRange(r[0], 0, r[0].length, key, ks, ke) <= 0;
}

/** Whether any deeper level may hold user key key[0, ulen). */
function deeperHolds(job: CompactionJob, key: Uint8Array, ulen: number): boolean {
  for (const ranges of job.deeperRanges) if (inRanges(ranges, key, 0, ulen)) return true;
  return false;
}

export async function runCompaction(fs: FileSystem, job: CompactionJob, cache: BlockCache = new BlockCache(0)): Promise<CompactionResult> {
  const readers: TableReader[] = [];
  const outputs: TableInfo[] = [];
  const written: string[] = [];
  let bytesRead = 0;
  let ok = false;
  let builder: TableBuilder | undefined;
  let file: Awaited<ReturnType<FileSystem['open']>> | undefined;
  let fileNumber = 0;
  // The current user key, copied into a reused buffer (no allocation per key).
  let lastUser: Uint8Array = new Uint8Array(64);
  let lastUserLen = 0;
  let haveLast = false;
  let next = 0;
  const gps = job.grandparentStarts ?? [];
  /** Grandparent tables that begin at or before the current user key. */
  let gp = 0;

  const finishOutput = (): void => {
    if (builder === undefined || file === undefined) return;
    const meta = builder.finish();
    file.sync();
    file.close();
    outputs.push({ fileNumber, fileSize: meta.fileSize, smallest: meta.smallest, largest: meta.largest, entries: meta.entries, minVersion: meta.minVersion, maxVersion: meta.maxVersion });
    builder = undefined;
    file = undefined;
  };

  try {
    const children: InternalIterator[] = [];
    for (const run of job.runs) {
      const tables: TableReader[] = [];
      for (const n of run) {
        const f = await fs.open(tablePath(job.dir, n), { readOnly: true });
        const r = TableReader.open(f, n, cache);
        readers.push(r);
        tables.push(r);
        bytesRead += r.meta.fileSize;
      }
      children.push(tables.length === 1 ? tables[0]!.scan() : new ConcatIterator(tables));
    }
    const it = new MergingIterator(children);
    const slicer = new Slicer(fs.simulated === true);
    const end = job.end;
    let entriesIn = 0;
    let entriesOut = 0;
    let belowDiscard = 0;
    let sawDead = false;
    // (k, VERSION_MAX) sorts before every stored version of k.
    if (job.start === undefined) it.seekToFirst();
    else it.seek(makeInternalKey(job.start, VERSION_MAX));
    for (; it.valid(); it.next()) {
      const ik = it.key();
      const ulen = ik.length - TRAILER_BYTES;
      if (end !== undefined && compareRange(ik, 0, ulen, end, 0, end.length) >= 0) break;
      entriesIn++;
      if (slicer.due()) await slicer.yield();
      const sameUser = haveLast && compareRange(ik, 0, ulen, lastUser, 0, lastUserLen) === 0;
      if (!sameUser) {
        // Track the user key even when its entries are dropped: an older version below a
        // dropped tombstone must still be recognised as the same key (and dropped too).
        lastUser = keepPrefix(lastUser, ik, ulen);
        lastUserLen = ulen;
        haveLast = true;
        belowDiscard = 0;
        sawDead = false;
      }
      const version = readTrailer(ik, ulen);
      const v = it.value();
      if (version <= job.discardVersion) {
        if (sawDead || belowDiscard >= job.versionsToKeep) continue;
        belowDiscard++;
        if (isDeadValue(v, job.nowSeconds)) {
          sawDead = true;
          if (!deeperHolds(job, ik, ulen)) continue;
        }
      }
      // Start a new output between user keys once the current one is full, or half full where
      // a table of the level below begins.
      if (!sameUser) {
        let crossed = false;
        while (gp < gps.length && compareRange(gps[gp]!, 0, gps[gp]!.length, ik, 0, ulen) <= 0) {
          gp++;
          crossed = true;
        }
        if (builder !== undefined) {
          const size = builder.estimatedSize();
          if (size >= job.targetTableBytes || (crossed && size >= job.targetTableBytes / 2)) finishOutput();
        }
      }
      if (builder === undefined) {
        if (next >= job.outputNumbers.length) throw new Error('compaction ran out of output file numbers');
        fileNumber = job.outputNumbers[next++]!;
        const path = tablePath(job.dir, fileNumber);
        file = await fs.open(path, { create: true, truncate: true });
        written.push(path);
        builder = new TableBuilder(file, fileNumber, job.tableOptions);
      }
      builder.add(ik, v);
      entriesOut++;
    }
    it.close();
    finishOutput();
    ok = true;
    return { outputs, bytesRead, bytesWritten: outputs.reduce((s, t) => s + t.fileSize, 0), entriesIn, entriesOut };
  } finally {
    for (const r of readers) r.close();
    if (!ok) {
      try {
        file?.close();
      } catch {
        // already failing; the original error matters
      }
      for (const p of written) await fs.remove(p).catch(() => undefined);
    }
  }
}
