/**
 * SQLite through better-sqlite3 12.x: WAL journal, prepared statements, one WITHOUT ROWID table
 * whose primary key is the BLOB key (the key-value layout SQLite recommends for small rows).
 */
import type { Engine, EngineFactory, OpenOptions } from './types.js';
import { importPeer, packageVersion } from './version.js';

interface Statement {
  run(...args: unknown[]): unknown;
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
  iterate(...args: unknown[]): IterableIterator<unknown>;
  pluck(on?: boolean): Statement;
  raw(on?: boolean): Statement;
}

interface Database {
  pragma(source: string): unknown;
  exec(source: string): void;
  prepare(source: string): Statement;
  transaction<A extends unknown[]>(fn: (...args: A) => void): Transaction<A>;
  close(): void;
}

/** A better-sqlite3 transaction function: BEGIN (DEFERRED) when called, `.immediate()` for BEGIN IMMEDIATE. */
type Transaction<A extends unknown[]> = ((...args: A) => void) & { immediate: (...args: A) => void };

type RmwArgs = [keys: readonly Buffer[], update: (values: (Uint8Array | undefined)[]) => Buffer[]];

type DatabaseCtor = new (path: string) => Database;

class SqliteEngine implements Engine {
  private readonly ins: Statement;
  private readonly sel: Statement;
  private readonly fwd: Statement;
  private readonly rev: Statement;
  private readonly from: Statement;
  private readonly many: (keys: readonly Buffer[], values: readonly Buffer[]) => void;
  private readonly rmw: Transaction<RmwArgs>;

  constructor(private readonly db: Database) {
    this.ins = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    this.sel = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
    this.fwd = db.prepare('SELECT k, v FROM kv ORDER BY k').raw();
    this.rev = db.prepare('SELECT k, v FROM kv ORDER BY k DESC').raw();
    this.from = db.prepare('SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?').raw();
    const ins = this.ins;
    this.many = db.transaction((keys: readonly Buffer[], values: readonly Buffer[]) => {
      for (let i = 0; i < keys.length; i++) ins.run(keys[i], values[i]);
    });
    const sel = this.sel;
    this.rmw = db.transaction((...[keys, update]: RmwArgs) => {
      const next = update(keys.map((k) => sel.get(k) as Buffer | undefined));
      for (let i = 0; i < keys.length; i++) ins.run(keys[i], next[i]);
    });
  }

  put(key: Buffer, value: Buffer): void {
    this.ins.run(key, value); // durability is the connection's `synchronous` pragma
  }

  putBatch(keys: readonly Buffer[], values: readonly Buffer[]): void {
    this.many(keys, values);
  }

  get(key: Buffer): Buffer | undefined {
    return this.sel.get(key) as Buffer | undefined;
  }

  transact(...args: RmwArgs): number {
    this.rmw.immediate(...args); // synchronous: one transaction at a time, no conflicts
    return 0;
  }

  async compactAll(): Promise<void> {
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  scan(reverse: boolean): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const row of (reverse ? this.rev : this.fwd).iterate()) {
      const [k, v] = row as [Buffer, Buffer];
      entries++;
      bytes += k.length + v.length;
    }
    return { entries, bytes };
  }

  seek(key: Buffer, n: number): number {
    return this.from.all(key, n).length;
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

export const sqlite: EngineFactory = {
  id: 'sqlite',
  label: `better-sqlite3 ${packageVersion('better-sqlite3')} (SQLite)`,
  apis: {
    put: 'INSERT OR REPLACE … .run(k, v)',
    batch: 'db.transaction(… .run(k, v) …)',
    get: 'SELECT v … WHERE k = ? .pluck().get(k)',
    scan: 'SELECT k, v … ORDER BY k .raw().iterate()',
    seek: 'SELECT … WHERE k >= ? ORDER BY k LIMIT 10 .raw().all()',
    txn: 'db.transaction(SELECT…, INSERT OR REPLACE…).immediate() (BEGIN IMMEDIATE)',
    compact: 'VACUUM; PRAGMA wal_checkpoint(TRUNCATE)',
  },
  durable: true,
  async open(dir: string, o: OpenOptions): Promise<Engine> {
    const Database = (await importPeer<{ default: DatabaseCtor }>('better-sqlite3')).default;
    const db = new Database(`${dir}/kv.sqlite`);
    db.pragma('journal_mode = WAL');
    // OFF: no fsync (as the other engines with sync off); FULL: the WAL is synced at each commit.
    db.pragma(`synchronous = ${o.sync ? 'FULL' : 'OFF'}`);
    db.pragma(`cache_size = -${Math.floor(o.cacheBytes / 1024)}`);
    db.exec('CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
    return new SqliteEngine(db);
  },
};
