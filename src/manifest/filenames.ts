/**
 * Every file name of a database directory is made and parsed here (LevelDB's filename.cc).
 *
 *   000042.wal        write-ahead log of one memtable
 *   000043.sst        sorted table
 *   MANIFEST-000044   log of version edits
 *   CURRENT           names the live manifest (with a checksum)
 *   LOCK              writer lock (fs/ backends manage it)
 *   *.tmp             temporary files, removed on open
 */
import { joinPath } from '../fs/types.js';

export const FileKind = {
  Wal: 'wal',
  Table: 'sst',
  Manifest: 'manifest',
  Current: 'current',
  Lock: 'lock',
  Temp: 'tmp',
} as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

export interface ParsedName {
  kind: FileKind;
  number: number;
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

export function walName(n: number): string {
  return `${pad(n)}.wal`;
}
export function tableName(n: number): string {
  return `${pad(n)}.sst`;
}
export function manifestName(n: number): string {
  return `MANIFEST-${pad(n)}`;
}
export const CURRENT = 'CURRENT';
export const LOCK = 'LOCK';

export function walPath(dir: string, n: number): string {
  return joinPath(dir, walName(n));
}
export function tablePath(dir: string, n: number): string {
  return joinPath(dir, tableName(n));
}
export function manifestPath(dir: string, n: number): string {
  return joinPath(dir, manifestName(n));
}

const NUMBERED = /^(\d{6,16})\.(wal|sst)$/;
const MANIFEST = /^MANIFEST-(\d{6,16})$/;

/** Parses a name found in the directory; undefined for names sett does not own. */
export function parseFileName(name: string): ParsedName | undefined {
  if (name === CURRENT) return { kind: FileKind.Current, number: 0 };
  if (name === LOCK) return { kind: FileKind.Lock, number: 0 };
  if (name.endsWith('.tmp')) return { kind: FileKind.Temp, number: 0 };
  let m = NUMBERED.exec(name);
  if (m !== null) return { kind: m[2] === 'wal' ? FileKind.Wal : FileKind.Table, number: Number(m[1]) };
  m = MANIFEST.exec(name);
  if (m !== null) return { kind: FileKind.Manifest, number: Number(m[1]) };
  return undefined;
}
