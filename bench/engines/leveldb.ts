/** LevelDB through classic-level (abstract-level API, native binding with prebuilt binaries). */
import type { Engine, EngineFactory, OpenOptions } from './types.js';
import { importPeer, packageVersion } from './version.js';

interface LevelIterator {
  nextv(size: number): Promise<[Buffer, Buffer][]>;
  close(): Promise<void>;
}

interface ClassicLevel {
  open(): Promise<void>;
  put(key: Buffer, value: Buffer, options?: { sync: boolean }): Promise<void>;
  batch(ops: { type: 'put'; key: Buffer; value: Buffer }[]): Promise<void>;
  getSync(key: Buffer): Buffer | undefined;
  iterator(options: { gte?: Buffer; limit?: number; reverse?: boolean }): LevelIterator;
  close(): Promise<void>;
}

interface ClassicLevelModule {
  ClassicLevel: new (location: string, options: Record<string, unknown>) => ClassicLevel;
}

const SCAN_CHUNK = 1000;

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

  async scan(reverse: boolean): Promise<{ entries: number; bytes: number }> {
    const it = this.db.iterator({ reverse });
    let entries = 0;
    let bytes = 0;
    for (;;) {
      const chunk = await it.nextv(SCAN_CHUNK);
      if (chunk.length === 0) break;
      for (const [k, v] of chunk) bytes += k.length + v.length;
      entries += chunk.length;
    }
    await it.close();
    return { entries, bytes };
  }

  async seek(key: Buffer, n: number): Promise<number> {
    const it = this.db.iterator({ gte: key, limit: n });
    const got = await it.nextv(n);
    await it.close();
    return got.length;
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
