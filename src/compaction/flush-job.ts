/**
 * A flush as a job a worker can run: the sealed memtables' arenas (SharedArrayBuffers, read
 * without copying through FrozenMemtableIterator) become one L0 table file, synced and closed.
 * Several memtables (consecutive, oldest first) are merged into one table; their versions are
 * distinct, so no two hold the same internal key.
 */
import type { FileSystem } from '../fs/types.js';
import type { TableInfo } from '../manifest/edit.js';
import { FrozenMemtableIterator } from '../memtable/frozen.js';
import { MergingIterator } from '../engine/merging-iterator.js';
import type { TableOptions } from '../sstable/index.js';
import { buildTable } from './build-table.js';

export interface FlushJob {
  dir: string;
  fileNumber: number;
  memories: (SharedArrayBuffer | ArrayBuffer)[];
  tableOptions: TableOptions;
}

export function runFlush(fs: FileSystem, job: FlushJob): Promise<TableInfo> {
  const its = job.memories.map((m) => new FrozenMemtableIterator(m));
  return buildTable(fs, job.dir, job.fileNumber, its.length === 1 ? its[0]! : new MergingIterator(its), job.tableOptions);
}
