/**
 * Opening a database directory.
 *
 *  1. Take the writer lock (not for read-only opens).
 *  2. CURRENT → manifest → replay edits → which tables are live, the log number, the next file
 *     number, the last version. No CURRENT: a new database (if allowed), unless sett files are
 *     already there — then it is damage, not a fresh directory.
 *  3. Open every live table (footer, index and bloom are verified); a listed table that is
 *     missing is ErrCorruption.
 *  4. Replay WAL files numbered at or above the log number, oldest first, each into its own
 *     memtable. A torn tail is cut; damage before valid records is ErrCorruption.
 *  5. Remove leftovers: WALs below the log number, tables no edit lists, old manifests, temp
 *     files (not for read-only opens).
 *  6. The newest WAL stays the active one (appends continue after its valid end); older
 *     replayed memtables are sealed and flushed.
 */
import { ErrCorruption, ErrInvalidConfig, ErrLocked } from '../api/errors.js';
import type { Config } from '../api/options.js';
import { initChecksum } from '../codec/checksum.js';
import { readAll } from '../fs/read-all.js';
import { type DirLock, type FileSystem, isFsError, joinPath } from '../fs/types.js';
import { FileKind, parseFileName, tablePath, walPath } from '../manifest/filenames.js';
import { CurrentSwitchUnsynced, loadManifest, Manifest, readCurrent } from '../manifest/manifest.js';
import { emptyState, liveTableNumbers, type ManifestState } from '../manifest/state.js';
import { Memtable } from '../memtable/index.js';
import { BlockCache } from '../sstable/index.js';
import { batchPayloadCount, logSuccession, visitBatchPayload } from '../wal/batch.js';
import { LogKind } from '../wal/format.js';
import { scanLog } from '../wal/record.js';
import { LogWriter } from '../wal/writer.js';
import { Engine } from './engine.js';
import type { CompactionRunner } from './compactor.js';
import { mapWriteError } from './commit.js';
import { openTable } from './flusher.js';
import type { MemEntry } from './state.js';
import { TableHandle, Version } from './version.js';

interface ReplayedWal {
  number: number;
  mem: Memtable;
  validEnd: number;
  /** Bytes after validEnd were a torn record (cut). */
  tornTail: boolean;
  /** Versions of the first and last entry (0 for a WAL without records). */
  minVersion: number;
  maxVersion: number;
  /** Last version written before this WAL's first entry. */
  startsAfter: number;
}

async function replayWal(fs: FileSystem, dir: string, number: number, config: Config): Promise<ReplayedWal> {
  const path = walPath(dir, number);
  const file = await fs.open(path, { readOnly: true });
  let data: Uint8Array;
  try {
    data = readAll(file);
  } finally {
    file.close();
  }
  const scan = scanLog(data, path, LogKind.Wal, logSuccession(LogKind.Wal));
  if (scan.fileNumber >= 0 && scan.fileNumber !== number) throw new ErrCorruption(`WAL header names file ${scan.fileNumber}`, { file: path, offset: 0 });
  // Size the arena for everything the log holds (it may exceed memtableSize if the option shrank).
  const overhead = Memtable.entrySize(8, 0);
  let need = 0;
  for (const rec of scan.records) {
    need += rec.length + batchPayloadCount(rec) * overhead;
  }
  const mem = new Memtable(Math.max(config.memtableSize, need + 4096));
  let maxVersion = 0;
  let minVersion = 0;
  const visitor = {
    entry(key: Uint8Array, version: number, value: Uint8Array): void {
      if (!mem.add(key, version, value)) throw new ErrCorruption('WAL replay overflowed its memtable', { file: path });
      if (version > maxVersion) maxVersion = version;
      if (minVersion === 0 || version < minVersion) minVersion = version;
    },
  };
  let startsAfter = -1;
  for (const rec of scan.records) {
    const offset = rec.byteOffset - data.byteOffset;
    const h = visitBatchPayload(rec, visitor, { file: path, offset });
    if (startsAfter < 0 && h.count > 0) startsAfter = h.follows;
  }
  return { number, mem, validEnd: scan.validEnd, tornTail: scan.tornTail, minVersion, maxVersion, startsAfter: Math.max(startsAfter, 0) };
}

/**
 * What the manifest and the WALs must agree on, so that a lost manifest edit or a lost piece of
 * an older WAL is ErrCorruption instead of silently missing (possibly synced) writes:
 *  - the WAL the manifest names as holding the oldest unflushed writes (the log number) exists:
 *    a flush removes a WAL only after the edit that moves the log number past it is synced;
 *  - only the newest WAL that holds writes may end in a torn record: a rotation syncs the old
 *    WAL before it starts the next, and a writer's open cuts and syncs the torn tails it
 *    replayed;
 *  - versions run on without a gap from one WAL to the next: every write takes the version
 *    after the last one written, or (a commit at a caller-chosen version) records in its header
 *    the last version written before it.
 */
function checkWalChain(dir: string, state: ManifestState, replayed: readonly ReplayedWal[]): void {
  if (state.logNumber > 0 && replayed[0]?.number !== state.logNumber) {
    throw new ErrCorruption(`the manifest names WAL ${state.logNumber} as holding the oldest unflushed writes, but it is missing (lost manifest edits, or a removed WAL)`, {
      file: walPath(dir, state.logNumber),
    });
  }
  let prev: ReplayedWal | undefined;
  for (const [i, r] of replayed.entries()) {
    // A newer WAL without records may be left by a rotation that failed while creating it
    // (the old WAL then stayed the active one): only a newer WAL holding writes counts.
    if (r.tornTail && replayed.slice(i + 1).some((n) => n.minVersion !== 0)) {
      throw new ErrCorruption(`WAL ${r.number} ends in a torn record but a newer WAL holds writes (an older WAL is always complete)`, { file: walPath(dir, r.number), offset: r.validEnd });
    }
    if (r.minVersion === 0) continue;
    if (prev !== undefined && r.startsAfter !== prev.maxVersion) {
      throw new ErrCorruption(`WAL ${r.number} starts after version ${r.startsAfter}, but WAL ${prev.number} ends at version ${prev.maxVersion} (writes between them are missing)`, {
        file: walPath(dir, prev.number),
        offset: prev.validEnd,
      });
    }
    prev = r;
  }
}

/** Tries of a read-only open that keeps losing races with a busy writer. */
const READ_ONLY_OPEN_ATTEMPTS = 8;

async function takeLock(fs: FileSystem, dir: string): Promise<DirLock> {
  try {
    return await fs.lock(dir);
  } catch (e) {
    if (isFsError(e, 'EBUSY')) {
      throw new ErrLocked(`database at ${dir} is already open for writing (${(e as Error).message}); close the other writer or open with readOnly: true`, { cause: e });
    }
    throw e;
  }
}

/**
 * Opens the database in `config.path`. Every failure is a SettError: damage is ErrCorruption,
 * a full disk ErrInsufficientDiskSpace, any other file-system error ErrIO (with the fs error as
 * its cause). A failed open changes nothing on disk that the next open needs.
 */
export async function openEngine(config: Config, fs: FileSystem, runner?: CompactionRunner): Promise<Engine> {
  try {
    return await openEngineUnmapped(config, fs, runner);
  } catch (e) {
    throw mapWriteError(e, `opening the database at ${config.path} failed`);
  }
}

async function openEngineUnmapped(config: Config, fs: FileSystem, runner?: CompactionRunner): Promise<Engine> {
  await initChecksum();
  const dir = config.path;
  if (!(await fs.exists(dir))) {
    if (!config.createIfMissing || config.readOnly) throw new ErrInvalidConfig(`no database at ${dir} (createIfMissing is false or readOnly is true)`);
    await fs.mkdir(dir);
  }
  const lock = config.readOnly ? undefined : await takeLock(fs, dir);
  for (let attempt = 1; ; attempt++) {
    // What the open holds (manifest, WAL, tables): closed again if the open fails.
    const closers: (() => void)[] = [];
    // A read-only open races the writer, which may flush, rotate or rewrite the manifest between
    // our reads: a listed WAL or manifest vanishes, or the manifest names a table we did not
    // list. Every such change renames files, so if a failed open finds the listing changed, it
    // was a race: start again. Damage fails the same way every time.
    const before = config.readOnly ? (await fs.list(dir)).join('/') : '';
    try {
      return await openLocked(config, fs, dir, lock, closers, runner);
    } catch (e) {
      for (const close of closers.reverse()) {
        try {
          close();
        } catch {
          // already failing; the original error matters
        }
      }
      if (config.readOnly && attempt < READ_ONLY_OPEN_ATTEMPTS && (await fs.list(dir)).join('/') !== before) continue;
      await lock?.release();
      throw e;
    }
  }
}

async function openLocked(
  config: Config,
  fs: FileSystem,
  dir: string,
  lock: DirLock | undefined,
  closers: (() => void)[],
  runner: CompactionRunner | undefined,
): Promise<Engine> {
  const names = await fs.list(dir);
  const parsed = names.map((n) => ({ name: n, p: parseFileName(n) }));
  let maxNumber = 0;
  for (const { p } of parsed) if (p !== undefined && p.number > maxNumber) maxNumber = p.number;

  const current = await readCurrent(fs, dir);
  let state: ManifestState;
  let manifest: Manifest | undefined;
  let manifestNumber: number;
  if (current === undefined) {
    // Creating a database writes the manifest, then CURRENT, then the first WAL: a manifest
    // alone (no WAL, no table) is a creation that failed or crashed before CURRENT, holding no
    // data. It is removed below with the other leftovers; a WAL or a table without CURRENT is
    // damage.
    const stray = parsed.find(({ p }) => p !== undefined && (p.kind === FileKind.Wal || p.kind === FileKind.Table));
    if (stray !== undefined) throw new ErrCorruption(`directory holds sett files (${stray.name}) but no CURRENT file`, { file: joinPath(dir, 'CURRENT') });
    if (config.readOnly || !config.createIfMissing) throw new ErrInvalidConfig(`no database at ${dir} (createIfMissing is false or readOnly is true)`);
    state = { ...emptyState(), nextFileNumber: maxNumber + 2 };
    manifestNumber = maxNumber + 1;
    try {
      manifest = await Manifest.create(fs, dir, manifestNumber, state);
    } catch (err) {
      // Creating a store: whichever manifest CURRENT names after a restart holds the empty
      // state, so a failed directory sync is only the open's failure.
      throw err instanceof CurrentSwitchUnsynced ? err.cause : err;
    }
    const m = manifest;
    closers.push(() => m.close());
  } else {
    if (config.errorIfExists) throw new ErrInvalidConfig(`a database already exists at ${dir} (errorIfExists is true)`);
    const loaded = await loadManifest(fs, dir, current);
    state = loaded.state;
    manifestNumber = current;
    if (!config.readOnly) {
      const m = await Manifest.resume(fs, dir, loaded);
      manifest = m;
      closers.push(() => m.close());
    }
  }

  const cache = new BlockCache(config.blockCacheSize);
  const removals = new Set<Promise<void>>();
  // Tables: every listed one must exist.
  const onDisk = new Set(names);
  const levels: TableHandle[][] = [];
  for (const tables of state.levels) {
    const handles: TableHandle[] = [];
    for (const info of tables) {
      const name = tablePath(dir, info.fileNumber);
      if (!onDisk.has(name.slice(name.lastIndexOf('/') + 1))) throw new ErrCorruption(`table ${info.fileNumber} is listed in the manifest but missing`, { file: name });
      const handle = await openTable({ fs, dir, cache, removals }, info);
      closers.push(() => handle.reader.close());
      handles.push(handle);
    }
    levels.push(handles);
  }

  // WALs at or above the log number, oldest first.
  const wals = parsed
    .filter(({ p }) => p?.kind === FileKind.Wal && p.number >= state.logNumber)
    .map(({ p }) => p!.number)
    .sort((a, b) => a - b);
  const replayed: ReplayedWal[] = [];
  for (const n of wals) replayed.push(await replayWal(fs, dir, n, config));
  checkWalChain(dir, state, replayed);
  let lastVersion = state.lastVersion;
  for (const r of replayed) lastVersion = Math.max(lastVersion, r.maxVersion);
  let nextFileNumber = Math.max(state.nextFileNumber, maxNumber + 1);

  if (!config.readOnly) {
    // What this open read must survive a crash from now on: the store shows it and removes
    // files on the strength of it. After a failed fsync and a restart without a crash, the
    // replayed WALs may hold writes that are readable but not yet on disk. Torn tails are cut
    // first, so that only the newest WAL can ever end in one (checkWalChain).
    for (const r of replayed) {
      const f = await fs.open(walPath(dir, r.number));
      try {
        if (f.size() > r.validEnd) f.truncate(r.validEnd);
        f.sync();
      } finally {
        f.close();
      }
    }
    const live = liveTableNumbers(state);
    for (const { name, p } of parsed) {
      if (p === undefined) continue;
      const stale =
        p.kind === FileKind.Temp ||
        (p.kind === FileKind.Wal && p.number < state.logNumber) ||
        (p.kind === FileKind.Table && !live.has(p.number)) ||
        (p.kind === FileKind.Manifest && p.number !== manifestNumber);
      if (stale) await fs.remove(joinPath(dir, name)).catch(() => undefined);
    }
  }

  // The newest replayed WAL continues as the active memtable if it fits; others are sealed.
  const immutables: MemEntry[] = [];
  let active: MemEntry | undefined;
  let wal: LogWriter | undefined;
  const last = replayed[replayed.length - 1];
  for (const r of replayed) {
    if (r === last && r.mem.capacityBytes <= config.memtableSize) {
      active = { mem: r.mem, walNumber: r.number };
    } else if (r.mem.entries > 0 || r !== last) {
      immutables.push({ mem: r.mem, walNumber: r.number });
    }
  }
  if (!config.readOnly) {
    if (active !== undefined) {
      const file = await fs.open(walPath(dir, active.walNumber));
      closers.push(() => file.close());
      if (last!.validEnd === 0) {
        // A crash right after creating the WAL left it without its header: start it afresh.
        wal = LogWriter.forWal(file, active.walNumber);
        wal.sync();
      } else {
        wal = LogWriter.resume(file, active.walNumber, last!.validEnd);
      }
    } else {
      const number = nextFileNumber++;
      const file = await fs.open(walPath(dir, number), { create: true, truncate: true });
      closers.push(() => file.close());
      wal = LogWriter.forWal(file, number);
      wal.sync();
      await fs.syncDir(dir);
      active = { mem: new Memtable(config.memtableSize, { shared: runner?.sharedMemtables ?? false }), walNumber: number };
    }
  } else if (active === undefined) {
    active = { mem: new Memtable(4096), walNumber: 0 };
  }

  const engine = new Engine({
    config,
    fs,
    cache,
    lock,
    manifest,
    active,
    wal,
    immutables,
    version: new Version(levels),
    lastVersion,
    nextFileNumber,
    removals,
    ...(runner === undefined ? {} : { runner }),
  });
  // Compactions first: the flusher holds replayed memtables back while L0 is at the stall
  // threshold only if a compaction is running to drain it.
  engine.compactor.schedule();
  engine.flusher.schedule();
  return engine;
}
