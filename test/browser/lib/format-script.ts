/**
 * A scripted workload whose files are compared across platforms: Node (MemoryFileSystem) and
 * Chromium (OPFS) run it with the same options and must produce the same bytes in every file
 * (WAL, tables, manifest, CURRENT), and each side must read the other's files back.
 *
 * The script: 400 keys in batches of 20, a flush, a delete of every seventh key, a flush, a
 * compaction of everything (flatten), 40 overwrites left in the WAL (not flushed), close. Every
 * flush and compaction is asked for explicitly (the memtable is large enough never to fill, and
 * automatic compaction is off), so the files and their numbers do not depend on timing. Tiny
 * blocks (64 B) and a restart point every 2 keys, snappy compression on.
 */
import type { DB } from '../../../src/api/db.js';
import type { Options } from '../../../src/api/options.js';
import type { FileSystem } from '../../../src/fs/types.js';

export const FORMAT_OPTIONS = {
  memtableSize: 256 * 1024,
  disableAutoCompaction: true,
  blockSize: 64,
  blockRestartInterval: 2,
  valueBytesMax: 512,
  compression: 'snappy',
  manifestRewriteBytes: 1 << 20,
} as const satisfies Partial<Options>;

const te = new TextEncoder();

export function formatKey(i: number): Uint8Array {
  return te.encode(`key:${String(i).padStart(5, '0')}`);
}

export function formatValue(i: number, round: number): Uint8Array {
  return te.encode(`value ${i} round ${round} ${'abc'.repeat(i % 9)}`);
}

/** The expected final contents, as [key, value] strings in key order. */
export function formatExpected(): [string, string][] {
  const m = new Map<number, string>();
  for (let i = 0; i < 400; i++) m.set(i, `value ${i} round 0 ${'abc'.repeat(i % 9)}`);
  for (let i = 0; i < 400; i += 7) m.delete(i);
  for (let i = 3; i < 400; i += 10) m.set(i, `value ${i} round 1 ${'abc'.repeat(i % 9)}`);
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([i, v]) => [`key:${String(i).padStart(5, '0')}`, v]);
}

export async function runFormatScript(open: (o: Options) => Promise<DB>, fs: FileSystem, path: string): Promise<void> {
  const db = await open({ path, fs, ...FORMAT_OPTIONS });
  for (let b = 0; b < 20; b++) {
    const batch = db.batch();
    for (let i = b * 20; i < b * 20 + 20; i++) batch.put(formatKey(i), formatValue(i, 0));
    await batch.write();
  }
  await db.flush();
  for (let i = 0; i < 400; i += 7) await db.delete(formatKey(i));
  await db.flush();
  await db.flatten();
  for (let i = 3; i < 400; i += 10) await db.put(formatKey(i), formatValue(i, 1));
  await db.close();
}

/** Every entry of a database, as strings. */
export async function readAllStrings(db: DB): Promise<[string, string][]> {
  const td = new TextDecoder();
  return (await db.iterator().all()).map(([k, v]) => [td.decode(k), td.decode(v)]);
}
