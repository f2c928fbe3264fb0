#!/usr/bin/env node
/**
 * The `sett` command. Dump tools first (the first thing anyone reaches for when something is
 * off), like LevelDB's leveldbutil:
 *
 *   sett dump wal FILE        every batch and entry of a WAL file
 *   sett dump sst FILE        every entry of a table, then its properties
 *   sett dump manifest FILE   every version edit
 *   sett stats DIR            open read-only and print the tree shape and counters
 *   sett bank [--accounts N] [--concurrency C] [--seconds S] [--dir DIR] [--seed N] [--sync]
 *                             the bank test (src/txn/bank.ts) on DIR (accounts already there
 *                             are checked and kept), or on a temporary directory that is
 *                             removed afterwards; exit code 1 if it fails
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromUtf8, toHex } from '../codec/bytes.js';
import { initChecksum } from '../codec/checksum.js';
import { userKeyOf, versionOf } from '../codec/keys.js';
import { decodeValueHeader, type DecodedValue } from '../codec/value.js';
import { readAll } from '../fs/read-all.js';
import { NodeFileSystem } from '../fs/node.js';
import { decodeEdit } from '../manifest/edit.js';
import { BlockCache, TableReader } from '../sstable/index.js';
import { logSuccession, visitBatchPayload } from '../wal/batch.js';
import { LogKind } from '../wal/format.js';
import { scanLog } from '../wal/record.js';
import { open } from '../index.js';
import { runBank } from '../txn/bank.js';

const printable = (b: Uint8Array): string => {
  for (const c of b) if (c < 0x20 || c > 0x7e) return `0x${toHex(b)}`;
  return JSON.stringify(fromUtf8(b));
};

function describeValue(v: Uint8Array): string {
  const h = decodeValueHeader(v, { kind: 0, expiresAt: 0, userMeta: 0, valueStart: 0 } as DecodedValue);
  if (h === undefined) return `<malformed value ${toHex(v.subarray(0, 8))}>`;
  const extra = `${h.expiresAt ? ` expiresAt=${h.expiresAt}` : ''}${v[0]! & 0x10 ? ` userMeta=${h.userMeta}` : ''}`;
  return h.kind === 2 ? `DELETE${extra}` : `PUT ${printable(v.subarray(h.valueStart))}${extra}`;
}

async function readFile(path: string): Promise<Uint8Array> {
  const fs = new NodeFileSystem();
  const f = await fs.open(path, { readOnly: true });
  try {
    return readAll(f);
  } finally {
    f.close();
  }
}

async function dumpLog(path: string, kind: LogKind): Promise<void> {
  const data = await readFile(path);
  const scan = scanLog(data, path, kind, logSuccession(kind));
  console.log(`${path}: file number ${scan.fileNumber}, ${scan.records.length} records, valid to offset ${scan.validEnd}${scan.tornTail ? ` (torn tail of ${data.length - scan.validEnd} bytes)` : ''}`);
  for (const rec of scan.records) {
    const offset = rec.byteOffset - data.byteOffset;
    if (kind === LogKind.Wal) {
      const h = visitBatchPayload(rec, { entry: (k, ver, v) => console.log(`  @${ver} ${printable(k)} ${describeValue(v)}`) }, { file: path, offset });
      const same = h.sameVersion ? ` (committed at one chosen version, after ${h.follows})` : '';
      console.log(`batch at offset ${offset - 9}: versions ${h.base}..${h.last}${same}`);
    } else {
      const e = decodeEdit(rec, { file: path, offset });
      console.log(`edit at offset ${offset - 9}: ${JSON.stringify({ logNumber: e.logNumber, nextFileNumber: e.nextFileNumber, lastVersion: e.lastVersion, discardVersion: e.discardVersion, deleted: e.deleted })}`);
      for (const a of e.added) {
        const t = a.table;
        console.log(`  + L${a.level} table ${t.fileNumber} (${t.fileSize} B, ${t.entries} entries, versions ${t.minVersion}..${t.maxVersion}) ${printable(userKeyOf(t.smallest))} .. ${printable(userKeyOf(t.largest))}`);
      }
    }
  }
}

async function dumpTable(path: string): Promise<void> {
  const fs = new NodeFileSystem();
  const f = await fs.open(path, { readOnly: true });
  const reader = TableReader.open(f, 0, new BlockCache(0));
  const it = reader.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) console.log(`${printable(userKeyOf(it.key()))} @${versionOf(it.key())} ${describeValue(it.value())}`);
  it.close();
  const m = reader.meta;
  console.log(`${path}: ${m.entries} entries, ${m.fileSize} bytes, versions ${m.minVersion}..${m.maxVersion}`);
  const problems = reader.verify();
  for (const p of problems) console.log(`DAMAGED at offset ${p.offset}: ${p.message}`);
  reader.close();
  if (problems.length > 0) process.exitCode = 2;
}

async function stats(dir: string): Promise<void> {
  const db = await open({ path: dir, readOnly: true });
  console.log(JSON.stringify(db.stats(), null, 2));
  await db.close();
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`--${name} must be a positive integer, got ${v}`);
  return n;
}

async function bank(values: Record<string, string | boolean | undefined>): Promise<void> {
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const accounts = positiveInt(str('accounts'), 'accounts', 100);
  const concurrency = positiveInt(str('concurrency'), 'concurrency', 16);
  const seconds = positiveInt(str('seconds'), 'seconds', 10);
  const seedArg = str('seed');
  const given = str('dir');
  const dir = given ?? (await mkdtemp(join(tmpdir(), 'sett-bank-')));
  const db = await open({ path: dir, sync: values.sync === true });
  try {
    const f = await runBank(db, {
      accounts,
      concurrency,
      seconds,
      onStart: () => console.log('bank: running'),
      ...(seedArg === undefined ? {} : { seed: positiveInt(seedArg, 'seed', 1) }),
    });
    console.log(`bank: ${f.accounts} accounts, ${f.concurrency} workers, seed ${f.seed}, ${(f.ms / 1000).toFixed(1)} s`);
    console.log(`  transfers   ${f.transfers} (${Math.round((f.transfers * 1000) / f.ms)}/s)`);
    console.log(`  conflicts   ${f.conflicts}`);
    console.log(`  low balance ${f.insufficient}`);
    console.log(`  checks      ${f.checks} (total ${f.total} every time)`);
  } finally {
    await db.close();
    if (given === undefined) await rm(dir, { recursive: true, force: true });
  }
}

const USAGE = 'usage: sett dump wal|sst|manifest FILE | sett stats DIR | sett bank [--accounts N] [--concurrency C] [--seconds S] [--dir DIR] [--seed N] [--sync]';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      accounts: { type: 'string' },
      concurrency: { type: 'string' },
      seconds: { type: 'string' },
      dir: { type: 'string' },
      seed: { type: 'string' },
      sync: { type: 'boolean' },
    },
  });
  await initChecksum();
  const [cmd, a, b] = positionals;
  if (cmd === 'dump' && b !== undefined) {
    if (a === 'wal') return dumpLog(b, LogKind.Wal);
    if (a === 'manifest') return dumpLog(b, LogKind.Manifest);
    if (a === 'sst') return dumpTable(b);
  }
  if (cmd === 'stats' && a !== undefined) return stats(a);
  if (cmd === 'bank' && a === undefined) return bank(values);
  console.error(USAGE);
  process.exitCode = 64;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exitCode = 1;
});
