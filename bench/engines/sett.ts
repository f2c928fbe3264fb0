/** sett itself, from its TypeScript sources (the worker runs under tsx). */
import { ErrorCode, open, type DB } from '../../src/index.js';
import type { Engine, EngineFactory, OpenOptions, SettCounters } from './types.js';
import { settVersion } from './version.js';

const SETTLE_MS_MAX = 120_000;

class SettEngine implements Engine {
  constructor(private readonly db: DB) {}

  put(key: Buffer, value: Buffer, sync: boolean): Promise<void> {
    return this.db.put(key, value, sync ? { sync: true } : undefined);
  }

  putBatch(keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> {
    const b = this.db.batch();
    for (let i = 0; i < keys.length; i++) b.put(keys[i]!, values[i]!);
    return b.write();
  }

  get(key: Buffer): Uint8Array | undefined {
    return this.db.getSync(key);
  }

  scan(reverse: boolean): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const [k, v] of this.db.iterator({ reverse })) {
      entries++;
      bytes += k.length + v.length;
    }
    return { entries, bytes };
  }

  seek(key: Buffer, n: number): number {
    // DBIterator has no seek(): a bounded iterator per seek is the way to do it today.
    const it = this.db.iterator({ gte: key, limit: n });
    let got = 0;
    for (let e = it.nextSync(); e !== undefined; e = it.nextSync()) got++;
    it.closeSync();
    return got;
  }

  async transact(keys: readonly Buffer[], update: (values: (Uint8Array | undefined)[]) => Buffer[], sync: boolean): Promise<number> {
    // Retried at once on ErrConflict (db.update() would also pause up to min(2^attempt, 64) ms).
    for (let retries = 0; ; retries++) {
      const t = this.db.transaction();
      try {
        const next = update(keys.map((k) => t.getSync(k)));
        for (let i = 0; i < keys.length; i++) t.put(keys[i]!, next[i]!);
        await t.commit(sync ? { sync: true } : undefined);
        return retries;
      } catch (e) {
        t.rollback();
        if ((e as { code?: unknown }).code !== ErrorCode.Conflict) throw e;
      }
    }
  }

  compactAll(): Promise<void> {
    return this.db.flatten();
  }

  tableBytesWritten(): number {
    const c = this.db.stats().counters;
    return c.flushBytes + c.compactionBytesWritten;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async settle(): Promise<number> {
    // Flush results (and, with compactionWorkers 0, the flush itself) are handled between
    // event-loop turns: give it turns until no sealed memtable is left (the active memtable
    // stays, as every engine keeps its own).
    const t = performance.now();
    while (this.db.stats().memtables.immutable > 0 && performance.now() - t < SETTLE_MS_MAX) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return performance.now() - t;
  }

  counters(): SettCounters {
    const s = this.db.stats();
    return {
      walBytes: s.counters.walBytes,
      flushBytes: s.counters.flushBytes,
      compactionBytes: s.counters.compactionBytesWritten,
      tableBytes: s.tableBytes,
      tables: s.tables,
      l0Tables: s.levels[0]?.tables ?? 0,
      stallMs: s.counters.stallMs,
      stalls: s.counters.stalls,
      walSyncs: s.counters.walSyncs,
      walGroups: s.counters.walGroups,
    };
  }
}

export const sett: EngineFactory = {
  id: 'sett',
  label: `sett ${settVersion()}`,
  apis: {
    put: 'db.put(k, v, { sync })',
    batch: 'db.batch().put(k, v)….write()',
    get: 'db.getSync(k)',
    scan: 'for (… of db.iterator({ reverse }))',
    seek: 'db.iterator({ gte: k, limit: 10 }).nextSync()',
    txn: 'db.transaction(): getSync, put, await commit({ sync }); retried at once on ErrConflict',
    compact: 'await db.flatten()',
  },
  durable: true,
  async open(dir: string, o: OpenOptions): Promise<Engine> {
    const db = await open({ path: dir, memtableSize: o.memtableBytes, blockCacheSize: o.cacheBytes, compression: 'snappy' });
    return new SettEngine(db);
  },
};
