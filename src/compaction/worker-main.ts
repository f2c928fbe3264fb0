/**
 * Body of a compaction worker thread (Node). Receives jobs from worker-pool.ts, runs the same
 * `runCompaction` as the inline runner over its own NodeFileSystem handles, and posts back the
 * output tables' metadata. It never touches the manifest: the owning thread applies the edit.
 */
import { parentPort } from 'node:worker_threads';
import { initChecksum } from '../codec/checksum.js';
import { NodeFileSystem } from '../fs/node.js';
import { type CompactionJob, runCompaction } from './merge.js';

interface Request {
  id: number;
  job: CompactionJob;
}

const fs = new NodeFileSystem();
const ready = initChecksum();

parentPort!.on('message', (req: Request) => {
  void ready
    .then(() => runCompaction(fs, req.job))
    .then(
      (result) => parentPort!.postMessage({ id: req.id, result }),
      (e: unknown) => {
        const err = e as { message?: string; code?: string; name?: string };
        parentPort!.postMessage({ id: req.id, error: { message: err.message ?? String(e), code: err.code, name: err.name } });
      },
    );
});
