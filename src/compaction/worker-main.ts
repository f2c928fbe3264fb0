/**
 * Body of a background worker thread (Node). Receives jobs from worker-pool.ts — compactions,
 * and flushes of sealed memtables whose arena is a SharedArrayBuffer — runs the same code as
 * the inline path over its own NodeFileSystem handles, and posts back the tables' metadata. It never touches the manifest: the owning thread applies the edit.
 */
import { parentPort } from 'node:worker_threads';
import { initChecksum } from '../codec/checksum.js';
import { NodeFileSystem } from '../fs/node.js';
import { type CompactionJob, runCompaction } from './merge.js';
import { type FlushJob, runFlush } from './flush-job.js';

type Request = { id: number; kind: 'compact'; job: CompactionJob } | { id: number; kind: 'flush'; job: FlushJob };

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
