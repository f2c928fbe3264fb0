/**
 * The Web Lock behind OpfsFileSystem.lock (one writer per database across every tab and worker
 * of an origin): `sett:<directory>`, taken only if free (never queued behind another holder),
 * held until released or until the context holding it ends (the browser drops it then).
 * Where navigator.locks is missing, an in-process table stands in (it covers this worker only).
 */
import { toFsError } from './opfs-file.js';

/** Prefix of the Web Lock names: `sett:<normalized directory>`. */
export const lockNamePrefix = 'sett:';

interface LockManagerLike {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
}

function lockManager(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks;
}

/** A held Web Lock; `release()` lets the browser hand it to the next requester. */
export interface HeldLock {
  release(): Promise<void>;
}

/** In-process fallback where navigator.locks is missing (it covers this worker only). */
const localLocks = new Map<string, { mode: 'exclusive' | 'shared'; count: number }>();

/** Takes Web Lock `sett:<dir>` if it is free (undefined if not): never waits for another holder. */
export async function takeWebLock(dir: string, mode: 'exclusive' | 'shared'): Promise<HeldLock | undefined> {
  const name = `${lockNamePrefix}${dir}`;
  const locks = lockManager();
  if (locks === undefined) {
    const held = localLocks.get(name);
    if (held !== undefined && (mode === 'exclusive' || held.mode === 'exclusive')) return undefined;
    if (held === undefined) localLocks.set(name, { mode, count: 1 });
    else held.count++;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        const h = localLocks.get(name);
        if (h !== undefined && --h.count === 0) localLocks.delete(name);
      },
    };
  }
  let releaseHold!: () => void;
  const hold = new Promise<void>((resolve) => {
    releaseHold = resolve;
  });
  return new Promise<HeldLock | undefined>((resolve, reject) => {
    const done: Promise<void> = locks.request(name, { mode, ifAvailable: true }, async (lock) => {
      if (lock === null) {
        resolve(undefined);
        return;
      }
      let released = false;
      resolve({
        release: async () => {
          if (released) return;
          released = true;
          releaseHold();
          await done;
        },
      });
      await hold;
    });
    // A request that fails before deciding (e.g. a SecurityError in an opaque origin).
    done.catch((e: unknown) => reject(toFsError(e, dir, 'lock')));
  });
}
