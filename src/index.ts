/**
 * sett for Node.js: `open()` defaults to the real file system.
 */
import { openWith } from './api/open.js';
import type { DB } from './api/db.js';
import type { Options } from './api/options.js';
import { NodeFileSystem } from './fs/node.js';
import { workerPoolRunner } from './compaction/worker-pool.js';

export * from './public.js';
export { NodeFileSystem } from './fs/node.js';

/** Opens (or creates) the database at `options.path`. */
export function open(options: Options): Promise<DB> {
  return openWith(
    options,
    () => new NodeFileSystem(),
    (config) => (config.compactionWorkers > 0 && !config.readOnly ? workerPoolRunner(config.compactionWorkers) : undefined),
  );
}
