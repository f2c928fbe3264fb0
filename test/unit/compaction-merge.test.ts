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
import { type CompactionJob, runCompaction } from '../../src/compaction/merge.js';
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

  it('removes its partial outputs when it fails', async () => {
    const mem = await setup();
    const fs = new FaultFileSystem(mem);
    fs.addRule({ fault: 'EIO', kind: 'sync', path: '000100.sst' });
    await expect(runCompaction(fs, job([1, 2]))).rejects.toThrow(/injected/);
    expect(mem.listAllSync()).toEqual(['/db/000001.sst', '/db/000002.sst']);
  });
});
