/**
 * Golden files: a WAL, a table and a manifest written by this version are committed under
 * test/fixtures/v1/. The test (1) writes them again and compares byte for byte, so an
 * accidental format change fails loudly, and (2) reads the committed files with the current
 * readers, so old files stay readable. `UPDATE=1 npx vitest run test/unit/golden` rewrites
 * them — only do that with a format version bump and a docs/ update.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../src/codec/bytes.js';
import { Compression } from '../../src/codec/compression.js';
import { makeInternalKey, userKeyOf, versionOf } from '../../src/codec/keys.js';
import { EntryKind, encodeValue } from '../../src/codec/value.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { Manifest, loadManifest } from '../../src/manifest/manifest.js';
import { emptyState } from '../../src/manifest/state.js';
import { BlockCache, TableBuilder, TableReader } from '../../src/sstable/index.js';
import { BatchRep, visitBatchPayload } from '../../src/wal/batch.js';
import { LogKind } from '../../src/wal/format.js';
import { scanLog } from '../../src/wal/record.js';
import { LogWriter } from '../../src/wal/writer.js';

const DIR = new URL('../fixtures/v1/', import.meta.url);
const update = process.env.UPDATE === '1';

function check(name: string, bytes: Uint8Array): Uint8Array {
  const url = new URL(name, DIR);
  if (update || !existsSync(url)) {
    if (!update) throw new Error(`fixture ${name} is missing; run with UPDATE=1 to create it`);
    mkdirSync(DIR, { recursive: true });
    writeFileSync(url, bytes);
  }
  const golden = new Uint8Array(readFileSync(url));
  expect(Buffer.from(bytes).equals(Buffer.from(golden)), `${name} differs from its golden file`).toBe(true);
  return golden;
}

async function writeWal(): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  const f = await fs.open('/000007.wal', { create: true });
  const w = LogWriter.forWal(f, 7);
  const a = new BatchRep();
  a.add(EntryKind.Put, utf8('alpha'), utf8('one'));
  a.add(EntryKind.Put, utf8('beta'), utf8('two'));
  w.append(a.frame(1));
  const b = new BatchRep();
  b.add(EntryKind.Delete, utf8('alpha'), undefined);
  b.add(EntryKind.Put, utf8('gamma'), utf8('three'), 1_900_000_000, 7);
  w.append(b.frame(3));
  w.sync();
  return fs.readFileSync('/000007.wal');
}

const tableEntries: [string, number, Uint8Array][] = [];
for (let i = 0; i < 200; i++) {
  const k = `key${String(i).padStart(4, '0')}`;
  tableEntries.push([k, 1000 - i, encodeValue(i % 17 === 0 ? EntryKind.Delete : EntryKind.Put, i % 17 === 0 ? undefined : utf8(`value-${i}-${'x'.repeat(i % 40)}`))]);
}

/** Table `number` holding `entries`, written with the golden files' options. */
async function writeTableOf(number: number, entries: readonly [string, number, Uint8Array][]): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  const path = `/${String(number).padStart(6, '0')}.sst`;
  const f = await fs.open(path, { create: true });
  const builder = new TableBuilder(f, number, { blockSize: 512, restartInterval: 4, bloomFalsePositiveRate: 0.01, compression: Compression.Snappy });
  for (const [k, v, val] of entries) builder.add(makeInternalKey(utf8(k), v), val);
  builder.finish();
  f.sync();
  return fs.readFileSync(path);
}

const writeTable = (): Promise<Uint8Array> => writeTableOf(9, tableEntries);

/** A table with TTL entries: properties tags 10-12 (earliest and latest expiry, TTL entries). */
const ttlEntries: [string, number, Uint8Array][] = [];
for (let i = 0; i < 40; i++) {
  const k = `ttl${String(i).padStart(3, '0')}`;
  const value = i === 7 ? encodeValue(EntryKind.Delete, undefined) : encodeValue(EntryKind.Put, utf8(`v${i}`), i % 2 === 0 ? 1_800_000_000 + i : 0);
  ttlEntries.push([k, 100 - i, value]);
}

const writeTtlTable = (): Promise<Uint8Array> => writeTableOf(17, ttlEntries);

async function writeManifest(): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/db');
  const state = { ...emptyState(), nextFileNumber: 12, logNumber: 10, lastVersion: 4 };
  const m = await Manifest.create(fs, '/db', 11, state);
  m.apply({
    logNumber: 13,
    nextFileNumber: 15,
    lastVersion: 204,
    deleted: [],
    added: [{ level: 0, table: { fileNumber: 9, fileSize: 4321, smallest: makeInternalKey(utf8('key0000'), 1000), largest: makeInternalKey(utf8('key0199'), 801), entries: 200, minVersion: 801, maxVersion: 1000 } }],
  });
  m.close();
  return fs.readFileSync('/db/MANIFEST-000011');
}

/** A WAL holding a plain batch, then a transaction committed at a chosen version (SAME_VERSION). */
async function writeManagedWal(): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  const f = await fs.open('/000013.wal', { create: true });
  const w = LogWriter.forWal(f, 13);
  const a = new BatchRep();
  a.add(EntryKind.Put, utf8('height'), utf8('99'));
  w.append(a.frame(1));
  const b = new BatchRep(256, true);
  b.add(EntryKind.Put, utf8('acct/a'), utf8('10'));
  b.add(EntryKind.Delete, utf8('acct/b'), undefined);
  w.append(b.frame(100, 1));
  w.sync();
  return fs.readFileSync('/000013.wal');
}

/** A manifest whose second edit sets the discard version (managed versions). */
async function writeManagedManifest(): Promise<Uint8Array> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/db');
  const m = await Manifest.create(fs, '/db', 15, { ...emptyState(), nextFileNumber: 16, logNumber: 13, lastVersion: 100 });
  m.apply({ discardVersion: 90, deleted: [], added: [] });
  m.close();
  return fs.readFileSync('/db/MANIFEST-000015');
}

describe('golden fixtures (format version 1)', () => {
  it('WAL with a batch committed at a chosen version: same bytes, replays at that version', async () => {
    const golden = check('000013.wal', await writeManagedWal());
    const scan = scanLog(golden, '000013.wal', LogKind.Wal);
    const seen: string[] = [];
    const headers = scan.records.map((rec) => visitBatchPayload(rec, { entry: (k, v, val) => seen.push(`${fromUtf8(k)}@${v}:${val[0]}`) }, { file: 'wal', offset: 0 }));
    expect(seen).toEqual(['height@1:1', 'acct/a@100:1', 'acct/b@100:2']);
    expect(headers.map((h) => [h.base, h.last, h.follows, h.sameVersion])).toEqual([
      [1, 1, 0, false],
      [100, 100, 1, true],
    ]);
  });

  it('manifest with a discard version: same bytes, and it replays', async () => {
    const golden = check('MANIFEST-000015', await writeManagedManifest());
    const fs = new MemoryFileSystem();
    fs.writeFileSync('/db/MANIFEST-000015', golden);
    const loaded = await loadManifest(fs, '/db', 15);
    expect(loaded.state.discardVersion).toBe(90);
    expect(loaded.state.lastVersion).toBe(100);
  });

  it('WAL: same bytes, and the committed file replays', async () => {
    const golden = check('000007.wal', await writeWal());
    const scan = scanLog(golden, '000007.wal', LogKind.Wal);
    expect(scan.fileNumber).toBe(7);
    expect(scan.tornTail).toBe(false);
    const seen: string[] = [];
    for (const rec of scan.records) {
      visitBatchPayload(rec, { entry: (k, v, val) => seen.push(`${fromUtf8(k)}@${v}:${val[0]}`) }, { file: 'wal', offset: 0 });
    }
    expect(seen).toEqual(['alpha@1:1', 'beta@2:1', 'alpha@3:2', 'gamma@4:25']);
  });

  it('table: same bytes, and the committed file reads back', async () => {
    await readsBack(check('000009.sst', await writeTable()));
  });

  it('table with TTL entries: same bytes; its expiry properties (tags 10-12) and entries read back', async () => {
    const golden = check('000017.sst', await writeTtlTable());
    const fs = new MemoryFileSystem();
    fs.writeFileSync('/000017.sst', golden);
    const reader = TableReader.open(await fs.open('/000017.sst', { readOnly: true }), 17, new BlockCache(1 << 20));
    expect(reader.properties.minExpiresAt).toBe(1_800_000_000);
    expect(reader.properties.maxExpiresAt).toBe(1_800_000_038);
    expect(reader.properties.expiringEntries).toBe(20);
    expect(reader.properties.tombstones).toBe(1);
    const it = reader.iterator();
    let i = 0;
    for (it.seekToFirst(); it.valid(); it.next(), i++) {
      expect(fromUtf8(userKeyOf(it.key()))).toBe(ttlEntries[i]![0]);
      expect(Buffer.from(it.value()).equals(Buffer.from(ttlEntries[i]![2]))).toBe(true);
    }
    expect(i).toBe(40);
    expect(reader.verify()).toEqual([]);
    reader.close();
  });

  it('table whose blocks were compressed by snappyjs (before the own encoder) still reads back', async () => {
    // Same format; only the encoder's choice of matches differs, as any Snappy stream may.
    await readsBack(new Uint8Array(readFileSync(new URL('000009-snappyjs.sst', DIR))));
  });

  async function readsBack(golden: Uint8Array): Promise<void> {
    const fs = new MemoryFileSystem();
    fs.writeFileSync('/000009.sst', golden);
    const reader = TableReader.open(await fs.open('/000009.sst', { readOnly: true }), 9, new BlockCache(1 << 20));
    const it = reader.iterator();
    let i = 0;
    for (it.seekToFirst(); it.valid(); it.next(), i++) {
      const [k, v, val] = tableEntries[i]!;
      expect(fromUtf8(userKeyOf(it.key()))).toBe(k);
      expect(versionOf(it.key())).toBe(v);
      expect(Buffer.from(it.value()).equals(Buffer.from(val))).toBe(true);
    }
    expect(i).toBe(200);
    expect(reader.verify()).toEqual([]);
    reader.close();
  }

  it('manifest: same bytes, and the committed file replays', async () => {
    const golden = check('MANIFEST-000011', await writeManifest());
    const fs = new MemoryFileSystem();
    fs.writeFileSync('/db/MANIFEST-000011', golden);
    const loaded = await loadManifest(fs, '/db', 11);
    expect(loaded.state.logNumber).toBe(13);
    expect(loaded.state.nextFileNumber).toBe(15);
    expect(loaded.state.lastVersion).toBe(204);
    expect(loaded.state.levels[0]!.map((t) => t.fileNumber)).toEqual([9]);
    expect(loaded.edits).toBe(2);
  });
});
