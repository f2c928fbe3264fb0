/**
 * sett for browsers and workers: no Node built-ins. Pass `fs` to `open()` (a MemoryFileSystem
 * today; the OPFS backend arrives with the browser work).
 */
import { openWith } from './api/open.js';
import type { DB } from './api/db.js';
import type { Options } from './api/options.js';

export * from './public.js';

/** Opens (or creates) the database at `options.path` on `options.fs`. */
export function open(options: Options): Promise<DB> {
  return openWith(options, undefined);
}
