/**
 * sett for browsers and workers: no Node built-ins.
 *
 * - In a dedicated Worker: `open({ path, fs: new OpfsFileSystem() })` runs the engine on the
 *   Origin Private File System, with the synchronous API (`getSync`, iterators) at full speed.
 * - On a page: `openInWorker({ path })` starts the engine host (dist/sett-worker.js) in a
 *   dedicated Worker and returns a `RemoteDB` with the same async API.
 * - Anywhere: `open({ path, fs: new MemoryFileSystem() })` for data that need not persist.
 */
import { openWith } from './api/open.js';
import type { DB } from './api/db.js';
import { ErrInvalidConfig } from './api/errors.js';
import type { Options } from './api/options.js';
import type { HostStorage } from './host/protocol.js';
import { connectWorker, type RemoteDB, type WorkerLike } from './host/proxy.js';

export * from './public.js';
export { OpfsFileSystem, opfsSupported, type OpfsFileSystemOptions } from './fs/opfs.js';
export { serveWorker } from './host/worker.js';
export { connectWorker, RemoteDB, RemoteBatch, RemoteIterator, RemoteSnapshot, type RemoteIteratorOptions, type RemoteReadOptions, type WorkerLike } from './host/proxy.js';

/** Opens (or creates) the database at `options.path` on `options.fs`. */
export function open(options: Options): Promise<DB> {
  return openWith(options, undefined);
}

export interface WorkerOpenOptions extends Omit<Options, 'fs'> {
  /**
   * The worker to run the engine in: a Worker running `serveWorker()` (it stays alive after
   * close), or the URL of such a script (a module worker is started and ended with the
   * database). Default: `sett-worker.js` next to this module.
   */
  worker?: WorkerLike | URL | string;
  /** 'opfs' (default): persistent, in the origin's private file system; 'memory': gone with the worker. */
  storage?: HostStorage;
}

/**
 * Opens (or creates) a database in a dedicated Worker and returns its proxy. One writer per
 * database across every tab and worker of the origin: a second opener gets ErrLocked.
 */
export async function openInWorker(options: WorkerOpenOptions): Promise<RemoteDB> {
  if (options === null || typeof options !== 'object') throw new ErrInvalidConfig('openInWorker() needs an options object with at least { path }');
  const { worker, storage, ...engineOptions } = options as WorkerOpenOptions & { fs?: unknown };
  if ('fs' in engineOptions) throw new ErrInvalidConfig('option fs cannot be passed to openInWorker: the worker opens OPFS itself (choose storage: "opfs" or "memory")');
  if (typeof Worker === 'undefined' && (worker === undefined || typeof worker === 'string' || worker instanceof URL)) {
    throw new ErrInvalidConfig('openInWorker() needs Worker support (a browser page or worker)');
  }
  let w: WorkerLike;
  let owned = false;
  if (worker === undefined || typeof worker === 'string' || worker instanceof URL) {
    w = new Worker(worker ?? new URL('./sett-worker.js', import.meta.url), { type: 'module', name: `sett ${String(options.path)}` });
    owned = true;
  } else {
    w = worker;
  }
  return connectWorker(w, engineOptions as Record<string, unknown>, storage ?? 'opfs', owned);
}
