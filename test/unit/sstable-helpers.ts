/**
 * Test helpers for the sstable tests: a FileHandle over a growable Uint8Array (there is no
 * memory file system yet), key makers and a one-call table builder.
 */
import { utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { compareInternal, makeInternalKey } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import type { FileHandle } from '../../src/fs/types.js';
import { BlockCache } from '../../src/sstable/cache.js';
import { TableBuilder, type TableMeta, type TableOptions } from '../../src/sstable/builder.js';
import { TableReader } from '../../src/sstable/reader.js';

export class MemFile implements FileHandle {
  private buf = new Uint8Array(1024);
  private len = 0;
  closed = false;
  reads = 0;
  writes = 0;

  constructor(readonly path = 'mem/000001.sst') {}

  static from(bytes: Uint8Array, path?: string): MemFile {
    const f = new MemFile(path);
    f.writeAt(bytes, 0);
    return f;
  }

  readAt(buf: Uint8Array, position: number): number {
    if (this.closed) throw new Error('read on closed MemFile');
    this.reads++;
    const n = Math.max(0, Math.min(buf.length, this.len - position));
    buf.set(this.buf.subarray(position, position + n));
    return n;
  }

  writeAt(data: Uint8Array, position: number): void {
    if (this.closed) throw new Error('write on closed MemFile');
    this.writes++;
    const end = position + data.length;
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(data, position);
    if (end > this.len) this.len = end;
  }

  sync(): void {}

  truncate(size: number): void {
    if (size > this.buf.length) {
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    } else {
      this.buf.fill(0, size);
    }
    this.len = size;
  }

  size(): number {
    return this.len;
  }

  close(): void {
    this.closed = true;
  }

  /** A copy of the file's bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export const TEST_OPTIONS: TableOptions = {
  blockSize: 4096,
  restartInterval: 16,
  bloomFalsePositiveRate: 0.01,
  compression: Compression.None,
};

export function opts(o: Partial<TableOptions>): TableOptions {
  return { ...TEST_OPTIONS, ...o };
}

export type Entry = [key: Uint8Array, value: Uint8Array];

export function ik(user: string | Uint8Array, version: number): Uint8Array {
  return makeInternalKey(typeof user === 'string' ? utf8(user) : user, version);
}

export function put(v: string | Uint8Array): Uint8Array {
  return encodeValue(EntryKind.Put, typeof v === 'string' ? utf8(v) : v);
}

export function del(): Uint8Array {
  return encodeValue(EntryKind.Delete, undefined);
}

export function sortEntries(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => compareInternal(a[0], b[0]));
}

export function build(entries: readonly Entry[], options: TableOptions = TEST_OPTIONS, path?: string): { file: MemFile; meta: TableMeta } {
  const file = new MemFile(path);
  const b = new TableBuilder(file, 1, options);
  for (const [k, v] of entries) b.add(k, v);
  const meta = b.finish();
  return { file, meta };
}

export function open(file: MemFile, cache = new BlockCache(1 << 20), fileNumber = 1): TableReader {
  return TableReader.open(file, fileNumber, cache);
}

/** Deterministic PRNG (mulberry32) so failures reproduce from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(r: () => number, len: number, alphabet = 256): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(r() * alphabet);
  return b;
}

/** Random entries: `n` user keys, 1..maxVersions versions each, some tombstones; sorted. */
export function randomEntries(r: () => number, n: number, maxVersions = 1, valueMax = 40): Entry[] {
  const seen = new Set<string>();
  const out: Entry[] = [];
  while (seen.size < n) {
    const user = randomBytes(r, 1 + Math.floor(r() * 12), 4 + Math.floor(r() * 250));
    const hex = Buffer.from(user).toString('hex');
    if (seen.has(hex)) continue;
    seen.add(hex);
    const versions = 1 + Math.floor(r() * maxVersions);
    const used = new Set<number>();
    for (let v = 0; v < versions; v++) {
      const version = Math.floor(r() * 1000);
      if (used.has(version)) continue;
      used.add(version);
      out.push([ik(user, version), r() < 0.1 ? del() : put(randomBytes(r, Math.floor(r() * valueMax)))]);
    }
  }
  return sortEntries(out);
}
