/** LMDB through lmdb-js (prebuilt binaries shipped as @lmdb/lmdb-<platform> packages). */
import type { Engine, EngineFactory, OpenOptions } from './types.js';
import { importPeer, packageVersion } from './version.js';

interface RangeOptions {
  start?: Buffer;
  reverse?: boolean;
  limit?: number;
}

interface LmdbDatabase {
  put(key: Buffer, value: Buffer): Promise<boolean>;
  transaction(fn: () => void): Promise<unknown>;
  get(key: Buffer): Buffer | undefined;
  getRange(options: RangeOptions): Iterable<{ key: Buffer; value: Buffer }>;
  close(): Promise<void>;
}

interface LmdbModule {
  open(options: Record<string, unknown>): LmdbDatabase;
}

class LmdbEngine implements Engine {
  constructor(private readonly db: LmdbDatabase) {}

  async put(key: Buffer, value: Buffer): Promise<void> {
    await this.db.put(key, value); // durability is a property of the open (noSync or not)
  }

  async putBatch(keys: readonly Buffer[], values: readonly Buffer[]): Promise<void> {
    const db = this.db;
    await db.transaction(() => {
      for (let i = 0; i < keys.length; i++) void db.put(keys[i]!, values[i]!);
    });
  }

  get(key: Buffer): Buffer | undefined {
    return this.db.get(key);
  }

  async transact(keys: readonly Buffer[], update: (values: (Uint8Array | undefined)[]) => Buffer[]): Promise<number> {
    // Write transactions are serialized: reads inside see the latest state, nothing conflicts.
    const db = this.db;
    await db.transaction(() => {
      const next = update(keys.map((k) => db.get(k)));
      for (let i = 0; i < keys.length; i++) void db.put(keys[i]!, next[i]!);
    });
    return 0;
  }

  scan(reverse: boolean): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const { key, value } of this.db.getRange({ reverse })) {
      entries++;
      bytes += key.length + value.length;
    }
    return { entries, bytes };
  }

  seek(key: Buffer, n: number): number {
    let got = 0;
    for (const _ of this.db.getRange({ start: key, limit: n })) got++;
    return got;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const lmdb: EngineFactory = {
  id: 'lmdb',
  label: `lmdb ${packageVersion('lmdb')}`,
  apis: {
    put: 'await db.put(k, v)',
    batch: 'db.transaction(() => db.put(k, v)…)',
    get: 'db.get(k)',
    scan: 'db.getRange({ reverse })',
    seek: 'db.getRange({ start: k, limit: 10 })',
    txn: 'await db.transaction(() => { db.get(k)…; db.put(k, v)… }) (serialized)',
  },
  durable: true,
  async open(dir: string, o: OpenOptions): Promise<Engine> {
    const { open } = await importPeer<LmdbModule>('lmdb');
    const db = open({
      path: dir,
      keyEncoding: 'binary',
      encoding: 'binary',
      compression: false,
      cache: false,
      // Sync off: no fsync at all. Sync on: each commit is flushed before its promise resolves
      // (overlappingSync would resolve at commit and flush later).
      noSync: !o.sync,
      overlappingSync: false,
    });
    return new LmdbEngine(db);
  },
};
