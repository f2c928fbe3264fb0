/**
 * The compaction merge on hand-built tables: version garbage collection and output splitting,
 * including the cases Badger got wrong (a tombstone dropped while a deeper level still holds
 * the key resurrects the old value).
 */
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { makeInternalKey, userKeyOf, versionOf } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import { ConcatIterator } from '../../src/compaction/concat-iterator.js';
import { type CompactionJob, runCompaction } from '../../src/compaction/merge.js';
import { splitKeys } from '../../src/compaction/split.js';
import type { TableHandle } from '../../src/engine/version.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { tablePath } from '../../src/manifest/filenames.js';
import { BlockCache, TableBuilder, TableReader } from '../../src/sstable/index.js';

type E = [key: string, version: number, value: string | null];
const opts = { blockSize: 128, restartInterval: 2, bloomFalsePositiveRate: 0.01, compression: Compression.None };

async function table(fs: MemoryFileSystem, n: number, entries: E[]): Promise<void> {
  const f = await fs.open(tablePath('/db', n), { create: true });
  const b = new TableBuilder(f, n, opts);
  for (const [k, v, val] of entries) b.add(makeInternalKey(utf8(k), v), encodeValue(val === null ? EntryKind.Delete : EntryKind.Put, val === null ? undefined : utf8(val)));
  b.finish();
  f.sync();
  f.close();
}

async function contents(fs: MemoryFileSystem, n: number): Promise<string[]> {
  const r = TableReader.open(await fs.open(tablePath('/db', n), { readOnly: true }), n, new BlockCache(0));
  const out: string[] = [];
  const it = r.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) out.push(`${fromUtf8(userKeyOf(it.key()))}@${versionOf(it.key())}${it.value()[0] === EntryKind.Delete ? ':del' : `:${fromUtf8(it.value().subarray(1))}`}`);
  r.close();
  return out;
}

function job(inputs: number[], over: Partial<CompactionJob> = {}): CompactionJob {
  return {
    dir: '/db',
    runs: inputs.map((n) => [n]),
    outputNumbers: [100, 101, 102, 103, 104, 105, 106, 107],
    outputLevel: 1,
    targetTableBytes: 1 << 20,
    discardVersion: 1000,
    versionsToKeep: 1,
    nowSeconds: 1,
    deeperRanges: [],
    tableOptions: opts,
    ...over,
  };
}

async function setup(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/db');
  await table(fs, 1, [['a', 5, 'a5'], ['a', 3, 'a3'], ['b', 9, null], ['b', 2, 'b2'], ['c', 4, 'c4']]);
  await table(fs, 2, [['a', 1, 'a1'], ['b', 1, 'b1'], ['d', 7, null]]);
  return fs;
}

describe('compaction merge', () => {
  it('keeps only the newest version below the discard version and drops dead keys at the bottom', async () => {
    const fs = await setup();
    const r = await runCompaction(fs, job([1, 2]));
    expect(r.outputs.map((o) => o.fileNumber)).toEqual([100]);
    expect(await contents(fs, 100)).toEqual(['a@5:a5', 'c@4:c4']);
    expect(r.entriesIn).toBe(8);
  });

  it('keeps a tombstone while a deeper level still holds its key (no resurrection)', async () => {
    const fs = await setup();
    const deeper: [Uint8Array, Uint8Array][][] = [[[utf8('b'), utf8('b')]]];
    await runCompaction(fs, job([1, 2], { deeperRanges: deeper }));
    // b's tombstone stays (it hides b in the deeper level); versions under it go.
    expect(await contents(fs, 100)).toEqual(['a@5:a5', 'b@9:del', 'c@4:c4']);
  });

  it('keeps every version newer than the oldest snapshot', async () => {
    const fs = await setup();
    await runCompaction(fs, job([1, 2], { discardVersion: 3 }));
    // Versions above 3 all stay; at or below 3 only the newest per key, and nothing under a tombstone.
    expect(await contents(fs, 100)).toEqual(['a@5:a5', 'a@3:a3', 'b@9:del', 'b@2:b2', 'c@4:c4', 'd@7:del']);
  });

  it('drops older versions under a tombstone that is itself below the discard version even when it must stay', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/db');
    await table(fs, 1, [['k', 8, null], ['k', 6, 'old6'], ['k', 2, 'old2']]);
    await runCompaction(fs, job([1], { deeperRanges: [[[utf8('k'), utf8('k')]]] }));
    expect(await contents(fs, 100)).toEqual(['k@8:del']);
  });

  it('splits outputs near the target size, never between versions of one key', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/db');
    const entries: E[] = [];
    for (let i = 0; i < 300; i++) for (let v = 3; v >= 1; v--) entries.push([`key${String(i).padStart(4, '0')}`, 10_000 + i * 3 + v, `value-${i}-${v}`]);
    await table(fs, 1, entries);
    const r = await runCompaction(fs, job([1], { targetTableBytes: 2048, discardVersion: 0, outputNumbers: Array.from({ length: 64 }, (_, i) => 100 + i) }));
    expect(r.outputs.length).toBeGreaterThan(3);
    const seen = new Set<string>();
    let total = 0;
    for (const o of r.outputs) {
      const keys = new Set((await contents(fs, o.fileNumber)).map((s) => s.split('@')[0]!));
      for (const k of keys) {
        expect(seen.has(k), `versions of ${k} split across tables`).toBe(false);
        seen.add(k);
      }
      total += o.entries;
    }
    expect(total).toBe(900);
  });

  it('ends an output at least half its target size where a table of the level below begins', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/db');
    const entries: E[] = [];
    for (let i = 0; i < 400; i++) entries.push([`key${String(i).padStart(4, '0')}`, 10_000 + i, `value-${i}-${'v'.repeat(20)}`]);
    await table(fs, 1, entries);
    const numbers = Array.from({ length: 64 }, (_, i) => 100 + i);
    const plain = await runCompaction(fs, job([1], { targetTableBytes: 8192, discardVersion: 0, outputNumbers: numbers }));
    const firstEnd = fromUtf8(userKeyOf(plain.outputs[0]!.largest));
    const firstCount = plain.outputs[0]!.entries;
    for (const o of plain.outputs) await fs.remove(tablePath('/db', o.fileNumber));
    // Tables below begin at 70 % and at 20 % of the first output's span: only the first lies
    // past half the target, so the output ends right before it.
    const at = (f: number): string => `key${String(Math.floor(firstCount * f)).padStart(4, '0')}`;
    const r = await runCompaction(fs, job([1], { targetTableBytes: 8192, discardVersion: 0, outputNumbers: numbers, grandparentStarts: [utf8(at(0.2)), utf8(at(0.7))] }));
    expect(fromUtf8(userKeyOf(r.outputs[0]!.largest)) < at(0.7)).toBe(true);
    expect(fromUtf8(userKeyOf(r.outputs[1]!.smallest))).toBe(at(0.7));
    expect(fromUtf8(userKeyOf(r.outputs[0]!.largest)) < firstEnd).toBe(true);
    expect(r.outputs.reduce((n, o) => n + o.entries, 0)).toBe(400);
    // Past the last start, outputs fill to the target again.
    expect(r.outputs.length).toBeLessThanOrEqual(plain.outputs.length + 1);
  });

  it('removes its partial outputs when it fails', async () => {
    const mem = await setup();
    const fs = new FaultFileSystem(mem);
    fs.addRule({ fault: 'EIO', kind: 'sync', path: '000100.sst' });
    await expect(runCompaction(fs, job([1, 2]))).rejects.toThrow(/injected/);
    expect(mem.listAllSync()).toEqual(['/db/000001.sst', '/db/000002.sst']);
  });
});

describe('subcompactions and sorted runs', () => {
  async function opened(fs: MemoryFileSystem, n: number): Promise<TableReader> {
    return TableReader.open(await fs.open(tablePath('/db', n), { readOnly: true }), n, new BlockCache(0));
  }

  it('shards [start, end) of one merge together equal the whole merge, versions of a key never split', async () => {
    const fs = await setup();
    const whole = await runCompaction(fs, job([1, 2], { outputNumbers: [100, 101] }));
    const wholeEntries = (await Promise.all(whole.outputs.map((o) => contents(fs, o.fileNumber)))).flat();
    const cuts = [utf8('b'), utf8('c')];
    const parts: string[] = [];
    let out = 200;
    for (let i = 0; i <= cuts.length; i++) {
      const j: CompactionJob = job([1, 2], { outputNumbers: [out, out + 1] });
      out += 10;
      if (i > 0) j.start = cuts[i - 1]!;
      if (i < cuts.length) j.end = cuts[i]!;
      const r = await runCompaction(fs, j);
      for (const o of r.outputs) parts.push(...(await contents(fs, o.fileNumber)));
    }
    expect(parts).toEqual(wholeEntries);
    // Every version of b (the cut key) is in the second shard: b's tombstone hides b2, so b is
    // gone entirely rather than resurrected from a shard that saw only the older version.
    expect(parts.some((e) => e.startsWith('b@'))).toBe(false);
  });

  it('a sorted run of several tables reads as one iterator, forward from any key', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/db');
    await table(fs, 1, [['a', 1, 'a'], ['b', 1, 'b']]);
    await table(fs, 2, [['d', 1, 'd']]);
    await table(fs, 3, [['f', 2, 'f2'], ['f', 1, 'f1'], ['g', 1, 'g']]);
    const run = new ConcatIterator(await Promise.all([1, 2, 3].map((n) => opened(fs, n))));
    const keys = (): string[] => {
      const out: string[] = [];
      for (; run.valid(); run.next()) out.push(`${fromUtf8(userKeyOf(run.key()))}@${versionOf(run.key())}`);
      return out;
    };
    run.seekToFirst();
    expect(keys()).toEqual(['a@1', 'b@1', 'd@1', 'f@2', 'f@1', 'g@1']);
    run.seek(makeInternalKey(utf8('c'), 9));
    expect(keys()).toEqual(['d@1', 'f@2', 'f@1', 'g@1']);
    run.seek(makeInternalKey(utf8('f'), 1));
    expect(keys()).toEqual(['f@1', 'g@1']);
    run.seek(makeInternalKey(utf8('h'), 9));
    expect(run.valid()).toBe(false);
    run.close();
  });

  it('split points cut the input bytes into near-equal shares, strictly increasing, none for small merges', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/db');
    const rows = (from: number, n: number, tag: string): E[] => Array.from({ length: n }, (_, i) => [`k${String(from + i * 3).padStart(5, '0')}`, 1, tag.repeat(40)]);
    await table(fs, 1, rows(0, 400, 'x'));
    await table(fs, 2, rows(1, 400, 'y'));
    const handles = await Promise.all([1, 2].map(async (n) => ({ reader: await opened(fs, n) }) as unknown as TableHandle));
    const bytes = handles.reduce((s, h) => s + h.reader.meta.fileSize, 0);
    expect(splitKeys(handles, 1, bytes, 1024)).toEqual([]);
    expect(splitKeys(handles, 4, bytes, bytes + 1)).toEqual([]);
    const cuts = splitKeys(handles, 4, bytes, 1024);
    expect(cuts.length).toBe(3);
    for (let i = 1; i < cuts.length; i++) expect(fromUtf8(cuts[i - 1]!) < fromUtf8(cuts[i]!)).toBe(true);
    // Each share of the key space holds roughly a quarter of the keys.
    const all = rows(0, 400, '').concat(rows(1, 400, '')).map(([k]) => k);
    const edges = ['', ...cuts.map((c) => fromUtf8(c)), '~'];
    for (let i = 1; i < edges.length; i++) {
      const share = all.filter((k) => k >= edges[i - 1]! && k < edges[i]!).length / all.length;
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.35);
    }
    for (const h of handles) h.reader.close();
  });
});
