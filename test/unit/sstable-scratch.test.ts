/**
 * The per-thread scratch pool (src/sstable/scratch.ts) and the users that hand memory back to
 * it: table builders (write buffer, bloom hashes and filter) and compaction scans (readahead
 * windows, decode buffers). Reuse must never change bytes already written or handed out.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { makeInternalKey } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import { ConcatIterator } from '../../src/compaction/concat-iterator.js';
import { BloomBuilder, BloomFilter } from '../../src/sstable/bloom.js';
import { type CompactionJob, runCompaction } from '../../src/compaction/merge.js';
import { spawnWorker } from '../../src/compaction/worker-pool.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { tablePath } from '../../src/manifest/filenames.js';
import { BlockCache, TableBuilder, TableReader } from '../../src/sstable/index.js';
import { dropScratch, giveScratch, scratchPooled, takeScratch } from '../../src/sstable/scratch.js';
import { MemFile } from './sstable-helpers.js';

/** Empties the pool (tests share one thread's pool). */
const drain = dropScratch;

function key(i: number): Uint8Array {
  return utf8(`key-${String(i).padStart(7, '0')}`);
}

function value(i: number, len = 40): Uint8Array {
  const v = new Uint8Array(len);
  for (let j = 0; j < len; j++) v[j] = (i * 31 + j * 7) & 0xff;
  return encodeValue(EntryKind.Put, v);
}

function build(first: number, count: number, compression: Compression = Compression.Snappy, path = 'mem/000001.sst'): MemFile {
  const f = new MemFile(path);
  const b = new TableBuilder(f, 1, { blockSize: 512, restartInterval: 4, bloomFalsePositiveRate: 0.01, compression });
  for (let i = first; i < first + count; i++) b.add(makeInternalKey(key(i), 1), value(i));
  b.finish();
  return f;
}

function bytesOf(f: MemFile): Uint8Array {
  const out = new Uint8Array(f.size());
  f.readAt(out, 0);
  return out;
}

describe('scratch pool', () => {
  it('hands back the smallest pooled buffer that is large enough, else a new one', () => {
    drain();
    const a = new Uint8Array(100);
    const b = new Uint8Array(1000);
    giveScratch(b);
    giveScratch(a);
    expect(takeScratch(50)).toBe(a);
    expect(takeScratch(50)).toBe(b);
    const fresh = takeScratch(50);
    expect(fresh).not.toBe(a);
    expect(fresh).not.toBe(b);
    expect(fresh.length).toBe(50);
    expect(scratchPooled()).toEqual({ buffers: 0, bytes: 0 });
  });

  it('never pools the same memory twice, nor views, nor empty buffers', () => {
    drain();
    const a = new Uint8Array(64);
    giveScratch(a);
    giveScratch(a);
    giveScratch(a.subarray(8));
    giveScratch(new Uint8Array(new ArrayBuffer(128), 0, 64));
    giveScratch(new Uint8Array(0));
    expect(scratchPooled()).toEqual({ buffers: 1, bytes: 64 });
    expect(takeScratch(1)).toBe(a);
    expect(takeScratch(1)).not.toBe(a);
  });

  it('does not hand a small request a buffer more than four times its size (above 64 KiB)', () => {
    drain();
    const huge = new Uint8Array(1024 * 1024);
    giveScratch(huge);
    expect(takeScratch(8192)).not.toBe(huge);
    expect(takeScratch(300 * 1024)).toBe(huge);
    const mid = new Uint8Array(60 * 1024);
    giveScratch(mid);
    expect(takeScratch(100)).toBe(mid);
    drain();
  });

  it('keeps at most 16 buffers and 16 MiB, dropping the smallest first', () => {
    drain();
    for (let i = 1; i <= 20; i++) giveScratch(new Uint8Array(i * 1024));
    expect(scratchPooled().buffers).toBe(16);
    // The four smallest (1..4 KiB) went.
    expect(takeScratch(1).length).toBe(5 * 1024);
    drain();
    const big = () => new Uint8Array(6 * 1024 * 1024);
    giveScratch(big());
    giveScratch(big());
    giveScratch(big());
    expect(scratchPooled()).toEqual({ buffers: 2, bytes: 12 * 1024 * 1024 });
    giveScratch(new Uint8Array(17 * 1024 * 1024));
    expect(scratchPooled().buffers).toBe(2);
    drain();
  });
});

describe('memory reuse by table builders and scans', () => {
  it('tables built one after another on reused buffers are byte for byte those built on fresh ones', () => {
    drain();
    const fresh: Uint8Array[] = [];
    for (const [first, count] of [[0, 3000], [5000, 200], [9000, 1200]] as const) {
      drain();
      fresh.push(bytesOf(build(first, count)));
    }
    drain();
    const reused = [bytesOf(build(0, 3000)), bytesOf(build(5000, 200)), bytesOf(build(9000, 1200))];
    // The builders handed their buffers back (write buffer, bloom hashes, bloom filter).
    expect(scratchPooled().buffers).toBeGreaterThanOrEqual(3);
    expect(reused).toEqual(fresh);
  });

  it('a reused bloom filter buffer starts clear: a small filter after a large one has no stale bits', () => {
    drain();
    const large = new BloomBuilder(0.01);
    for (let i = 0; i < 20000; i++) large.add(key(i), 0, key(i).length);
    large.finish().fill(0xff); // as if stale bits were left behind
    large.release();
    const small = new BloomBuilder(0.01);
    for (let i = 0; i < 10; i++) small.add(key(i), 0, key(i).length);
    const filter = BloomFilter.parse(small.finish().slice());
    if (typeof filter === 'string') throw new Error(filter);
    let falsePositives = 0;
    for (let i = 100_000; i < 110_000; i++) if (filter.mayContain(key(i))) falsePositives++;
    expect(falsePositives).toBeLessThan(500);
    for (let i = 0; i < 10; i++) expect(filter.mayContain(key(i))).toBe(true);
    small.release();
  });

  it('a scan across many tables returns its buffers at each table and reads every entry right', () => {
    drain();
    const readers: TableReader[] = [];
    for (let t = 0; t < 12; t++) readers.push(TableReader.open(build(t * 500, 500, t % 2 === 0 ? Compression.Snappy : Compression.None, `mem/${t}.sst`), t + 1, new BlockCache(0)));
    const it = new ConcatIterator(readers);
    let n = 0;
    let peak = 0;
    for (it.seekToFirst(); it.valid(); it.next()) {
      expect(it.key()).toEqual(makeInternalKey(key(n), 1));
      expect(it.value()).toEqual(value(n));
      n++;
      peak = Math.max(peak, scratchPooled().buffers);
    }
    it.close();
    expect(n).toBe(6000);
    // Closed scans gave their window and decode buffers back for the next ones.
    expect(peak).toBeGreaterThan(0);
    expect(scratchPooled().buffers).toBeGreaterThanOrEqual(4);
    for (const r of readers) r.close();
  });
});

/** A table in /db of `keys` at `version`, values derived from key and version. */
async function fileTable(fs: MemoryFileSystem, n: number, keys: number[], version: number, compression: Compression): Promise<void> {
  const f = await fs.open(tablePath('/db', n), { create: true });
  const b = new TableBuilder(f, n, { blockSize: 1024, restartInterval: 4, bloomFalsePositiveRate: 0.01, compression });
  for (const k of keys) b.add(makeInternalKey(key(k), version), value(k * 7 + version, 20 + ((k * 13) % 300)));
  b.finish();
  f.sync();
  f.close();
}

function mergeJob(runs: number[][], firstOutput: number): CompactionJob {
  return {
    dir: '/db',
    runs,
    outputNumbers: Array.from({ length: 40 }, (_, i) => firstOutput + i),
    outputLevel: 1,
    targetTableBytes: 64 * 1024,
    discardVersion: 0,
    versionsToKeep: 1,
    nowSeconds: 1,
    deeperRanges: [],
    tableOptions: { blockSize: 2048, restartInterval: 8, bloomFalsePositiveRate: 0.01, compression: Compression.Snappy },
  };
}

async function entriesOf(fs: MemoryFileSystem, numbers: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of numbers) {
    const r = TableReader.open(await fs.open(tablePath('/db', n), { readOnly: true }), n, new BlockCache(0));
    const it = r.iterator();
    for (it.seekToFirst(); it.valid(); it.next()) out.push(`${Buffer.from(it.key()).toString('hex')}=${Buffer.from(it.value()).toString('hex')}`);
    r.close();
  }
  return out;
}

describe('scratch memory shared by jobs on one thread', () => {
  it('compactions interleaved on one thread, one failing midway, write exactly what each writes alone', async () => {
    // On the memory file system merges run inline and yield every few thousand entries, so the
    // three share the thread's pool while they interleave (the test setup poisons the pool).
    const mem = new MemoryFileSystem();
    await mem.mkdir('/db');
    let n = 1;
    const jobs: number[][][] = [];
    for (const [base, top, below] of [[0, 3, 2], [100_000, 5, 4], [200_000, 6, 1]] as const) {
      const l0 = n++;
      await fileTable(mem, l0, Array.from({ length: 4000 }, (_, j) => base + j * 3), top, Compression.Snappy);
      const run: number[] = [];
      for (let t = 0; t < 5; t++) {
        const num = n++;
        await fileTable(mem, num, Array.from({ length: 1500 }, (_, j) => base + t * 3000 + j * 2), below, t % 2 === 1 ? Compression.None : Compression.Snappy);
        run.push(num);
      }
      jobs.push([[l0], run]);
    }
    const alone = [];
    for (const [i, j] of jobs.slice(0, 2).entries()) {
      const r = await runCompaction(mem, mergeJob(j, 1000 * (i + 1)));
      alone.push(await entriesOf(mem, r.outputs.map((o) => o.fileNumber)));
    }
    const fs = new FaultFileSystem(mem);
    fs.addRule({ fault: 'EIO', kind: 'read', path: tablePath('/db', jobs[2]![1]![2]!), nth: 5 });
    const results = await Promise.allSettled([runCompaction(fs, mergeJob(jobs[0]!, 5000)), runCompaction(fs, mergeJob(jobs[2]!, 7000)), runCompaction(fs, mergeJob(jobs[1]!, 6000))]);
    expect(results[1]!.status).toBe('rejected');
    for (const [at, j] of [[0, 0], [2, 1]] as const) {
      const r = results[at]!;
      if (r.status !== 'fulfilled') throw r.reason;
      expect(await entriesOf(mem, r.value.outputs.map((o) => o.fileNumber))).toEqual(alone[j]);
    }
  }, 60_000);

  it('a value of a sorted run stays intact one step past its table, as within a table', async () => {
    const mem = new MemoryFileSystem();
    await mem.mkdir('/db');
    await fileTable(mem, 1, [1, 2, 3], 1, Compression.None);
    await fileTable(mem, 2, [4, 5, 6], 1, Compression.Snappy);
    await fileTable(mem, 3, [7, 8, 9], 1, Compression.None);
    const readers: TableReader[] = [];
    for (const x of [1, 2, 3]) readers.push(TableReader.open(await mem.open(tablePath('/db', x), { readOnly: true }), x, new BlockCache(0)));
    const it = new ConcatIterator(readers);
    it.seekToFirst();
    let held = it.value();
    let copy = held.slice();
    for (let step = 1; step < 9; step++) {
      it.next();
      // The value seen one step back, across a table boundary or not, has not changed.
      expect(held).toEqual(copy);
      held = it.value();
      copy = held.slice();
    }
    it.close();
    for (const r of readers) r.close();
  });
});

describe('worker threads', () => {
  it('run with the capped young generation', async () => {
    const w = spawnWorker(0);
    await new Promise((resolve) => w.once('online', resolve));
    expect(w.resourceLimits?.maxYoungGenerationSizeMb).toBe(8);
    await w.terminate();
  });
});
