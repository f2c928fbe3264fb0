/**
 * A snapshot pins a version: reads through it see the database as it was when it was taken,
 * whatever is written later. It pins versions, not the time: expiry (TTL) is judged when a read
 * runs, so an entry that expires after the snapshot was taken is invisible through it too (as
 * compaction may drop it). Release it when done (compaction keeps the history it needs).
 */
import type { Engine } from '../engine/engine.js';
import { ErrSnapshotReleased } from './errors.js';

export class Snapshot {
  /** The version this snapshot reads at. */
  readonly version: number;
  private engine: Engine | undefined;

  /** @internal */
  constructor(engine: Engine) {
    this.engine = engine;
    this.version = engine.acquireSnapshot();
  }

  /** @internal */
  versionFor(engine: Engine): number {
    if (this.engine === undefined) throw new ErrSnapshotReleased();
    if (this.engine !== engine) throw new RangeError('snapshot belongs to another database');
    return this.version;
  }

  get released(): boolean {
    return this.engine === undefined;
  }

  release(): void {
    this.engine?.releaseSnapshot(this.version);
    this.engine = undefined;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
