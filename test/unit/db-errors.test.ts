/**
 * Bad input, misuse and damaged files: each gets its named error (`err.code`), and what is
 * stored stays intact. Damage is found by checksums and reported as ErrCorruption naming the
 * file, never a silently wrong answer; a torn WAL tail (a crash during an unsynced append) is
 * not damage and is cut.
 */
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import type { Options } from '../../src/api/options.js';
import { fromUtf8, getU32, getU64, utf8 } from '../../src/codec/bytes.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { TINY } from '../helpers/db.js';
import { HookFileSystem } from '../helpers/hook-fs.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function codeOf(e: unknown): string {
  return (e as { code?: string }).code ?? `${(e as Error).name}: ${(e as Error).message}`;
}

/** `fn` must return a promise (never throw synchronously) that rejects with `code`. */
async function rejectsWith(fn: () => unknown, code: string, what: string): Promise<unknown> {
  let p: unknown;
  try {
    p = fn();
  } catch (e) {
    expect.fail(`${what}: threw synchronously (${codeOf(e)}) instead of returning a rejected promise`);
  }
  expect(p, `${what}: should return a promise`).toBeInstanceOf(Promise);
  try {
    await p;
  } catch (e) {
    expect(codeOf(e), what).toBe(code);
    return e;
  }
  return expect.fail(`${what}: resolved, expected ${code}`);
}

function throwsWith(fn: () => unknown, code: string, what: string): unknown {
  try {
    fn();
  } catch (e) {
    expect(codeOf(e), what).toBe(code);
    return e;
  }
  return expect.fail(`${what}: did not throw, expected ${code}`);
}

async function dump(db: DB): Promise<string[]> {
  return (await db.iterator().all()).map(([k, v]) => `${fromUtf8(k)}=${fromUtf8(v)}`);
}

async function openDump(fs: MemoryFileSystem, extra: Partial<Options> = {}): Promise<string[]> {
  const db = await open({ path: '/db', fs, ...extra });
  try {
    return await dump(db);
  } finally {
    await db.close();
  }
}

async function openError(fs: MemoryFileSystem, extra: Partial<Options> = {}): Promise<{ code: string; file: string | undefined; message: string }> {
  try {
    const db = await open({ path: '/db', fs, ...extra });
    const all = await dump(db);
    await db.close();
    return expect.fail(`open succeeded, reading ${all.length} entries`);
  } catch (e) {
    return { code: codeOf(e), file: (e as { file?: string }).file, message: (e as Error).message };
  }
}

function files(fs: MemoryFileSystem, suffix: string): string[] {
  return fs.listAllSync().filter((p) => p.endsWith(suffix) || p.split('/').pop()!.startsWith(suffix));
}

/** A byte-for-byte copy of a file system's current state. */
function copyOf(fs: MemoryFileSystem): MemoryFileSystem {
  return fs.crashClone({ seed: 0, keepUnsynced: 'all' });
}

/** Offsets at which the records of a log file (WAL or manifest) start; [0] is the header. */
function recordOffsets(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos + 9 <= data.length; pos += 9 + getU32(data, pos + 4)) out.push(pos);
  return out;
}

const KEYS = Array.from({ length: 10 }, (_, i) => `key${i}`);

async function seeded(extra: Partial<Options> = {}): Promise<{ db: DB; fs: MemoryFileSystem }> {
  const fs = new MemoryFileSystem();
  const db = await open({ path: '/db', fs, ...extra });
  for (const k of KEYS) await db.put(k, `value of ${k}`);
  return { db, fs };
}

const SEEDED = KEYS.map((k) => `${k}=value of ${k}`);

// ---------------------------------------------------------------------------------------------

describe('bad keys and values', () => {
  it('an empty key is ErrInvalidKey for every call that takes a key, and nothing changes', async () => {
    const { db } = await seeded();
    for (const empty of ['', new Uint8Array(0)]) {
      await rejectsWith(() => db.put(empty, 'v'), 'ErrInvalidKey', 'put');
      await rejectsWith(() => db.get(empty), 'ErrInvalidKey', 'get');
      await rejectsWith(() => db.has(empty), 'ErrInvalidKey', 'has');
      await rejectsWith(() => db.delete(empty), 'ErrInvalidKey', 'delete');
      await rejectsWith(() => db.getMany(['key1', empty]), 'ErrInvalidKey', 'getMany');
      await rejectsWith(() => db.getOrThrow(empty), 'ErrInvalidKey', 'getOrThrow');
      await rejectsWith(() => db.batch([{ type: 'put', key: empty, value: 'v' }]), 'ErrInvalidKey', 'batch(ops) put');
      await rejectsWith(() => db.batch([{ type: 'del', key: empty }]), 'ErrInvalidKey', 'batch(ops) del');
      throwsWith(() => db.getSync(empty), 'ErrInvalidKey', 'getSync');
      throwsWith(() => db.hasSync(empty), 'ErrInvalidKey', 'hasSync');
      throwsWith(() => db.batch().put(empty, 'v'), 'ErrInvalidKey', 'chained batch put');
      throwsWith(() => db.batch().delete(empty), 'ErrInvalidKey', 'chained batch delete');
    }
    expect(await dump(db)).toEqual(SEEDED);
    await db.close();
  });

  it('a key longer than keyBytesMax is ErrInvalidKey; one of exactly keyBytesMax is fine', async () => {
    const { db } = await seeded({ keyBytesMax: 8 });
    await rejectsWith(() => db.put('123456789', 'v'), 'ErrInvalidKey', 'put of 9 bytes');
    await rejectsWith(() => db.put(new Uint8Array(9).fill(0x61), 'v'), 'ErrInvalidKey', 'put of 9 bytes (Uint8Array)');
    // 'é' is two bytes in UTF-8: the limit is in bytes, not characters.
    await rejectsWith(() => db.put('ééééé', 'v'), 'ErrInvalidKey', 'put of 5 characters, 10 bytes');
    await rejectsWith(() => db.delete('123456789'), 'ErrInvalidKey', 'delete');
    throwsWith(() => db.getSync('123456789'), 'ErrInvalidKey', 'getSync');
    throwsWith(() => db.batch().put('123456789', 'v'), 'ErrInvalidKey', 'chained batch put');
    await db.put('12345678', 'max');
    expect(fromUtf8(db.getSync('12345678')!)).toBe('max');
    expect(await dump(db)).toEqual([...SEEDED.slice(0, 0), '12345678=max', ...SEEDED].sort());
    await db.close();
  });

  it('a value larger than valueBytesMax is ErrValueTooLarge; one of exactly valueBytesMax is fine', async () => {
    const { db } = await seeded({ valueBytesMax: 100 });
    await rejectsWith(() => db.put('big', new Uint8Array(101)), 'ErrValueTooLarge', 'put');
    await rejectsWith(() => db.put('big', 'x'.repeat(101)), 'ErrValueTooLarge', 'put (string)');
    await rejectsWith(() => db.batch([{ type: 'put', key: 'big', value: new Uint8Array(101) }]), 'ErrValueTooLarge', 'batch(ops)');
    throwsWith(() => db.batch().put('big', new Uint8Array(101)), 'ErrValueTooLarge', 'chained batch put');
    expect(await db.get('big')).toBeUndefined();
    await db.put('big', new Uint8Array(100).fill(7));
    expect(db.getSync('big')!.length).toBe(100);
    await db.close();
  });

  it('a batch larger than a memtable is applied whole, in a memtable of its own size', async () => {
    const { db, fs } = await seeded(TINY);
    const ops = Array.from({ length: 40 }, (_, i) => ({ type: 'put' as const, key: `b${i}`, value: 'x'.repeat(200) }));
    await db.batch(ops);
    for (const op of ops) expect(db.hasSync(op.key)).toBe(true);
    await db.close();
    const again = await open({ path: '/db', fs, ...TINY });
    for (const op of ops) expect(again.hasSync(op.key)).toBe(true);
    await again.close();
  });

  const NOT_BYTES: [string, unknown][] = [
    ['a number', 42],
    ['an object', { key: 'a' }],
    ['null', null],
    ['undefined', undefined],
    ['an array of bytes', [97, 98]],
    ['a boolean', true],
    ['an ArrayBuffer', new ArrayBuffer(2)],
  ];

  it('a key that is not bytes or a string is ErrInvalidKey', async () => {
    const { db } = await seeded();
    for (const [what, key] of NOT_BYTES) {
      const k = key as string;
      await rejectsWith(() => db.put(k, 'v'), 'ErrInvalidKey', `put with ${what}`);
      await rejectsWith(() => db.get(k), 'ErrInvalidKey', `get with ${what}`);
      await rejectsWith(() => db.has(k), 'ErrInvalidKey', `has with ${what}`);
      await rejectsWith(() => db.delete(k), 'ErrInvalidKey', `delete with ${what}`);
      await rejectsWith(() => db.batch([{ type: 'put', key: k, value: 'v' }]), 'ErrInvalidKey', `batch with ${what}`);
      throwsWith(() => db.getSync(k), 'ErrInvalidKey', `getSync with ${what}`);
      throwsWith(() => db.batch().put(k, 'v'), 'ErrInvalidKey', `chained batch with ${what}`);
      // An undefined bound is no bound.
      if (key !== undefined) throwsWith(() => db.iterator({ gte: k }), 'ErrInvalidKey', `iterator bound with ${what}`);
    }
    expect(await dump(db)).toEqual(SEEDED);
    await db.close();
  });

  it('a value that is not bytes or a string is ErrInvalidValue', async () => {
    const { db } = await seeded();
    for (const [what, value] of NOT_BYTES) {
      const v = value as string;
      await rejectsWith(() => db.put('key1', v), 'ErrInvalidValue', `put with ${what}`);
      await rejectsWith(() => db.batch([{ type: 'put', key: 'key1', value: v }]), 'ErrInvalidValue', `batch with ${what}`);
      throwsWith(() => db.batch().put('key1', v), 'ErrInvalidValue', `chained batch with ${what}`);
    }
    expect(await dump(db)).toEqual(SEEDED);
    await db.close();
  });

  it('one bad operation rejects the whole batch before anything is written', async () => {
    const { db } = await seeded();
    const ops = [
      { type: 'put' as const, key: 'new1', value: 'v' },
      { type: 'del' as const, key: 'key1' },
      { type: 'put' as const, key: 'new2', value: 42 as unknown as string },
    ];
    await rejectsWith(() => db.batch(ops), 'ErrInvalidValue', 'batch with a bad value last');
    await expect(db.batch([{ type: 'put', key: 'new1', value: 'v' }, { type: 'merge' } as never])).rejects.toBeInstanceOf(TypeError);
    expect(await dump(db)).toEqual(SEEDED);
    await db.close();
  });

  it('bad iterator options: gt with gte, lt with lte and a fractional limit are RangeErrors', async () => {
    const { db } = await seeded();
    expect(() => db.iterator({ gt: 'a', gte: 'a' })).toThrow(RangeError);
    expect(() => db.iterator({ lt: 'a', lte: 'a' })).toThrow(RangeError);
    expect(() => db.iterator({ limit: 1.5 })).toThrow(RangeError);
    expect(db.stats().iterators).toBe(0);
    await db.close();
  });

  it('input buffers are copied: reusing them after the call changes nothing stored', async () => {
    const { db } = await seeded();
    const k = utf8('reused');
    const v = utf8('original');
    const pending = db.put(k, v);
    k.fill(0x7a);
    v.fill(0x7a);
    await pending;
    expect(fromUtf8(db.getSync('reused')!)).toBe('original');
    const got = db.getSync('reused')!;
    got.fill(0);
    expect(fromUtf8(db.getSync('reused')!)).toBe('original');
    await db.close();
  });
});

describe('use after close', () => {
  it('every method of a closed store fails with ErrStoreClosed; close() again is a no-op', async () => {
    const { db, fs } = await seeded();
    const chained = db.batch().put('pending', 'v');
    const another = db.batch();
    const snapshot = db.snapshot();
    await db.close();
    expect(db.closed).toBe(true);
    const C = 'ErrStoreClosed';
    await rejectsWith(() => db.put('a', 'b'), C, 'put');
    await rejectsWith(() => db.get('key1'), C, 'get');
    await rejectsWith(() => db.get('key1', { snapshot }), C, 'get with a snapshot');
    await rejectsWith(() => db.has('key1'), C, 'has');
    await rejectsWith(() => db.delete('key1'), C, 'delete');
    await rejectsWith(() => db.getMany(['key1']), C, 'getMany');
    await rejectsWith(() => db.getOrThrow('key1'), C, 'getOrThrow');
    await rejectsWith(() => db.batch([{ type: 'put', key: 'a', value: 'b' }]), C, 'batch(ops)');
    await rejectsWith(() => chained.write(), C, 'write of a batch made before close');
    await rejectsWith(() => db.flush(), C, 'flush');
    await rejectsWith(() => db.sync(), C, 'sync');
    await rejectsWith(() => db.verify(), C, 'verify');
    throwsWith(() => db.getSync('key1'), C, 'getSync');
    throwsWith(() => db.hasSync('key1'), C, 'hasSync');
    throwsWith(() => db.getManySync(['key1']), C, 'getManySync');
    throwsWith(() => db.batch(), C, 'batch()');
    throwsWith(() => another.put('x', 'y'), C, 'put on a batch made before close');
    // The failed write used the batch up.
    throwsWith(() => chained.put('x', 'y'), 'ErrBatchWriteFailed', 'put on a batch whose write failed');
    throwsWith(() => db.iterator(), C, 'iterator');
    throwsWith(() => db.keys().next(), C, 'keys');
    throwsWith(() => db.snapshot(), C, 'snapshot');
    throwsWith(() => db.stats(), C, 'stats');
    snapshot.release();
    await db.close();
    await expect(db.close()).resolves.toBeUndefined();
    expect(await openDump(fs)).toEqual(SEEDED);
  });

  it('closing the store closes its open iterators (ErrIteratorClosed after) and releases every file', async () => {
    const fs = new HookFileSystem(new MemoryFileSystem());
    const db = await open({ path: '/db', fs, ...TINY });
    for (let i = 0; i < 200; i++) await db.put(`k${String(i).padStart(3, '0')}`, 'x'.repeat(40));
    await db.flush();
    const started = db.iterator();
    expect(started.nextSync()).toBeDefined();
    const fresh = db.iterator({ reverse: true });
    const partial = db.iterator();
    await db.flush(); // the iterators pin the tables of the version they started on
    expect(db.stats().iterators).toBe(3);
    await db.close();
    expect([...fs.openHandles.keys()], 'no file may stay open after close()').toEqual([]);
    throwsWith(() => started.nextSync(), 'ErrIteratorClosed', 'nextSync of a started iterator');
    throwsWith(() => fresh.nextSync(), 'ErrIteratorClosed', 'nextSync of an iterator not yet read');
    await expect(partial.next()).rejects.toMatchObject({ code: 'ErrIteratorClosed' });
    throwsWith(() => [...partial], 'ErrIteratorClosed', 'for...of');
    await partial.close();
  });

  it('an iterator used after its own close() is ErrIteratorClosed', async () => {
    const { db } = await seeded();
    const it = db.iterator();
    expect(it.nextSync()).toBeDefined();
    await it.close();
    throwsWith(() => it.nextSync(), 'ErrIteratorClosed', 'nextSync');
    await expect(it.next()).rejects.toMatchObject({ code: 'ErrIteratorClosed' });
    await expect(it.all()).rejects.toMatchObject({ code: 'ErrIteratorClosed' });
    await it.close(); // closing twice is fine
    expect(db.stats().iterators).toBe(0);
    await db.close();
  });
});

describe('locking and read-only opens', () => {
  it('a second writer on the same directory is ErrLocked until the first closes', async () => {
    const { db, fs } = await seeded();
    const err = await openError(fs);
    expect(err.code).toBe('ErrLocked');
    expect(await db.get('key1')).toBeDefined();
    await db.close();
    expect(await openDump(fs)).toEqual(SEEDED);
  });

  it('a read-only open beside a writer sees the data as of its open and refuses writes', async () => {
    const { db, fs } = await seeded(TINY);
    await db.flush();
    await db.put('late', 'before reader');
    const reader = await open({ path: '/db', fs, readOnly: true, ...TINY });
    const asOfOpen = [...SEEDED, 'late=before reader'].sort();
    expect(await dump(reader)).toEqual(asOfOpen);
    // The writer goes on: new writes, flushes (which remove the WAL the reader replayed).
    for (let i = 0; i < 100; i++) await db.put(`after${i}`, 'x'.repeat(50));
    await db.delete('key1');
    await db.flush();
    expect(await dump(reader)).toEqual(asOfOpen);
    expect(reader.getSync('key1')).toBeDefined();
    expect(reader.getSync('after5')).toBeUndefined();
    await rejectsWith(() => reader.put('x', 'y'), 'ErrReadOnly', 'put on a read-only store');
    await rejectsWith(() => reader.delete('key2'), 'ErrReadOnly', 'delete on a read-only store');
    await rejectsWith(() => reader.batch([{ type: 'put', key: 'x', value: 'y' }]), 'ErrReadOnly', 'batch on a read-only store');
    await reader.close();
    expect(await dump(db)).toContain('after99=' + 'x'.repeat(50));
    await db.close();
  });

  // Found by the model test: a read-only open lists the directory, then reads CURRENT, the
  // manifest, tables and WALs. A writer flushing in between made it fail with ENOENT (a WAL it
  // listed was gone) or a false ErrCorruption (a table or manifest it had not listed).
  it('a read-only open racing the writer (flushes, WAL removals, manifest rewrites) sees the data as of a moment of its open', async () => {
    const mem = new MemoryFileSystem();
    const writer = await open({ path: '/db', fs: mem, ...TINY });
    const model = new Map<string, string>();
    const states: string[] = [];
    const snapshot = (): string => [...model].sort().map(([k, v]) => `${k}=${v}`).join(',');
    let outcomes = 0;
    let lists = 0;
    for (let round = 0; round < 25; round++) {
      const readerFs = new HookFileSystem(mem);
      readerFs.latency = (op) => {
        if (op === 'list') lists++;
        return op === 'open' || op === 'list' ? round % 5 : 0;
      };
      states.length = 0;
      states.push(snapshot());
      let opening = true;
      const reader = open({ path: '/db', fs: readerFs, readOnly: true, ...TINY }).finally(() => (opening = false));
      reader.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      // The writer goes on while the reader opens: every few writes fill a memtable (a flush).
      for (let i = 0; opening && i < 200; i++) {
        const k = `k${(round * 7 + i) % 50}`;
        const v = `${round}.${i}${'x'.repeat(120)}`;
        await writer.put(k, v);
        model.set(k, v);
        states.push(snapshot());
        if (i % 5 === 0) await new Promise((r) => setImmediate(r));
      }
      const db = await reader;
      const seen = (await dump(db)).join(',');
      expect(states, `round ${round}: the reader's view must be the data at some moment of its open`).toContain(seen);
      await db.close();
      outcomes++;
    }
    expect(outcomes).toBe(25);
    console.log(`read-only opens racing a writer: ${lists - 2 * outcomes} directory listings beyond the first try's, ${writer.stats().counters.flushes} flushes`);
    expect(lists, 'some opens should have raced a flush and started again').toBeGreaterThan(2 * outcomes);
    await writer.close();
  });

  it('a read-only open of a missing database is ErrInvalidConfig', async () => {
    const err = await openError(new MemoryFileSystem(), { readOnly: true });
    expect(err.code).toBe('ErrInvalidConfig');
  });
});

describe('invalid options', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['an unknown option', { memtableBytes: 4096 }],
    ['a misspelt option', { sycn: true }],
    ['memtableSize below the minimum', { memtableSize: 1024 }],
    ['memtableSize not an integer', { memtableSize: 4096.5 }],
    ['memtableSize as a string', { memtableSize: '4096' }],
    ['blockSize out of range', { blockSize: 1 }],
    ['blockRestartInterval zero', { blockRestartInterval: 0 }],
    ['maxImmutableMemtables zero', { maxImmutableMemtables: 0 }],
    ['keyBytesMax zero', { keyBytesMax: 0 }],
    ['keyBytesMax too large', { keyBytesMax: 2 * 1024 * 1024 }],
    ['valueBytesMax over a quarter of memtableSize', { memtableSize: 4096, valueBytesMax: 2048 }],
    ['blockCacheSize negative', { blockCacheSize: -1 }],
    ['bloomFalsePositiveRate above 0.5', { bloomFalsePositiveRate: 0.9 }],
    ['bloomFalsePositiveRate NaN', { bloomFalsePositiveRate: Number.NaN }],
    ['bloomFalsePositiveRate as a string', { bloomFalsePositiveRate: '0.01' }],
    ['an unknown compression', { compression: 'zstd' }],
    ['sync as a string', { sync: 'yes' }],
    ['readOnly as a number', { readOnly: 1 }],
    ['manifestRewriteBytes too small', { manifestRewriteBytes: 10 }],
    ['fs that is not a FileSystem', { fs: {} }],
    ['an empty path', { path: '' }],
    ['a path that is not a string', { path: 42 }],
  ];
  for (const [what, bad] of cases) {
    it(`${what} is ErrInvalidConfig, and nothing is created`, async () => {
      const fs = new MemoryFileSystem();
      await rejectsWith(() => open({ path: '/db', fs, ...bad } as Options), 'ErrInvalidConfig', what);
      expect(fs.listAllSync()).toEqual([]);
    });
  }

  it('no options object, or one without a path, is ErrInvalidConfig', async () => {
    await rejectsWith(() => open(undefined as unknown as Options), 'ErrInvalidConfig', 'no options');
    await rejectsWith(() => open(null as unknown as Options), 'ErrInvalidConfig', 'null options');
    await rejectsWith(() => open({ fs: new MemoryFileSystem() } as unknown as Options), 'ErrInvalidConfig', 'no path');
  });

  it('errorIfExists on an existing database and createIfMissing false on a missing one are ErrInvalidConfig', async () => {
    const { db, fs } = await seeded();
    await db.close();
    expect((await openError(fs, { errorIfExists: true })).code).toBe('ErrInvalidConfig');
    expect(await openDump(fs)).toEqual(SEEDED);
    expect((await openError(new MemoryFileSystem(), { createIfMissing: false })).code).toBe('ErrInvalidConfig');
  });
});

describe('batches and snapshots used wrongly', () => {
  it('a batch written twice is ErrBatchWriteFailed, and so is adding to it after the write', async () => {
    const { db } = await seeded();
    const b = db.batch().put('b1', '1').delete('key1');
    await b.write();
    await rejectsWith(() => b.write(), 'ErrBatchWriteFailed', 'second write');
    throwsWith(() => b.put('b2', '2'), 'ErrBatchWriteFailed', 'put after write');
    throwsWith(() => b.delete('b1'), 'ErrBatchWriteFailed', 'delete after write');
    throwsWith(() => b.reset(), 'ErrBatchWriteFailed', 'reset after write');
    expect(await dump(db)).toEqual(['b1=1', ...SEEDED.filter((e) => !e.startsWith('key1='))].sort());
    await db.close();
  });

  it('a released snapshot is ErrSnapshotReleased for every read through it', async () => {
    const { db } = await seeded();
    const snapshot = db.snapshot();
    await db.put('key1', 'changed');
    expect(fromUtf8((await db.get('key1', { snapshot }))!)).toBe('value of key1');
    snapshot.release();
    expect(snapshot.released).toBe(true);
    await rejectsWith(() => db.get('key1', { snapshot }), 'ErrSnapshotReleased', 'get');
    await rejectsWith(() => db.has('key1', { snapshot }), 'ErrSnapshotReleased', 'has');
    await rejectsWith(() => db.getMany(['key1'], { snapshot }), 'ErrSnapshotReleased', 'getMany');
    throwsWith(() => db.getSync('key1', { snapshot }), 'ErrSnapshotReleased', 'getSync');
    throwsWith(() => db.iterator({ snapshot }), 'ErrSnapshotReleased', 'iterator');
    snapshot.release(); // releasing twice is fine
    expect(db.stats().snapshots).toBe(0);
    expect(fromUtf8(db.getSync('key1')!)).toBe('changed');
    await db.close();
  });

  it("a snapshot of another store is refused", async () => {
    const a = await seeded();
    const b = await seeded();
    const snapshot = a.db.snapshot();
    expect(() => b.db.getSync('key1', { snapshot })).toThrow(RangeError);
    snapshot.release();
    await a.db.close();
    await b.db.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Damaged files

describe('damaged WAL', () => {
  /** A closed store whose WAL holds a header and one record per key (default options). */
  async function walStore(): Promise<{ fs: MemoryFileSystem; wal: string; offsets: number[] }> {
    const { db, fs } = await seeded();
    await db.close();
    const [wal, ...more] = files(fs, '.wal');
    expect(more).toEqual([]);
    const offsets = recordOffsets(fs.readFileSync(wal!));
    expect(offsets.length).toBe(1 + KEYS.length);
    return { fs, wal: wal!, offsets };
  }

  it('a damaged record followed by valid ones is ErrCorruption naming the WAL and the offset', async () => {
    const { fs, wal, offsets } = await walStore();
    for (const [name, delta] of [
      ['checksum', 0],
      ['length', 4],
      ['type', 8],
      ['payload', 15],
    ] as const) {
      for (const r of [1, 5, KEYS.length - 1]) {
        const copy = copyOf(fs);
        copy.corruptByte(wal, offsets[r]! + delta, 0x01);
        const err = await openError(copy);
        expect(err.code, `${name} of record ${r}`).toBe('ErrCorruption');
        expect(err.file, `${name} of record ${r}`).toBe(wal);
        expect(err.message).toContain(`offset ${offsets[r]}`);
      }
    }
  });

  it('a damaged header record is ErrCorruption', async () => {
    const { fs, wal } = await walStore();
    for (const at of [0, 4, 8, 9, 13, 14, 22]) {
      const copy = copyOf(fs);
      copy.corruptByte(wal, at);
      const err = await openError(copy);
      expect(err.code, `byte ${at}`).toBe('ErrCorruption');
      expect(err.file, `byte ${at}`).toBe(wal);
    }
  });

  it('a torn tail (last record cut short) opens fine and drops only the torn record', async () => {
    const { fs, wal, offsets } = await walStore();
    const size = fs.readFileSync(wal).length;
    const last = offsets[offsets.length - 1]!;
    for (const cut of [1, 3, size - last - 9, size - last - 5, size - last - 1]) {
      const copy = copyOf(fs);
      copy.truncateSync(wal, size - cut);
      expect(await openDump(copy), `cut ${cut} bytes`).toEqual(SEEDED.slice(0, -1));
      // The writer cut the tail: writes after the reopen land after the last whole record.
      const db = await open({ path: '/db', fs: copy });
      await db.put('after', 'reopen', { sync: true });
      await db.close();
      expect(await openDump(copy), `cut ${cut} bytes, then a write`).toEqual(['after=reopen', ...SEEDED.slice(0, -1)]);
    }
  });

  it('a zero-filled tail (file grown but not written) opens fine and loses nothing', async () => {
    const { fs, wal } = await walStore();
    const size = fs.readFileSync(wal).length;
    fs.truncateSync(wal, size + 100);
    expect(await openDump(fs)).toEqual(SEEDED);
  });

  it('a WAL cut inside its header (crash right after creating it) opens as empty', async () => {
    const { db, fs } = await seeded(TINY);
    await db.flush(); // the data moves to a table; a fresh WAL holds nothing but its header
    await db.close();
    const [wal] = files(fs, '.wal');
    fs.truncateSync(wal!, 5);
    expect(await openDump(fs, TINY)).toEqual(SEEDED);
  });
});

describe('damaged tables', () => {
  interface Layout {
    path: string;
    size: number;
    dataEnd: number;
    index: [number, number];
    props: [number, number];
    bloom: [number, number];
  }

  function layoutOf(fs: MemoryFileSystem, path: string): Layout {
    const data = fs.readFileSync(path);
    const f = data.length - 52;
    const index: [number, number] = [getU64(data, f), getU32(data, f + 8)];
    const bloom: [number, number] = [getU64(data, f + 12), getU32(data, f + 20)];
    const props: [number, number] = [getU64(data, f + 24), getU32(data, f + 32)];
    const dataEnd = Math.min(index[0], props[0], bloom[1] > 0 ? bloom[0] : Infinity);
    return { path, size: data.length, dataEnd, index, props, bloom };
  }

  const N = 120;
  const key = (i: number): string => `key${String(i).padStart(4, '0')}`;
  const value = (i: number): string => `value ${i} `.repeat(3);

  /** One flushed table of N keys (TINY: many 64-byte blocks), WAL empty, store closed. */
  async function tableStore(): Promise<{ fs: MemoryFileSystem; table: Layout }> {
    const fs = new MemoryFileSystem();
    const db = await open({ path: '/db', fs, ...TINY, memtableSize: 64 * 1024 });
    for (let i = 0; i < N; i++) await db.put(key(i), value(i));
    await db.flush();
    await db.close();
    const tables = files(fs, '.sst');
    expect(tables.length).toBe(1);
    return { fs, table: layoutOf(fs, tables[0]!) };
  }

  it('a flipped byte in a data block is ErrCorruption on the reads that touch it, never a wrong value', async () => {
    const { fs, table } = await tableStore();
    expect(table.dataEnd).toBeGreaterThan(1000);
    const step = Math.max(1, Math.floor(table.dataEnd / 41));
    let checked = 0;
    for (let at = 0; at < table.dataEnd; at += step) {
      const copy = copyOf(fs);
      copy.corruptByte(table.path, at, 0x10);
      const db = await open({ path: '/db', fs: copy, ...TINY, memtableSize: 64 * 1024 });
      let failures = 0;
      for (let i = 0; i < N; i++) {
        try {
          const got = db.getSync(key(i));
          expect(got === undefined ? undefined : fromUtf8(got), `byte ${at} flipped, get ${key(i)}`).toBe(value(i));
        } catch (e) {
          if (codeOf(e) !== 'ErrCorruption') throw e;
          expect((e as { file?: string }).file).toBe(table.path);
          failures++;
        }
      }
      expect(failures, `byte ${at} flipped: some get must read the damaged block`).toBeGreaterThan(0);
      expect(failures, `byte ${at} flipped: only the keys of one block fail`).toBeLessThan(N / 4);
      for (const reverse of [false, true]) {
        expect(() => db.iterator({ reverse }).allSync(), `byte ${at} flipped, full scan (reverse ${reverse})`).toThrow(
          expect.objectContaining({ code: 'ErrCorruption' }),
        );
      }
      const report = await db.verify();
      expect(report.ok, `byte ${at} flipped: verify()`).toBe(false);
      await db.close();
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('a flipped byte in the footer, index, properties or bloom block is ErrCorruption on open', async () => {
    const { fs, table } = await tableStore();
    const regions: [string, number, number][] = [
      ['footer', table.size - 52, 52],
      ['index block', table.index[0], table.index[1] + 5],
      ['properties block', table.props[0], table.props[1] + 5],
      ['bloom block', table.bloom[0], table.bloom[1] + 5],
    ];
    for (const [what, start, length] of regions) {
      expect(length, what).toBeGreaterThan(5);
      for (let at = start; at < start + length; at += Math.max(1, Math.floor(length / 13))) {
        const copy = copyOf(fs);
        copy.corruptByte(table.path, at);
        const err = await openError(copy, TINY);
        expect(err.code, `${what}, byte ${at}`).toBe('ErrCorruption');
        expect(err.file, `${what}, byte ${at}`).toBe(table.path);
      }
    }
  });

  it('a truncated table is ErrCorruption on open', async () => {
    const { fs, table } = await tableStore();
    for (const size of [0, 10, table.size - 52, table.size - 1]) {
      const copy = copyOf(fs);
      copy.truncateSync(table.path, size);
      const err = await openError(copy, TINY);
      expect(err.code, `cut to ${size}`).toBe('ErrCorruption');
      expect(err.file).toBe(table.path);
    }
  });

  it('a table listed in the manifest but missing is ErrCorruption naming it', async () => {
    const { fs, table } = await tableStore();
    await fs.remove(table.path);
    const err = await openError(fs, TINY);
    expect(err.code).toBe('ErrCorruption');
    expect(err.file).toBe(table.path);
  });
});

describe('damaged manifest and CURRENT', () => {
  /** A closed store with a manifest of a header, a snapshot edit and several flush edits. */
  async function manifestStore(): Promise<{ fs: MemoryFileSystem; manifest: string; offsets: number[] }> {
    const fs = new MemoryFileSystem();
    const db = await open({ path: '/db', fs });
    for (let i = 0; i < 4; i++) {
      for (const k of KEYS) await db.put(k, `value of ${k}`);
      await db.flush();
    }
    await db.close();
    const [manifest, ...more] = files(fs, 'MANIFEST-');
    expect(more).toEqual([]);
    const offsets = recordOffsets(fs.readFileSync(manifest!));
    expect(offsets.length).toBeGreaterThanOrEqual(5);
    return { fs, manifest: manifest!, offsets };
  }

  it('a damaged header or edit followed by valid edits is ErrCorruption naming the manifest', async () => {
    const { fs, manifest, offsets } = await manifestStore();
    const data = fs.readFileSync(manifest);
    for (let r = 0; r < offsets.length - 1; r++) {
      const start = offsets[r]!;
      const end = offsets[r + 1]!;
      for (const at of [start, start + 4, start + 8, start + 9, end - 1]) {
        const copy = copyOf(fs);
        copy.corruptByte(manifest, at, 0x01);
        const err = await openError(copy);
        expect(err.code, `record ${r}, byte ${at}`).toBe('ErrCorruption');
        expect(err.file, `record ${r}, byte ${at}`).toBe(manifest);
      }
    }
    expect(data.length).toBe(offsets[offsets.length - 1]! + 9 + getU32(data, offsets[offsets.length - 1]! + 4));
  });

  // Found by this test: a flipped byte in the last edit was taken for a torn append and cut;
  // the open then removed the table that edit added (an "orphan") and its data was gone.
  it('a flipped byte in the last edit is ErrCorruption, and the table it added stays on disk', async () => {
    const { fs, manifest, offsets } = await manifestStore();
    const size = fs.readFileSync(manifest).length;
    const last = offsets[offsets.length - 1]!;
    for (const [at, mask] of [
      [last, 0x01], // checksum
      [last + 4, 0x01], // length: one byte shorter
      [last + 7, 0x80], // length: far past the end of the file
      [last + 8, 0x01], // type
      [last + 9, 0x01], // first payload byte
      [size - 1, 0x01], // last payload byte
    ] as const) {
      const copy = copyOf(fs);
      const tables = files(copy, '.sst');
      copy.corruptByte(manifest, at, mask);
      const err = await openError(copy);
      expect(err.code, `byte ${at} ^ ${mask}`).toBe('ErrCorruption');
      expect(err.file, `byte ${at} ^ ${mask}`).toBe(manifest);
      expect(files(copy, '.sst'), 'a failed open removes nothing').toEqual(tables);
    }
  });

  it('a torn append after the last edit (cut short, or zeros) opens and loses nothing', async () => {
    const { fs, manifest, offsets } = await manifestStore();
    const data = fs.readFileSync(manifest);
    const lastEdit = data.subarray(offsets[offsets.length - 1]!);
    for (const cut of [1, 4, 8, 9, 10, lastEdit.length - 1]) {
      const copy = copyOf(fs);
      const torn = new Uint8Array(data.length + cut);
      torn.set(data);
      torn.set(lastEdit.subarray(0, cut), data.length);
      copy.writeFileSync(manifest, torn);
      expect(await openDump(copy), `${cut} bytes of a torn edit`).toEqual(SEEDED);
    }
    const zeros = copyOf(fs);
    zeros.truncateSync(manifest, data.length + 64);
    expect(await openDump(zeros), 'zero-filled tail').toEqual(SEEDED);
  });

  it('a manifest that holds no edit is ErrCorruption', async () => {
    const { fs, manifest, offsets } = await manifestStore();
    fs.truncateSync(manifest, offsets[1]!);
    const err = await openError(fs);
    expect(err.code).toBe('ErrCorruption');
  });

  it('any flipped byte of CURRENT is ErrCorruption', async () => {
    const { fs } = await manifestStore();
    const current = '/db/CURRENT';
    const size = fs.readFileSync(current).length;
    for (let at = 0; at < size; at++) {
      for (const mask of [0x01, 0x20, 0xff]) {
        const copy = copyOf(fs);
        copy.corruptByte(current, at, mask);
        const err = await openError(copy);
        expect(err.code, `byte ${at} ^ ${mask}`).toBe('ErrCorruption');
        expect(err.file, `byte ${at} ^ ${mask}`).toBe(current);
      }
    }
  });

  it('CURRENT naming a missing manifest, or missing beside sett files, is ErrCorruption', async () => {
    const { fs, manifest } = await manifestStore();
    const a = copyOf(fs);
    await a.remove(manifest);
    expect((await openError(a)).code).toBe('ErrCorruption');
    const b = copyOf(fs);
    await b.remove('/db/CURRENT');
    const err = await openError(b);
    expect(err.code).toBe('ErrCorruption');
    expect(err.file).toBe('/db/CURRENT');
  });

  it('nothing is removed from a directory that failed to open', async () => {
    const { fs, manifest } = await manifestStore();
    fs.corruptByte(manifest, 12);
    const before = fs.listAllSync();
    expect((await openError(fs)).code).toBe('ErrCorruption');
    expect(fs.listAllSync()).toEqual(before);
  });
});
