/**
 * Managed versions, for callers with their own clock (a block height): a transaction may read
 * at a chosen version (`transaction({ readVersion })`) and commit at a chosen one
 * (`commit({ version })`), and the caller tells compaction, with `setDiscardVersion(v)`, below
 * which version history may be collected.
 *
 * Rules (each violation is ErrInvalidVersion):
 *  - a commit version is above every version written before it (checked in commit order in the
 *    commit queue, src/engine/commit.ts); versions may jump;
 *  - a read version lies between the history floor (engine.historyFloor: the discard version,
 *    or the highest floor a compaction used) and the last version written;
 *  - the discard version only grows and never passes the last version; it is persisted in the
 *    manifest, so a reopen (with or without `managedVersions`) keeps honouring it.
 */
import { ErrInvalidVersion } from '../api/errors.js';
import { VERSION_MAX } from '../codec/keys.js';
import { mapWriteError } from '../engine/commit.js';
import type { Engine } from '../engine/engine.js';

/** Throws unless `v` is a version number at all (a safe integer in 0..VERSION_MAX). */
export function versionArg(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= VERSION_MAX) {
    throw new ErrInvalidVersion(`${what} must be an integer from 0 to ${VERSION_MAX - 1}, got ${String(v)}`);
  }
  return v;
}

/** Checks that a transaction may read at `v`: history there is still complete. */
export function checkReadVersion(engine: Engine, v: number): void {
  if (v > engine.lastVersion) {
    throw new ErrInvalidVersion(`read version ${v} is above the last version written (${engine.lastVersion})`);
  }
  if (v < engine.historyFloor) {
    const why =
      engine.discardVersion === undefined
        ? 'compaction may have collected history below it (open with managedVersions: true to keep history until setDiscardVersion allows)'
        : `history at or below the discard version ${engine.discardVersion} may have been collected`;
    throw new ErrInvalidVersion(`read version ${v} is below ${engine.historyFloor}: ${why}`);
  }
}

/** Persists a new discard version (validated) and lets compaction use it. */
export async function setDiscardVersion(engine: Engine, v: number): Promise<void> {
  engine.checkOpen();
  if (engine.config.readOnly) throw new ErrInvalidVersion('setDiscardVersion on a read-only store');
  await engine.withManifest(async (m) => {
    const current = engine.discardVersion;
    if (v > engine.lastVersion) throw new ErrInvalidVersion(`discard version ${v} is above the last version written (${engine.lastVersion})`);
    if (current !== undefined && v < current) throw new ErrInvalidVersion(`discard version ${v} is below the current one (${current}); it only grows`);
    if (current === undefined && v < engine.historyFloor) {
      throw new ErrInvalidVersion(`discard version ${v} is below ${engine.historyFloor}, where compaction may already have collected history; open with managedVersions: true to keep history from the start`);
    }
    if (v === current) return;
    try {
      await m.applyAsync({ discardVersion: v, deleted: [], added: [] });
    } catch (err) {
      if (!m.broken) throw mapWriteError(err, 'writing the discard version to the manifest failed');
      throw engine.fail(err, 'writing the discard version to the manifest failed');
    }
    engine.discardVersion = v;
    // Reads below it are refused from now on, whether or not a compaction used it yet.
    if (v > engine.historyFloor) engine.historyFloor = v;
  });
  engine.compactor.schedule();
}

/** At open with `managedVersions`: keep all history from now on (discard version = history floor). */
export async function enableManagedVersions(engine: Engine): Promise<void> {
  if (engine.discardVersion !== undefined || engine.config.readOnly) return;
  await setDiscardVersion(engine, engine.historyFloor);
}
