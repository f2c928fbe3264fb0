/**
 * Writes the entries of an internal iterator into a new table file: the step shared by flush
 * (memtable → L0) and, later, compaction. The file is synced and closed before this returns,
 * and the directory entry is made durable by the caller's syncDir; on any failure the partial
 * file is removed and the error rethrown.
 */
import type { InternalIterator } from '../codec/iterator.js';
import type { FileSystem } from '../fs/types.js';
import type { TableInfo } from '../manifest/edit.js';
import { tablePath } from '../manifest/filenames.js';
import { TableBuilder, type TableOptions } from '../sstable/index.js';
import { Slicer } from '../engine/yield.js';

export async function buildTable(
  fs: FileSystem,
  dir: string,
  fileNumber: number,
  source: InternalIterator,
  options: TableOptions,
  onBytes?: (n: number) => void,
): Promise<TableInfo> {
  const path = tablePath(dir, fileNumber);
  const file = await fs.open(path, { create: true, truncate: true });
  let ok = false;
  try {
    const builder = new TableBuilder(file, fileNumber, options);
    source.seekToFirst();
    const slicer = new Slicer(fs.simulated === true);
    while (source.valid()) {
      builder.add(source.key(), source.value());
      source.next();
      if (slicer.due()) await slicer.yield();
    }
    const meta = builder.finish();
    file.sync();
    onBytes?.(meta.fileSize);
    ok = true;
    return {
      fileNumber,
      fileSize: meta.fileSize,
      smallest: meta.smallest,
      largest: meta.largest,
      entries: meta.entries,
      minVersion: meta.minVersion,
      maxVersion: meta.maxVersion,
    };
  } finally {
    file.close();
    if (!ok) await fs.remove(path).catch(() => undefined);
  }
}
