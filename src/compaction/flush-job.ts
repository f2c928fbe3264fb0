/**
 * A flush as a job a worker can run: the sealed memtable's arena (a SharedArrayBuffer, read
 * without copying through FrozenMemtableIterator) becomes one L0 table file, synced and closed.
 */
import type { FileSystem } from '../fs/types.js';
import type { TableInfo } from '../manifest/edit.js';
import { FrozenMemtableIterator } from '../memtable/frozen.js';
import type { TableOptions } from '../sstable/index.js';
import { buildTable } from './build-table.js';

export interface FlushJob {
  dir: string;
  fileNumber: number;
  memory: SharedArrayBuffer | ArrayBuffer;
  tableOptions: TableOptions;
}

export function runFlush(fs: FileSystem, job: FlushJob): Promise<TableInfo> {
  return buildTable(fs, job.dir, job.fileNumber, new FrozenMemtableIterator(job.memory), job.tableOptions);
}
