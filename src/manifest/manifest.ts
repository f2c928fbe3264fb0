/**
 * The manifest log: MANIFEST-n holds a header record, then one record per version edit, the
 * first being a full snapshot of the tree. CURRENT names the live manifest:
 *
 *   CURRENT = "MANIFEST-000007 <xxh32 of the name, 8 hex digits>\n"
 *
 * and is replaced atomically (write CURRENT.tmp, sync, rename, sync the directory). A manifest
 * grows by appending synced edits and is rewritten (new file, snapshot edit, switch CURRENT,
 * remove the old one) once it passes `rewriteBytes`.
 *
 * A torn last edit (crash during append) is cut: its change was never acknowledged, and the
 * caller only deletes files after the edit that made them obsolete is synced.
 */
import { ErrCorruption } from '../api/errors.js';
import { fromUtf8, utf8 } from '../codec/bytes.js';
import { checksum } from '../codec/checksum.js';
import { readAll } from '../fs/read-all.js';
import { type FileSystem, isFsError, joinPath } from '../fs/types.js';
import { LogKind, RecordType } from '../wal/format.js';
import { encodeRecord, scanLog } from '../wal/record.js';
import { LogWriter } from '../wal/writer.js';
import { decodeEdit, encodeEdit, type VersionEdit } from './edit.js';
import { CURRENT, manifestName, manifestPath, parseFileName, FileKind } from './filenames.js';
import { applyEdit, emptyState, type ManifestState, snapshotEdit } from './state.js';

export interface LoadedManifest {
  state: ManifestState;
  manifestNumber: number;
  /** Offset where valid records end (a torn tail past it is cut when the writer resumes). */
  validEnd: number;
  edits: number;
}

function currentContents(name: string): Uint8Array {
  const sum = checksum(utf8(name)).toString(16).padStart(8, '0');
  return utf8(`${name} ${sum}\n`);
}

export async function readCurrent(fs: FileSystem, dir: string): Promise<number | undefined> {
  const path = joinPath(dir, CURRENT);
  let file;
  try {
    file = await fs.open(path, { readOnly: true });
  } catch (e) {
    if (isFsError(e, 'ENOENT')) return undefined;
    throw e;
  }
  let text: string;
  try {
    text = fromUtf8(readAll(file));
  } finally {
    file.close();
  }
  const m = /^(MANIFEST-\d+) ([0-9a-f]{8})\n$/.exec(text);
  if (m === null) throw new ErrCorruption('CURRENT is malformed', { file: path, offset: 0 });
  const name = m[1]!;
  if (checksum(utf8(name)).toString(16).padStart(8, '0') !== m[2]) throw new ErrCorruption('CURRENT checksum mismatch', { file: path, offset: 0 });
  const parsed = parseFileName(name);
  if (parsed?.kind !== FileKind.Manifest) throw new ErrCorruption('CURRENT does not name a manifest', { file: path, offset: 0 });
  return parsed.number;
}

/** Reads the manifest CURRENT names and replays it. */
export async function loadManifest(fs: FileSystem, dir: string, manifestNumber: number): Promise<LoadedManifest> {
  const path = manifestPath(dir, manifestNumber);
  let file;
  try {
    file = await fs.open(path, { readOnly: true });
  } catch (e) {
    if (isFsError(e, 'ENOENT')) throw new ErrCorruption(`CURRENT names ${manifestName(manifestNumber)}, which is missing`, { file: path });
    throw e;
  }
  let data: Uint8Array;
  try {
    data = readAll(file);
  } finally {
    file.close();
  }
  const scan = scanLog(data, path, LogKind.Manifest);
  if (scan.fileNumber !== manifestNumber) throw new ErrCorruption(`manifest header names file ${scan.fileNumber}`, { file: path, offset: 0 });
  let state = emptyState();
  let offset = 0;
  for (const rec of scan.records) {
    const where = { file: path, offset: rec.byteOffset - data.byteOffset };
    state = applyEdit(state, decodeEdit(rec, where), where);
    offset++;
  }
  if (scan.records.length === 0) throw new ErrCorruption('manifest holds no edits', { file: path, offset: scan.validEnd });
  return { state, manifestNumber, validEnd: scan.validEnd, edits: offset };
}

export class Manifest {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly number: number;
  private writer: LogWriter;
  state: ManifestState;

  private constructor(fs: FileSystem, dir: string, number: number, writer: LogWriter, state: ManifestState) {
    this.fs = fs;
    this.dir = dir;
    this.number = number;
    this.writer = writer;
    this.state = state;
  }

  get sizeBytes(): number {
    return this.writer.offset;
  }

  /** True once an append could not be undone or a sync failed: the on-disk state is unknown. */
  get broken(): boolean {
    return this.writer.broken;
  }

  /**
   * Writes a new manifest holding `state` as one snapshot edit, syncs it and points CURRENT at
   * it. The previous manifest (if any) is left for the caller to remove.
   */
  static async create(fs: FileSystem, dir: string, number: number, state: ManifestState): Promise<Manifest> {
    const file = await fs.open(manifestPath(dir, number), { create: true, truncate: true });
    let writer: LogWriter;
    try {
      writer = LogWriter.create(file, LogKind.Manifest, number);
    } catch (e) {
      file.close();
      throw e;
    }
    try {
      writer.append(encodeRecord(RecordType.Data, encodeEdit(snapshotEdit(state))));
      writer.sync();
      await fs.syncDir(dir);
      await writeCurrent(fs, dir, number);
    } catch (e) {
      writer.close();
      throw e;
    }
    return new Manifest(fs, dir, number, writer, state);
  }

  /** Continues appending to an existing manifest after `loadManifest`. */
  static async resume(fs: FileSystem, dir: string, loaded: LoadedManifest): Promise<Manifest> {
    const file = await fs.open(manifestPath(dir, loaded.manifestNumber));
    let writer: LogWriter;
    try {
      writer = LogWriter.resume(file, loaded.manifestNumber, loaded.validEnd);
      // The state just loaded is acted on (files it no longer lists are removed): make it
      // durable first. After a failed sync and a restart without a crash, its last edits may
      // be readable but not yet on disk.
      writer.sync();
    } catch (e) {
      file.close();
      throw e;
    }
    return new Manifest(fs, dir, loaded.manifestNumber, writer, loaded.state);
  }

  /**
   * Appends and syncs one edit, then applies it. If this throws, the edit may or may not be on
   * disk: the caller must treat the store as failed (it cannot know which state a restart sees).
   */
  apply(edit: VersionEdit): ManifestState {
    const where = { file: manifestPath(this.dir, this.number), offset: this.writer.offset };
    const next = applyEdit(this.state, edit, where);
    // An append that fails is cut back by the writer (the edit is then simply not made); a
    // failed sync marks the writer broken.
    this.writer.append(encodeRecord(RecordType.Data, encodeEdit(edit)));
    this.writer.sync();
    this.state = next;
    return next;
  }

  /**
   * `apply` with the fsync off the event loop (Node). Callers serialize manifest operations
   * (Engine.withManifest), so nothing else appends while this waits.
   */
  async applyAsync(edit: VersionEdit): Promise<ManifestState> {
    const where = { file: manifestPath(this.dir, this.number), offset: this.writer.offset };
    const next = applyEdit(this.state, edit, where);
    this.writer.append(encodeRecord(RecordType.Data, encodeEdit(edit)));
    await this.writer.syncAsync();
    this.state = next;
    return next;
  }

  close(): void {
    this.writer.close();
  }
}

/**
 * Thrown by `Manifest.create` when CURRENT was already renamed to name the new manifest but
 * making that rename durable failed: after a restart either manifest may be the current one
 * (both hold a consistent state), so the caller must neither append to the old manifest nor
 * remove the new one. The engine fails the store (as for a failed manifest fsync).
 */
export class CurrentSwitchUnsynced extends Error {
  constructor(cause: unknown) {
    super(`CURRENT names the new manifest, but syncing the directory failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'CurrentSwitchUnsynced';
  }
}

async function writeCurrent(fs: FileSystem, dir: string, number: number): Promise<void> {
  const tmp = joinPath(dir, 'CURRENT.tmp');
  const f = await fs.open(tmp, { create: true, truncate: true });
  try {
    f.writeAt(currentContents(manifestName(number)), 0);
    f.sync();
  } finally {
    f.close();
  }
  await fs.rename(tmp, joinPath(dir, CURRENT));
  try {
    await fs.syncDir(dir);
  } catch (e) {
    throw new CurrentSwitchUnsynced(e);
  }
}
