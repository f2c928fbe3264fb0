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
import { BlockCache, TableBuilder, TableReader } from '../../src/sstable/index.js';
import { giveScratch, scratchPooled, takeScratch } from '../../src/sstable/scratch.js';
import { MemFile } from './sstable-helpers.js';

/** Empties the pool (tests share one thread's pool). */
function drain(): void {
  while (scratchPooled().buffers > 0) takeScratch(0);
}

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

  it('keeps at most 16 buffers and 16 MiB, dropping the smallest first', () => {
    drain();
    for (let i = 1; i <= 20; i++) giveScratch(new Uint8Array(i * 1024));
    expect(scratchPooled().buffers).toBe(16);
    // The four smallest (1..4 KiB) went.
    expect(takeScratch(0).length).toBe(5 * 1024);
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
