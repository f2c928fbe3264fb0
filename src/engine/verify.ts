/**
 * `db.verify()`: reads every live table block, every WAL record and every manifest record and
 * reports every damaged one (it never stops at the first). Tables are verified through their
 * readers (every block checksum, key order, entry count); logs are scanned record by record;
 * a damaged record is reported and the scan resumes at the next valid record, so several
 * damaged places in one file are all listed.
 */
import { readAll } from '../fs/read-all.js';
import { isFsError, joinPath } from '../fs/types.js';
import { FileKind, parseFileName, tableName } from '../manifest/filenames.js';
import { LogKind } from '../wal/format.js';
import { isTornTail, recordAt, validRecordAfter } from '../wal/record.js';
import { logSuccession } from '../wal/batch.js';
import type { Engine } from './engine.js';

export interface VerifyProblem {
  file: string;
  offset: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  tables: number;
  tableBlocksOk: boolean;
  logs: number;
  records: number;
  problems: VerifyProblem[];
}

/** Scans a log, listing every damaged region instead of stopping at the first. */
function verifyLog(data: Uint8Array, path: string, kind: LogKind, problems: VerifyProblem[]): number {
  let pos = 0;
  let records = 0;
  let tornAt = -1;
  while (pos < data.length) {
    const r = recordAt(data, pos, data.length);
    if (r !== undefined) {
      records++;
      pos = r.end;
      continue;
    }
    const next = validRecordAfter(data, pos, data.length);
    if (next < 0) {
      // Nothing valid follows. A record cut short (or zeros) is what a crash during an append
      // leaves; a complete last record that fails its checksum was damaged after it was
      // written, as replay decides too (wal/record.ts).
      if (isTornTail(data, pos, logSuccession(kind))) tornAt = pos;
      else problems.push({ file: path, offset: pos, message: 'damaged last record (complete, but fails its checksum)' });
      break;
    }
    problems.push({ file: path, offset: pos, message: `damaged record (${next - pos} bytes skipped to the next valid record)` });
    pos = next;
  }
  if (tornAt >= 0 && kind === LogKind.Manifest) {
    problems.push({ file: path, offset: tornAt, message: 'torn manifest tail (an unacknowledged edit; cut on the next open)' });
  }
  return records;
}

export async function verifyEngine(e: Engine): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  let tables = 0;
  for (const level of e.version.levels) {
    for (const t of level) {
      tables++;
      for (const p of t.reader.verify()) problems.push({ file: joinPath(e.dir, tableName(t.info.fileNumber)), offset: p.offset, message: p.message });
    }
  }
  let logs = 0;
  let records = 0;
  for (const name of await e.fs.list(e.dir)) {
    const parsed = parseFileName(name);
    if (parsed === undefined || (parsed.kind !== FileKind.Wal && parsed.kind !== FileKind.Manifest)) continue;
    if (parsed.kind === FileKind.Manifest && parsed.number !== e.manifest?.number && e.manifest !== undefined) continue;
    const path = joinPath(e.dir, name);
    let data: Uint8Array;
    try {
      const f = await e.fs.open(path, { readOnly: true });
      try {
        data = readAll(f);
      } finally {
        f.close();
      }
    } catch (err) {
      // Flushes remove WALs and manifest rewrites remove manifests while this runs: a log that
      // is gone since the listing was retired, not damaged.
      if (isFsError(err, 'ENOENT')) continue;
      problems.push({ file: path, offset: 0, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    logs++;
    records += verifyLog(data, path, parsed.kind === FileKind.Wal ? LogKind.Wal : LogKind.Manifest, problems);
  }
  return { ok: problems.length === 0, tables, tableBlocksOk: problems.every((p) => !p.file.endsWith('.sst')), logs, records, problems };
}
