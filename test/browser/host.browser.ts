/**
 * The page-side proxy (RemoteDB) against the engine host in a dedicated worker: the KVStore API,
 * errors arriving with their classes and codes, iterators streaming in chunks, snapshots, the
 * one-writer rule across workers, read-only views, bytes crossing without per-entry messages.
 */
import { ErrCorruption, ErrInvalidKey, ErrLocked, ErrStoreFailed, SettError } from '../../src/api/errors.js';
import { openInWorker, type RemoteDB } from '../../src/browser.js';
import { assert, dec, enc, eq, rejects, removeOpfsDir, test, uniqueDir } from './lib/t.js';

const WORKER = '/sett-worker.js';

async function withDb(fn: (db: RemoteDB, dir: string) => Promise<void>, options: Record<string, unknown> = {}): Promise<void> {
  const dir = uniqueDir('host');
  const db = await openInWorker({ path: dir, worker: WORKER, ...options });
  try {
    await fn(db, dir);
  } finally {
    await db.close();
    await removeOpfsDir(dir);
  }
}

test('page', 'proxy: put, get, has, delete, getOrThrow, getMany with strings and bytes', () =>
  withDb(async (db) => {
    await db.put('a', 'one');
    await db.put(enc('b'), new Uint8Array([0, 1, 2, 255]));
    eq(dec(await db.get('a')), 'one', 'string key');
    eq(await db.get('b'), new Uint8Array([0, 1, 2, 255]), 'binary value');
    eq(await db.get('missing'), undefined, 'missing key resolves undefined');
    eq(await db.has('a'), true, 'has');
    await db.delete('a');
    eq(await db.has('a'), false, 'has after delete');
    await rejects(db.getOrThrow('a'), 'ErrKeyNotFound', 'getOrThrow of a deleted key');
    eq(
      (await db.getMany(['b', 'a', 'b'])).map((v) => v?.length),
      [4, undefined, 4],
      'getMany in order, undefined for missing',
    );
    const v = (await db.get('b'))!;
    eq(v.byteLength === v.buffer.byteLength, true, 'a value arrives in its own transferred buffer');
    await db.put('empty', '');
    eq(await db.get('empty'), new Uint8Array(0), 'an empty value');
  }),
);

test('page', 'proxy: batches (array and chained) are atomic; a bad operation throws at put()', () =>
  withDb(async (db) => {
    await db.batch([
      { type: 'put', key: 'x', value: '1' },
      { type: 'put', key: 'y', value: '2' },
      { type: 'del', key: 'x' },
    ]);
    eq(await db.get('x'), undefined, 'later op on the same key wins');
    eq(dec(await db.get('y')), '2', 'array batch');
    const b = db.batch().put('p', 'q').delete('y');
    eq(b.length, 2, 'chained batch length');
    await b.write({ sync: true });
    eq(dec(await db.get('p')), 'q', 'chained batch put');
    eq(await db.get('y'), undefined, 'chained batch delete');
    await rejects(b.write(), 'ErrBatchWriteFailed', 'a batch written twice');
    const c = db.batch();
    let thrown: unknown;
    try {
      c.put('', 'v');
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof ErrInvalidKey, 'an empty key throws ErrInvalidKey synchronously at put()');
    await rejects(db.put('k', 42 as unknown as string), 'ErrInvalidValue', 'a number value');
    await rejects(db.batch([{ type: 'nope', key: 'k' } as never]), 'TypeError', 'an unknown batch op type');
    const big = new Uint8Array(db.config.valueBytesMax + 1);
    await rejects(db.put('big', big), 'ErrValueTooLarge', 'a value over valueBytesMax');
    await rejects(db.put('k'.repeat(db.config.keyBytesMax + 1), 'v'), 'ErrInvalidKey', 'a key over keyBytesMax');
  }),
);

test('page', 'proxy: iterators stream in chunks, in both directions, with bounds, limit and keysOnly', () =>
  withDb(async (db) => {
    const n = 5000;
    for (let start = 0; start < n; start += 500) {
      const b = db.batch();
      for (let i = start; i < start + 500; i++) b.put(`key${String(i).padStart(5, '0')}`, `value-${i}`);
      await b.write();
    }
    await db.flush();
    const it = db.iterator();
    let count = 0;
    let prev = '';
    const buffers = new Set<ArrayBufferLike>();
    for await (const [k, v] of it) {
      const ks = dec(k)!;
      assert(ks > prev, `keys in order: ${prev} then ${ks}`);
      eq(dec(v), `value-${Number(ks.slice(3))}`, `value of ${ks}`);
      prev = ks;
      buffers.add(k.buffer);
      count++;
    }
    eq(count, n, 'every entry');
    assert(buffers.size < 20, `entries arrive in a few chunks, not one message each (${buffers.size} chunks for ${n} entries)`);
    const rev = await db.iterator({ gte: 'key01000', lt: 'key01010', reverse: true }).all();
    eq(
      rev.map(([k]) => dec(k)),
      Array.from({ length: 10 }, (_, i) => `key0${1009 - i}`),
      'reverse with bounds',
    );
    const lim = await db.iterator({ prefix: 'key049', limit: 3, keysOnly: true }).all();
    eq(
      lim.map(([k, v]) => [dec(k), v.length]),
      [
        ['key04900', 0],
        ['key04901', 0],
        ['key04902', 0],
      ],
      'prefix, limit and keysOnly',
    );
    const keys: string[] = [];
    for await (const k of db.keys({ gt: 'key04997' })) keys.push(dec(k)!);
    eq(keys, ['key04998', 'key04999'], 'keys()');
    let broke = 0;
    for await (const _ of db.iterator()) if (++broke === 3) break; // releases it in the worker
    eq((await db.stats()).iterators, 0, 'no iterator left open in the worker');
    let threw: unknown;
    try {
      db.iterator({ gt: 'a', gte: 'b' });
    } catch (e) {
      threw = e;
    }
    assert(threw instanceof RangeError, 'gt and gte together throw RangeError at once');
  }),
);

test('page', 'proxy: an iterator and a snapshot read the database as of their creation', () =>
  withDb(async (db) => {
    for (let i = 0; i < 300; i++) await db.put(`k${String(i).padStart(3, '0')}`, 'old');
    const it = db.iterator();
    const snap = db.snapshot();
    const first = await it.next();
    eq(dec(first?.[0]), 'k000', 'first entry');
    for (let i = 0; i < 300; i += 2) await db.put(`k${String(i).padStart(3, '0')}`, 'new');
    await db.put('k999', 'added later');
    await db.flush();
    const rest = await it.all();
    eq(rest.length, 299, 'iterator does not see later writes');
    assert(rest.every(([, v]) => dec(v) === 'old'), 'iterator values as of its creation');
    eq(dec(await db.get('k002', { snapshot: snap })), 'old', 'snapshot read');
    eq(dec(await db.get('k002')), 'new', 'current read');
    eq(await db.get('k999', { snapshot: snap }), undefined, 'snapshot does not see a later key');
    eq((await db.iterator({ snapshot: snap }).all()).length, 300, 'snapshot iterator');
    assert(typeof (await snap.version) === 'number', 'snapshot version arrives');
    snap.release();
    await rejects(db.get('k002', { snapshot: snap }), 'ErrSnapshotReleased', 'a released snapshot');
    await rejects(it.next(), 'ErrIteratorClosed', 'an iterator read past its end is closed');
  }),
);

test('page', 'proxy: errors keep their class, code, file and cause across the worker boundary', async () => {
  const e = await rejects(openInWorker({ path: uniqueDir('bad'), worker: WORKER, memtableSize: 5 }), 'ErrInvalidConfig', 'bad option');
  assert(e instanceof SettError && e.code === 'ErrInvalidConfig', 'a SettError with its code');
  assert(/memtableSize/.test(e.message), `message names the option: ${e.message}`);
  assert((e.stack ?? '').includes('in the sett worker'), 'stack shows the worker part');
  await rejects(openInWorker({ path: uniqueDir('nope'), worker: WORKER, createIfMissing: false }), 'ErrInvalidConfig', 'no database and createIfMissing false');
  await rejects(openInWorker({ path: 'x', fs: {} } as never), 'ErrInvalidConfig', 'fs cannot cross');
  // A corrupted table: ErrCorruption with the file name.
  const dir = uniqueDir('corrupt');
  const db = await openInWorker({ path: dir, worker: WORKER, compression: 'none' });
  for (let i = 0; i < 50; i++) await db.put(`key${i}`, `value-${i}`.repeat(5));
  await db.flush();
  await db.close();
  const root = await navigator.storage.getDirectory();
  const d = await root.getDirectoryHandle(dir);
  let table = '';
  for await (const name of d.keys()) if (name.endsWith('.sst')) table = name;
  const w = await (await d.getFileHandle(table)).createWritable({ keepExistingData: true });
  await w.write({ type: 'write', position: 20, data: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) });
  await w.close();
  const db2: RemoteDB | Error = await openInWorker({ path: dir, worker: WORKER }).catch((err: unknown) => err as Error);
  if (db2 instanceof Error) {
    assert(db2 instanceof ErrCorruption, `open reports corruption: ${db2.name}: ${db2.message}`);
  } else {
    const err = await db2.get('key7').then(
      () => undefined,
      (x: unknown) => x,
    );
    const report = await db2.verify();
    await db2.close();
    assert(!report.ok, 'verify reports the damaged block');
    if (err !== undefined) assert(err instanceof ErrCorruption && err.file !== undefined && err.file.endsWith('.sst'), `read reports ErrCorruption with the file: ${String(err)}`);
  }
  await removeOpfsDir(dir);
  const closed = await openInWorker({ path: uniqueDir('closed'), worker: WORKER, storage: 'memory' });
  await closed.close();
  await rejects(closed.put('a', 'b'), 'ErrStoreClosed', 'put after close');
  await rejects(closed.stats(), 'ErrStoreClosed', 'stats after close');
});

test('page', 'proxy: one writer per database across workers; ErrLocked names the cause; free after close', async () => {
  const dir = uniqueDir('locked');
  const a = await openInWorker({ path: dir, worker: WORKER });
  try {
    const e = await rejects(openInWorker({ path: dir, worker: WORKER }), 'ErrLocked', 'second writer in another worker');
    assert(e instanceof ErrLocked, 'an ErrLocked instance');
    assert(/already open for writing/.test(e.message) && /another tab or worker/.test(e.message), `clear message: ${e.message}`);
    await rejects(openInWorker({ path: dir, worker: WORKER, readOnly: true }), 'ErrLocked', 'read-only view while a writer is open');
    await a.put('k', 'v');
  } finally {
    await a.close();
  }
  const b = await openInWorker({ path: dir, worker: WORKER });
  eq(dec(await b.get('k')), 'v', 'the next writer sees the data');
  await b.close();
  // Read-only views share the database when nobody writes.
  const r1 = await openInWorker({ path: dir, worker: WORKER, readOnly: true });
  const r2 = await openInWorker({ path: dir, worker: WORKER, readOnly: true });
  eq(dec(await r1.get('k')), 'v', 'first read-only view');
  eq(dec(await r2.get('k')), 'v', 'second read-only view');
  await rejects(r1.put('x', 'y'), 'ErrReadOnly', 'write on a read-only view');
  await rejects(openInWorker({ path: dir, worker: WORKER }), 'ErrLocked', 'writer while read-only views are open');
  await r1.close();
  await r2.close();
  await removeOpfsDir(dir);
});

test('page', 'proxy: one worker hosts several databases; a user-supplied worker outlives close()', async () => {
  const worker = new Worker(WORKER, { type: 'module' });
  const d1 = uniqueDir('multi1');
  const d2 = uniqueDir('multi2');
  const a = await openInWorker({ path: d1, worker });
  const b = await openInWorker({ path: d2, worker });
  await a.put('k', 'a');
  await b.put('k', 'b');
  eq([dec(await a.get('k')), dec(await b.get('k'))], ['a', 'b'], 'separate databases');
  await rejects(openInWorker({ path: d1, worker }), 'ErrLocked', 'same database twice in one worker');
  await a.close();
  await b.close();
  const again = await openInWorker({ path: d1, worker }); // the worker is still alive
  eq(dec(await again.get('k')), 'a', 'reopened in the same worker');
  await again.close();
  // The directory removed behind the worker's back: the next open starts afresh, not stale.
  await removeOpfsDir(d1);
  const fresh = await openInWorker({ path: d1, worker });
  eq(await fresh.get('k'), undefined, 'a new, empty database after the directory was removed');
  await fresh.close();
  worker.terminate();
  await removeOpfsDir(d1);
  await removeOpfsDir(d2);
});

test('page', 'proxy: stats, flush, sync, verify, flatten, compactRange; storage "memory"; a missing worker script fails open', async () => {
  await withDb(async (db) => {
    for (let i = 0; i < 200; i++) await db.put(`s${i}`, 'x'.repeat(50));
    await db.sync();
    await db.flush();
    const s = await db.stats();
    assert(s.tables >= 1 && s.levels.length >= 1, `stats shows tables: ${JSON.stringify(s.levels)}`);
    const r = await db.verify();
    assert(r.ok, 'verify ok');
    for (let i = 0; i < 200; i += 2) await db.delete(`s${i}`);
    await db.compactRange('s0', 's5');
    await db.flatten();
    const after = await db.stats();
    eq(after.levels.filter((l) => l.tables > 0).length, 1, 'flatten leaves one level');
    eq((await db.iterator().all()).length, 100, 'deleted keys are gone after flatten');
  }, { memtableSize: 8192 });
  const mem = await openInWorker({ path: 'm', worker: WORKER, storage: 'memory' });
  await mem.put('a', 'b');
  eq(dec(await mem.get('a')), 'b', 'memory storage');
  await mem.close();
  const e = await rejects(openInWorker({ path: 'x', worker: '/no-such-worker.js' }), 'ErrStoreFailed', 'missing worker script');
  assert(e instanceof ErrStoreFailed, 'ErrStoreFailed');
});
