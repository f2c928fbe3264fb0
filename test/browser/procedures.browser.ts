/**
 * Browser-side steps of the scenarios in scenarios.ts: things run.ts drives across browser
 * launches (write, restart or SIGKILL the browser, check), across tabs, or against Node.
 */
import { type RemoteDB, openInWorker } from '../../src/browser.js';
import { open } from '../../src/browser.js';
import { OpfsFileSystem } from '../../src/fs/opfs.js';
import { formatExpected, readAllStrings, runFormatScript } from './lib/format-script.js';
import { crashKey, crashValue, persistExpected, persistKey, persistValue } from './lib/scenario-data.js';
import { dec, procedure } from './lib/t.js';

const WORKER = '/sett-worker.js';

type Hooks = { __settAck?: (i: number, batch: boolean) => Promise<void>; __settReady?: () => Promise<void>; __settDb?: RemoteDB };
const hooks = globalThis as unknown as Hooks;

function errorInfo(e: unknown): { name: string; code: string | undefined; message: string; causes: string[] } {
  const causes: string[] = [];
  for (let c = (e as { cause?: unknown }).cause; c !== undefined && causes.length < 6; c = (c as { cause?: unknown }).cause) {
    causes.push(`${(c as Error).name}${(c as { code?: unknown }).code === undefined ? '' : `[${String((c as { code: unknown }).code)}]`}`);
  }
  const err = e as Error & { code?: string };
  return { name: err.name, code: err.code, message: err.message, causes };
}

// ---- persistence across a browser restart ----

procedure('page', 'persist:write', async (args) => {
  const { dir } = args as { dir: string };
  const db = await openInWorker({ path: dir, worker: WORKER, memtableSize: 64 * 1024 });
  for (let start = 0; start < 3000; start += 250) {
    const b = db.batch();
    for (let i = start; i < start + 250; i++) b.put(persistKey(i), persistValue(i, 0));
    await b.write();
  }
  await db.flush();
  for (let i = 0; i < 3000; i += 11) await db.delete(persistKey(i));
  for (let i = 5; i < 3000; i += 13) await db.put(persistKey(i), persistValue(i, 1)); // left in the WAL
  const stats = await db.stats();
  await db.close();
  // A second database left open (not closed) with unsynced writes: a clean browser exit
  // ends the worker; the writes were handed to the browser at the end of their task.
  const open2 = await openInWorker({ path: `${dir}-open`, worker: WORKER });
  for (let i = 0; i < 100; i++) await open2.put(persistKey(i), persistValue(i, 2));
  hooks.__settDb = open2;
  await new Promise((r) => setTimeout(r, 100));
  return { tables: stats.tables };
});

procedure('page', 'persist:check', async (args) => {
  const { dir, expectMissing } = args as { dir: string; expectMissing?: boolean };
  if (expectMissing === true) {
    const r = await openInWorker({ path: dir, worker: WORKER, createIfMissing: false }).then(
      async (db) => {
        await db.close();
        return 'found';
      },
      (e: unknown) => errorInfo(e).code,
    );
    return { missing: r };
  }
  const db = await openInWorker({ path: dir, worker: WORKER });
  const got = (await db.iterator().all()).map(([k, v]) => [dec(k), dec(v)]);
  const report = await db.verify();
  await db.close();
  const want = persistExpected();
  const bad = want.findIndex(([k, v], i) => got[i]?.[0] !== k || got[i]?.[1] !== v);
  const db2 = await openInWorker({ path: `${dir}-open`, worker: WORKER });
  const left = await db2.iterator().all();
  await db2.close();
  return { count: got.length, expected: want.length, firstBad: bad === -1 && got.length === want.length ? undefined : { at: bad, got: got[bad], want: want[bad] }, verifyOk: report.ok, leftOpen: left.length };
});

// ---- SIGKILL during synced writes ----

procedure('page', 'crash:write', async (args) => {
  const { dir, round, writers } = args as { dir: string; round: number; writers: number };
  const db = await openInWorker({ path: dir, worker: WORKER, sync: true, memtableSize: 64 * 1024 });
  await hooks.__settReady?.();
  let next = 0;
  const writer = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i % 5 === 4) {
        await db.batch().put(crashKey(round, i), crashValue(round, i)).put(crashKey(round, i, 1), crashValue(round, i, 1)).put(crashKey(round, i, 2), crashValue(round, i, 2)).write();
        void hooks.__settAck?.(i, true);
      } else {
        await db.put(crashKey(round, i), crashValue(round, i));
        void hooks.__settAck?.(i, false);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
});

procedure('page', 'crash:check', async (args) => {
  const { dir, acked } = args as { dir: string; acked: [round: number, i: number, batch: boolean][] };
  const db = await openInWorker({ path: dir, worker: WORKER, memtableSize: 64 * 1024 });
  const missing: string[] = [];
  for (const [round, i, batch] of acked) {
    const subs = batch ? [0, 1, 2] : [0];
    for (const s of subs) {
      const v = await db.get(crashKey(round, i, s));
      if (v === undefined || dec(v) !== dec(crashValue(round, i, s))) missing.push(`${dec(crashKey(round, i, s))}: ${v === undefined ? 'missing' : 'wrong value'}`);
    }
  }
  // Batches are whole: a batch's companions are all there or all absent; no value is damaged.
  const present = new Map<string, number>();
  let entries = 0;
  const damaged: string[] = [];
  for await (const [k, v] of db.iterator()) {
    entries++;
    const ks = dec(k)!;
    const m = /^r(\d+):(\d+):(\d)$/.exec(ks);
    if (m === null) continue;
    if (dec(v) !== dec(crashValue(Number(m[1]), Number(m[2]), Number(m[3])))) damaged.push(ks);
    if (Number(m[2]) % 5 === 4) present.set(`${m[1]}:${m[2]}`, (present.get(`${m[1]}:${m[2]}`) ?? 0) + 1);
  }
  const torn = [...present].filter(([, n]) => n !== 3).map(([k]) => k);
  const report = await db.verify();
  const stats = await db.stats();
  await db.close();
  return { checked: acked.length, entries, missing: missing.slice(0, 10), missingCount: missing.length, torn: torn.slice(0, 10), damaged: damaged.slice(0, 10), verifyOk: report.ok, tables: stats.tables };
});

// ---- two tabs ----

procedure('page', 'tabs:open', async (args) => {
  const { dir } = args as { dir: string };
  try {
    const db = await openInWorker({ path: dir, worker: WORKER });
    await db.put('written-by', location.hash || 'a tab', { sync: true });
    hooks.__settDb = db;
    return { ok: true };
  } catch (e) {
    return { ok: false, ...errorInfo(e) };
  }
});

procedure('page', 'tabs:read', async (args) => {
  const { key } = args as { key: string };
  return dec(await hooks.__settDb!.get(key));
});

// ---- OPFS quota ----

procedure('page', 'quota:fill', async (args) => {
  const { dir } = args as { dir: string };
  const db = await openInWorker({ path: dir, worker: WORKER, memtableSize: 1024 * 1024 });
  const value = new Uint8Array(16 * 1024).fill(7);
  let acked = 0;
  let error: ReturnType<typeof errorInfo> | undefined;
  for (let i = 0; i < 2000; i++) {
    try {
      await db.put(`q${String(i).padStart(5, '0')}`, value);
      acked = i + 1;
    } catch (e) {
      error = errorInfo(e);
      break;
    }
  }
  // After a quota error the store either still reads (ErrInsufficientDiskSpace) or has failed
  // (ErrStoreFailed); either way, acknowledged writes must still read back.
  let readable = 0;
  for (let i = 0; i < acked; i += 17) if ((await db.get(`q${String(i).padStart(5, '0')}`))?.length === value.length) readable++;
  await db.close().catch(() => undefined);
  return { acked, error, readable, sampled: Math.ceil(acked / 17) };
});

procedure('page', 'quota:check', async (args) => {
  const { dir, acked } = args as { dir: string; acked: number };
  const db = await openInWorker({ path: dir, worker: WORKER, memtableSize: 1024 * 1024 });
  let missing = 0;
  for (let i = 0; i < acked; i++) if ((await db.get(`q${String(i).padStart(5, '0')}`))?.length !== 16 * 1024) missing++;
  await db.put('after', 'quota freed', { sync: true });
  await db.close();
  return { missing };
});

// ---- formats across Node and Chromium ----

function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

procedure('worker', 'formats:write', async (args) => {
  const { dir } = args as { dir: string };
  const fs = new OpfsFileSystem();
  await runFormatScript(open, fs, dir);
  // close() can resolve while removals of obsolete files are still in flight (the engine does not
  // wait for them): let them land, and skip a file that vanishes while we read.
  await new Promise((r) => setTimeout(r, 200));
  const files: Record<string, string> = {};
  for (const name of await fs.list(dir)) {
    const f = await fs.open(`${dir}/${name}`, { readOnly: true }).catch((e: unknown) => {
      if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
      throw e;
    });
    if (f === undefined) continue;
    const buf = new Uint8Array(f.size());
    f.readAt(buf, 0);
    f.close();
    files[name] = toBase64(buf);
  }
  fs.closeIdleFiles();
  return files;
});

procedure('worker', 'formats:read', async (args) => {
  const { dir, files } = args as { dir: string; files: Record<string, string> };
  const fs = new OpfsFileSystem();
  await fs.mkdir(dir);
  for (const [name, b64] of Object.entries(files)) {
    const f = await fs.open(`${dir}/${name}`, { create: true, truncate: true });
    f.writeAt(fromBase64(b64), 0);
    f.sync();
    f.close();
  }
  const db = await open({ path: dir, fs, readOnly: true });
  const got = await readAllStrings(db);
  const report = await db.verify();
  await db.close();
  fs.closeIdleFiles();
  const want = formatExpected();
  return { same: JSON.stringify(got) === JSON.stringify(want), count: got.length, expected: want.length, verifyOk: report.ok };
});
