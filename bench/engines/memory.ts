/** memory-level: abstract-level over a red-black tree in memory, the in-memory reference. */
import type { Engine, EngineFactory } from './types.js';
import { importPeer, packageVersion } from './version.js';
import { type LevelIterator, scanLevel, seekLevel } from './abstract-level.js';


interface MemoryLevel {
  open(): Promise<void>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  batch(ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[]): Promise<void>;
  getSync(key: Uint8Array): Uint8Array | undefined;
  iterator(options: { gte?: Uint8Array; limit?: number; reverse?: boolean }): LevelIterator;
  close(): Promise<void>;
}

interface MemoryLevelModule {
  MemoryLevel: new (options: Record<string, unknown>) => MemoryLevel;
}

class MemoryEngine implements Engine {
  constructor(private readonly db: MemoryLevel) {}

  // Values are views into the benchmark's shared pool; every other engine copies what it
  // stores, so the in-memory reference copies too (otherwise it would keep no value bytes).
  put(key: Buffer, value: Buffer): Promise<void> {
    return this.db.put(key, new Uint8Array(value));
  }

  putBatch(keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> {
    const ops = new Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }>(keys.length);
    for (let i = 0; i < keys.length; i++) ops[i] = { type: 'put', key: keys[i]!, value: new Uint8Array(values[i]!) };
    return this.db.batch(ops);
  }

  get(key: Buffer): Uint8Array | undefined {
    return this.db.getSync(key);
  }

  scan(reverse: boolean): Promise<{ entries: number; bytes: number }> {
    return scanLevel(this.db, reverse);
  }

  seek(key: Buffer, n: number): Promise<number> {
    return seekLevel(this.db, key, n);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const memory: EngineFactory = {
  id: 'memory',
  label: `memory-level ${packageVersion('memory-level')}`,
  apis: {
    put: 'db.put(k, v)',
    batch: 'db.batch([{ type: "put", … }])',
    get: 'db.getSync(k)',
    scan: 'iterator({ reverse }).nextv(1000)',
    seek: 'iterator({ gte: k, limit: 10 }).nextv(10)',
  },
  durable: false,
  async open(): Promise<Engine> {
    const { MemoryLevel } = await importPeer<MemoryLevelModule>('memory-level');
    // 'view' keeps Uint8Arrays as they are (no copy into a string or a new Buffer).
    const db = new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new MemoryEngine(db);
  },
};
