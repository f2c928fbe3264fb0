/** A worker's databases (fresh directories under its root) and the write-side meter. */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, EngineFactory, OpenOptions, SettCounters } from '../engines/types.js';
import { diskBytes, processWriteBytes, round } from './measure.js';
import type { WorkloadResult } from './types.js';

export class Session {
  private seq = 0;
  constructor(
    readonly factory: EngineFactory,
    readonly root: string,
    readonly base: Omit<OpenOptions, 'sync'>,
  ) {}

  async open(sync = false): Promise<{ engine: Engine; dir: string }> {
    const dir = join(this.root, `db${++this.seq}`);
    mkdirSync(dir, { recursive: true });
    const engine = await this.factory.open(dir, { ...this.base, sync });
    return { engine, dir };
  }

  /** Closes the database (unless `closed`) and removes its directory. */
  async drop(db: { engine: Engine; dir: string }, closed = false): Promise<void> {
    if (!closed) await db.engine.close();
    rmSync(db.dir, { recursive: true, force: true });
  }
}

/** Write-side figures after a write workload: disk use and write amplification. */
export class WriteMeter {
  private readonly before: SettCounters | undefined;
  private readonly io0: number | undefined;
  private readonly tables0: number | undefined;

  constructor(private readonly db: { engine: Engine; dir: string }) {
    this.before = db.engine.counters?.();
    this.io0 = processWriteBytes();
    this.tables0 = db.engine.tableBytesWritten?.();
  }

  /** Adds disk use, space amplification and write amplification (since construction) to `r`. */
  finish(r: WorkloadResult, liveUserBytes: number, durable: boolean): WorkloadResult {
    const written = r.userBytes;
    const b = this.before;
    const c = this.db.engine.counters?.();
    if (b !== undefined && c !== undefined) {
      const engineBytes = c.walBytes + c.flushBytes + c.compactionBytes - (b.walBytes + b.flushBytes + b.compactionBytes);
      r.writeAmp = round(engineBytes / written, 3);
      r.extra = {
        ...r.extra,
        compactionBytes: c.compactionBytes - b.compactionBytes,
        tables: c.tables,
        l0Tables: c.l0Tables,
        stalls: c.stalls - b.stalls,
        stallMs: c.stallMs - b.stallMs,
        walSyncs: c.walSyncs - b.walSyncs,
        walGroups: c.walGroups - b.walGroups,
      };
    }
    const tables1 = this.db.engine.tableBytesWritten?.();
    if (this.tables0 !== undefined && tables1 !== undefined) r.extra = { ...r.extra, tableWriteAmp: round((tables1 - this.tables0) / written, 3) };
    const io1 = processWriteBytes();
    if (durable && this.io0 !== undefined && io1 !== undefined) r.ioWriteAmp = round((io1 - this.io0) / written, 3);
    if (durable) {
      r.diskBytes = diskBytes(this.db.dir);
      r.spaceAmp = round(r.diskBytes / liveUserBytes, 3);
    }
    return r;
  }
}
