/** LevelDB through classic-level (abstract-level API, native binding with prebuilt binaries). */
import type { Engine, EngineFactory, OpenOptions } from './types.js';
import { importPeer, packageVersion } from './version.js';
import { type LevelIterator, scanLevel, seekLevel } from './abstract-level.js';


interface ClassicLevel {
  open(): Promise<void>;
  put(key: Buffer, value: Buffer, options?: { sync: boolean }): Promise<void>;
  batch(ops: { type: 'put'; key: Buffer; value: Buffer }[]): Promise<void>;
  getSync(key: Buffer): Buffer | undefined;
  iterator(options: { gte?: Buffer; limit?: number; reverse?: boolean }): LevelIterator;
  compactRange(start: Buffer, end: Buffer): Promise<void>;
  getProperty(property: string): string;
  close(): Promise<void>;
}

/** Below and above every benchmark key (16 ASCII digits). */
const ALL_KEYS: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.from([0xff])];
const MIB = 1024 * 1024;

interface ClassicLevelModule {
  ClassicLevel: new (location: string, options: Record<string, unknown>) => ClassicLevel;
}

class LevelEngine implements Engine {
  constructor(private readonly db: ClassicLevel) {}

  put(key: Buffer, value: Buffer, sync: boolean): Promise<void> {
    return sync ? this.db.put(key, value, { sync: true }) : this.db.put(key, value);
  }

  putBatch(keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> {
    const ops = new Array<{ type: 'put'; key: Buffer; value: Buffer }>(keys.length);
    for (let i = 0; i < keys.length; i++) ops[i] = { type: 'put', key: keys[i]!, value: values[i]! };
    return this.db.batch(ops);
  }

  get(key: Buffer): Buffer | undefined {
    return this.db.getSync(key);
  }

  scan(reverse: boolean): Promise<{ entries: number; bytes: number }> {
    return scanLevel(this.db, reverse);
  }

  seek(key: Buffer, n: number): Promise<number> {
    return seekLevel(this.db, key, n);
  }

  compactAll(): Promise<void> {
    return this.db.compactRange(...ALL_KEYS);
  }

  /** Sum of the Write(MB) column of `leveldb.stats` (flushes count at the level they go to). */
  tableBytesWritten(): number {
    let mb = 0;
    for (const line of this.db.getProperty('leveldb.stats').split('\n')) {
      const cols = line.trim().split(/\s+/).map(Number);
      if (cols.length === 6 && cols.every(Number.isFinite)) mb += cols[5]!;
    }
    return mb * MIB;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const leveldb: EngineFactory = {
  id: 'leveldb',
  label: `classic-level ${packageVersion('classic-level')} (LevelDB)`,
  apis: {
    put: 'db.put(k, v, { sync })',
    batch: 'db.batch([{ type: "put", … }])',
    get: 'db.getSync(k)',
    scan: 'iterator({ reverse }).nextv(1000)',
    seek: 'iterator({ gte: k, limit: 10 }).nextv(10)',
    compact: 'await db.compactRange("", "\\xff")',
  },
  durable: true,
  async open(dir: string, o: OpenOptions): Promise<Engine> {
    const { ClassicLevel } = await importPeer<ClassicLevelModule>('classic-level');
    const db = new ClassicLevel(dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      compression: true,
      cacheSize: o.cacheBytes,
      writeBufferSize: o.memtableBytes,
    });
    await db.open();
    return new LevelEngine(db);
  },
};
