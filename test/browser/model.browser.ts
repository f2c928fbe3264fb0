/**
 * The model test (#2) inside Chromium: seeded random operations compared with a sorted map,
 * with tiny memtables (4 KiB) and blocks (64 B) so flushes, rotations, stalls and manifest
 * rewrites happen every few dozen writes. Once on a local DB over OPFS in a worker, once through
 * the page's RemoteDB proxy (so chunked iterators, snapshots by id and packed batches are held to
 * the same model). See lib/model-run.ts for the operations.
 */
import { open, openInWorker } from '../../src/browser.js';
import { OpfsFileSystem } from '../../src/fs/opfs.js';
import { baseSeed, removeOpfsDir, test, uniqueDir } from './lib/t.js';
import { MODEL_OPTIONS, type ModelStore, runModel } from './lib/model-run.js';

test('worker', 'model: seeded operations on a local DB over OPFS match a sorted map (4 seeds)', async () => {
  const fs = new OpfsFileSystem();
  for (let i = 0; i < 4; i++) {
    const dir = uniqueDir('model');
    try {
      await runModel({
        seed: baseSeed() + i,
        steps: 500,
        label: 'local DB on OPFS',
        open: async () => (await open({ path: dir, fs, ...MODEL_OPTIONS, compression: i === 1 ? 'none' : 'snappy' })) as unknown as ModelStore,
      });
    } finally {
      fs.closeIdleFiles();
      await removeOpfsDir(dir);
    }
  }
});

test('page', 'model: seeded operations through the worker proxy (RemoteDB) match a sorted map', async () => {
  const dir = uniqueDir('model-proxy');
  try {
    await runModel({
      seed: baseSeed() + 100,
      steps: 500,
      label: 'RemoteDB via openInWorker',
      open: async () => (await openInWorker({ path: dir, worker: '/sett-worker.js', ...MODEL_OPTIONS })) as unknown as ModelStore,
    });
  } finally {
    await removeOpfsDir(dir);
  }
});
