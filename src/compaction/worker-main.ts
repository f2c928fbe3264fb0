/**
 * Body of a background worker thread (Node). Receives jobs from worker-pool.ts — compactions,
 * and flushes of sealed memtables whose arena is a SharedArrayBuffer — runs the same code as
 * the inline path over its own NodeFileSystem handles, and posts back the tables' metadata. It
 * never touches the manifest: the owning thread applies the edit.
 *
 * The thread lowers its own CPU priority (`workerData.nice`; on Linux the nice value belongs to
 * the thread), as RocksDB lowers its compaction pool's: on a machine with few cores, background
 * merges then take the CPU the engine's thread leaves idle instead of preempting it, so reads
 * and commits keep their latency. Stalls (counted in stats) bound how far behind it may fall.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { initChecksum } from '../codec/checksum.js';
import { NodeFileSystem } from '../fs/node.js';
import { type CompactionJob, runCompaction } from './merge.js';
import { type FlushJob, runFlush } from './flush-job.js';

type Request = { id: number; kind: 'compact'; job: CompactionJob } | { id: number; kind: 'flush'; job: FlushJob };

const nice = (workerData as { nice?: number } | undefined)?.nice ?? 0;
try {
  if (nice !== 0) setPriority(nice);
} catch {
  // Not permitted (or not supported) here: run at normal priority.
}

const fs = new NodeFileSystem();
const ready = initChecksum();

parentPort!.on('message', (req: Request) => {
  void ready
    .then((): Promise<unknown> => (req.kind === 'flush' ? runFlush(fs, req.job) : runCompaction(fs, req.job)))
    .then(
      (result) => parentPort!.postMessage({ id: req.id, result }),
      (e: unknown) => {
        const err = e as { message?: string; code?: string; name?: string };
        parentPort!.postMessage({ id: req.id, error: { message: err.message ?? String(e), code: err.code, name: err.name } });
      },
    );
});
