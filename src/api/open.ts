import { openEngine } from '../engine/recovery.js';
import type { FileSystem } from '../fs/types.js';
import { DB } from './db.js';
import { ErrInvalidConfig } from './errors.js';
import { type Config, normalizeOptions, type Options } from './options.js';
import type { CompactionRunner } from '../engine/compactor.js';
import { enableManagedVersions } from '../txn/managed.js';

/**
 * Opens (or creates) a database. `defaultFs` is the platform's file system, supplied by the
 * package entry point (Node: the real file system; browser: none, pass `fs`).
 */
export async function openWith(
  options: Options,
  defaultFs: (() => FileSystem) | undefined,
  runnerFor?: (config: Config) => CompactionRunner | undefined,
): Promise<DB> {
  const { config, fs } = normalizeOptions(options);
  const chosen = fs ?? defaultFs?.();
  if (chosen === undefined) throw new ErrInvalidConfig('option fs is required on this platform (e.g. a MemoryFileSystem or the OPFS backend)');
  const engine = await openEngine(config, chosen, runnerFor?.(config));
  if (config.managedVersions) {
    try {
      await enableManagedVersions(engine);
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
  }
  return new DB(engine);
}
