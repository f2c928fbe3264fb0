/**
 * Model test: random sequences of operations run against the engine and against a plain sorted
 * map (KVModel, plus a frozen copy per open snapshot), compared at every read.
 *
 * Operations: put, delete, batches (both APIs, mixed puts and deletes, repeated keys), writes
 * issued together without waiting (group commit, with flush() and sync() calls among them),
 * get / has / getMany, iterators with every range option in both directions drained by every
 * path of the public iterator, an iterator read across a write (and a flush), snapshots read
 * later, flush, sync, close-and-reopen, and a read-only open beside the writer.
 *
 * Keys come from a small alphabet of bytes 0x00, 'a', 'b', 'c', 0xff, at most 3 long, plus two
 * keys longer than a TINY block, so keys collide, some keys are prefixes of others ('a', 'ab',
 * 'abc'), and bounds fall on, between and outside stored keys, including the 0xff edge where a
 * prefix has no upper bound.
 *
 * Each option set runs its own property: TINY (4 KiB memtables, 64-byte blocks: a flush every
 * few dozen writes, write stalls, manifest rewrites), TINY without compression or bloom
 * filters and with a restart point per key, and the defaults (everything in one memtable,
 * replayed from the WAL on reopen). The file system gives a seeded fifth of its asynchronous
 * operations a few event-loop turns of latency, so background flushes and concurrent calls
 * interleave as on a disk; every run ends with a check that close() released every file.
 *
 * A failure prints the seed, the shrunk counterexample (the latency seed, then the commands,
 * each shown as the call it makes) and the replay path; rerun one with SETT_SEED=<seed>
 * [SETT_PATH=<path>]. SETT_RUNS=<factor> scales the number of runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import type { Options } from '../../src/api/options.js';
import type { Snapshot } from '../../src/api/snapshot.js';
import { toHex, utf8 } from '../../src/codec/bytes.js';
import { MemoryFileSystem } from '../../src/fs/memory.js';
import { Prng } from '../../src/fs/prng.js';
import { open } from '../../src/index.js';
import { TINY } from '../helpers/db.js';
import { figures } from '../helpers/figures.js';
import { HookFileSystem } from '../helpers/hook-fs.js';
import { entriesHex, KVModel, type RangeSpec, showEntries, showKey, showOp, showRange, showValue, type WriteOp } from '../helpers/model.js';

// ---------------------------------------------------------------------------------------------
// Model and system under test

interface Model {
  data: KVModel;
  /** Frozen copies, one per open snapshot, in the order taken. */
  snaps: KVModel[];
}

interface Real {
  fs: HookFileSystem;
  options: Options;
  db: DB;
  snaps: Snapshot[];
}

const SNAPSHOTS_MAX = 4;

// ---------------------------------------------------------------------------------------------
// Arbitraries

const ALPHABET = [0x00, 0x61, 0x62, 0x63, 0xff];
/** Includes two keys longer than a TINY block (64 bytes), one a prefix of the other. */
const LONG = `ab${'c'.repeat(70)}`;
const FAVOURITES = ['a', 'ab', 'abc', 'b', 'a\xff', '\xff', '\xff\xff', '\x00', 'a\x00', LONG, `${LONG}\xff`].map((s) =>
  Uint8Array.from(s, (c) => c.charCodeAt(0)),
);

const keyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FAVOURITES) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 3 }).map((a) => Uint8Array.from(a)) },
);

/** A bound may be empty (which sorts before every key). */
const boundArb: fc.Arbitrary<Uint8Array> = fc.oneof({ weight: 9, arbitrary: keyArb }, { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) });

/** Values carry a tag so that a stale version reads differently from the newest one. */
function makeValue(tag: number, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  const head = utf8(`v${tag}`);
  const out = new Uint8Array(Math.max(len, head.length)).fill(tag & 0xff);
  out.set(head);
  return out;
}
const valueArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 6, max: 200 })).map(([t, n]) => makeValue(t, n)) },
  // Up to TINY's valueBytesMax: a memtable then holds only a few entries.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 200, max: 512 })).map(([t, n]) => makeValue(t, n)) },
);

const writeOpArb: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key: keyArb }) },
);

const rangeArb: fc.Arbitrary<RangeSpec> = fc
  .record({
    lower: fc.option(fc.record({ inclusive: fc.boolean(), key: boundArb }), { nil: undefined }),
    upper: fc.option(fc.record({ inclusive: fc.boolean(), key: boundArb }), { nil: undefined }),
    prefix: fc.option(boundArb, { nil: undefined, freq: 3 }),
    limit: fc.option(fc.integer({ min: -1, max: 6 }), { nil: undefined, freq: 2 }),
    reverse: fc.boolean(),
    keysOnly: fc.boolean(),
  })
  .map((r) => {
    const o: RangeSpec = {};
    if (r.lower !== undefined) o[r.lower.inclusive ? 'gte' : 'gt'] = r.lower.key;
    if (r.upper !== undefined) o[r.upper.inclusive ? 'lte' : 'lt'] = r.upper.key;
    if (r.prefix !== undefined) o.prefix = r.prefix;
    if (r.limit !== undefined) o.limit = r.limit;
    if (r.reverse) o.reverse = true;
    if (r.keysOnly) o.keysOnly = true;
    return o;
  });

/** How an iterator is drained: each path of the public iterator gets exercised. */
type Drain = 'all' | 'nextSync' | 'forOf' | 'forAwait' | 'keys';
const drainArb = fc.constantFrom<Drain>('all', 'nextSync', 'forOf', 'forAwait', 'keys');

// ---------------------------------------------------------------------------------------------
// Reading helpers

type Entries = [Uint8Array, Uint8Array][];

async function drain(db: DB, o: RangeSpec & { snapshot?: Snapshot }, how: Drain): Promise<Entries> {
  if (how === 'keys') {
    const out: Entries = [];
    for (const k of db.keys(o)) out.push([k, new Uint8Array(0)]);
    return out;
  }
  const it = db.iterator(o);
  if (how === 'all') return it.all();
  const out: Entries = [];
  if (how === 'nextSync') for (let e = it.nextSync(); e !== undefined; e = it.nextSync()) out.push(e);
  else if (how === 'forOf') for (const e of it) out.push(e);
  else for await (const e of it) out.push(e);
  return out;
}

function expectEntries(actual: Entries, expected: Entries, what: string): void {
  expect(entriesHex(actual), `${what}: got ${showEntries(actual)}, model ${showEntries(expected)}`).toEqual(entriesHex(expected));
}

function expectValue(actual: Uint8Array | undefined, expected: Uint8Array | undefined, what: string): void {
  expect(actual === undefined ? undefined : toHex(actual), `${what}: got ${showValue(actual)}, model ${showValue(expected)}`).toBe(
    expected === undefined ? undefined : toHex(expected),
  );
}

/** Compares every key of the alphabet and the whole key space in both directions. */
async function fullCheck(m: Model, r: Real, what: string): Promise<void> {
  expectEntries(await r.db.iterator().all(), m.data.range({}), `${what}: full scan`);
  expectEntries(await r.db.iterator({ reverse: true }).all(), m.data.range({ reverse: true }), `${what}: full reverse scan`);
  for (const k of FAVOURITES) expectValue(r.db.getSync(k), m.data.get(k), `${what}: get ${showKey(k)}`);
}

// ---------------------------------------------------------------------------------------------
// Commands (toString is the call each one makes, so a shrunk counterexample reads as a script)

type Cmd = fc.AsyncCommand<Model, Real>;

class PutCmd implements Cmd {
  constructor(
    readonly key: Uint8Array,
    readonly value: Uint8Array,
    readonly sync: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.db.put(this.key, this.value, { sync: this.sync });
    m.data.apply({ type: 'put', key: this.key, value: this.value });
  }
  toString(): string {
    return `put(${showKey(this.key)}, ${showValue(this.value)}${this.sync ? ', sync' : ''})`;
  }
}

class DeleteCmd implements Cmd {
  constructor(
    readonly key: Uint8Array,
    readonly sync: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await r.db.delete(this.key, { sync: this.sync });
    m.data.apply({ type: 'del', key: this.key });
  }
  toString(): string {
    return `delete(${showKey(this.key)}${this.sync ? ', sync' : ''})`;
  }
}

class BatchCmd implements Cmd {
  constructor(
    readonly ops: WriteOp[],
    readonly chained: boolean,
    readonly sync: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    if (this.chained) {
      const b = r.db.batch();
      for (const op of this.ops) if (op.type === 'put') b.put(op.key, op.value);
      else b.delete(op.key);
      expect(b.length).toBe(this.ops.length);
      await b.write({ sync: this.sync });
    } else {
      await r.db.batch(this.ops, { sync: this.sync });
    }
    m.data.applyAll(this.ops);
  }
  toString(): string {
    return `batch${this.chained ? '(chained)' : ''}([${this.ops.map(showOp).join('; ')}]${this.sync ? ', sync' : ''})`;
  }
}

/**
 * Issues several writes without waiting between them (one group commit, or several when a
 * memtable fills up part-way), then waits for all. They apply in the order issued.
 */
type Concurrent = { ops: WriteOp[]; sync: boolean } | 'flush' | 'sync';

class ConcurrentWritesCmd implements Cmd {
  constructor(readonly writes: Concurrent[]) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const pending = this.writes.map((w) => {
      if (w === 'flush') return r.db.flush();
      if (w === 'sync') return r.db.sync();
      const op = w.ops[0]!;
      if (w.ops.length > 1) return r.db.batch(w.ops, { sync: w.sync });
      return op.type === 'put' ? r.db.put(op.key, op.value, { sync: w.sync }) : r.db.delete(op.key, { sync: w.sync });
    });
    await Promise.all(pending);
    for (const w of this.writes) if (typeof w !== 'string') m.data.applyAll(w.ops);
  }
  toString(): string {
    const show = (w: Concurrent): string =>
      typeof w === 'string' ? `${w}()` : `${w.ops.length > 1 ? `batch(${w.ops.map(showOp).join('; ')})` : showOp(w.ops[0]!)}${w.sync ? ' sync' : ''}`;
    return `concurrently([${this.writes.map(show).join(', ')}])`;
  }
}

class GetCmd implements Cmd {
  constructor(readonly key: Uint8Array) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const want = m.data.get(this.key);
    expectValue(await r.db.get(this.key), want, this.toString());
    expect(await r.db.has(this.key), `${this.toString()}: has`).toBe(want !== undefined);
  }
  toString(): string {
    return `get(${showKey(this.key)})`;
  }
}

class GetManyCmd implements Cmd {
  constructor(readonly keys: Uint8Array[]) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const got = await r.db.getMany(this.keys);
    this.keys.forEach((k, i) => expectValue(got[i], m.data.get(k), `${this.toString()}[${i}]`));
  }
  toString(): string {
    return `getMany([${this.keys.map(showKey).join(', ')}])`;
  }
}

class IterateCmd implements Cmd {
  constructor(
    readonly range: RangeSpec,
    readonly how: Drain,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const want = m.data.range(this.how === 'keys' ? { ...this.range, keysOnly: true } : this.range);
    expectEntries(await drain(r.db, this.range, this.how), want, this.toString());
  }
  toString(): string {
    return `iterate(${showRange(this.range)}, ${this.how})`;
  }
}

/**
 * Starts an iterator, reads part of it, writes, reads the rest: an iterator reads as of the
 * moment it was created (its version is pinned), so the write must not show.
 */
class IterateAcrossWriteCmd implements Cmd {
  constructor(
    readonly range: RangeSpec,
    readonly before: number,
    readonly write: WriteOp,
    readonly flushToo: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const want = m.data.range(this.range);
    const it = r.db.iterator(this.range);
    const got: Entries = [];
    let ended = false;
    for (let i = 0; i < this.before && !ended; i++) {
      const e = it.nextSync();
      if (e === undefined) ended = true;
      else got.push(e);
    }
    if (this.write.type === 'put') await r.db.put(this.write.key, this.write.value);
    else await r.db.delete(this.write.key);
    m.data.apply(this.write);
    if (this.flushToo) await r.db.flush();
    // nextSync after it returned undefined throws ErrIteratorClosed (the iterator closed itself).
    if (!ended) for (let e = it.nextSync(); e !== undefined; e = it.nextSync()) got.push(e);
    expectEntries(got, want, this.toString());
  }
  toString(): string {
    return `iterateAcross(${showRange(this.range)}, read ${this.before}, then ${showOp(this.write)}${this.flushToo ? ' + flush' : ''})`;
  }
}

class SnapshotCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    if (r.snaps.length >= SNAPSHOTS_MAX) {
      r.snaps.shift()!.release();
      m.snaps.shift();
    }
    r.snaps.push(r.db.snapshot());
    m.snaps.push(m.data.clone());
  }
  toString(): string {
    return 'snapshot()';
  }
}

class ReleaseSnapshotCmd implements Cmd {
  constructor(readonly n: number) {}
  check(m: Readonly<Model>): boolean {
    return m.snaps.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const i = this.n % m.snaps.length;
    const [s] = r.snaps.splice(i, 1);
    m.snaps.splice(i, 1);
    s!.release();
  }
  toString(): string {
    return `releaseSnapshot(#${this.n} mod open)`;
  }
}

class SnapshotGetCmd implements Cmd {
  constructor(
    readonly n: number,
    readonly keys: Uint8Array[],
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.snaps.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const i = this.n % m.snaps.length;
    const snapshot = r.snaps[i]!;
    for (const k of this.keys) {
      const want = m.snaps[i]!.get(k);
      expectValue(await r.db.get(k, { snapshot }), want, `${this.toString()}: ${showKey(k)}`);
      expect(r.db.hasSync(k, { snapshot }), `${this.toString()}: has ${showKey(k)}`).toBe(want !== undefined);
    }
  }
  toString(): string {
    return `snapshotGet(#${this.n} mod open, [${this.keys.map(showKey).join(', ')}])`;
  }
}

class SnapshotIterateCmd implements Cmd {
  constructor(
    readonly n: number,
    readonly range: RangeSpec,
    readonly how: Drain,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.snaps.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const i = this.n % m.snaps.length;
    const want = m.snaps[i]!.range(this.how === 'keys' ? { ...this.range, keysOnly: true } : this.range);
    expectEntries(await drain(r.db, { ...this.range, snapshot: r.snaps[i]! }, this.how), want, this.toString());
  }
  toString(): string {
    return `snapshotIterate(#${this.n} mod open, ${showRange(this.range)}, ${this.how})`;
  }
}

class FlushCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    await r.db.flush();
  }
  toString(): string {
    return 'flush()';
  }
}

class SyncCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    await r.db.sync();
  }
  toString(): string {
    return 'sync()';
  }
}

/** Opens a read-only store beside the writer: it must see exactly what the writer has now. */
class ReadOnlyViewCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const reader = await open({ ...r.options, readOnly: true });
    try {
      expectEntries(await reader.iterator().all(), m.data.range({}), 'read-only view: full scan');
      expectEntries(await reader.iterator({ reverse: true }).all(), m.data.range({ reverse: true }), 'read-only view: full reverse scan');
      for (const k of FAVOURITES) expectValue(reader.getSync(k), m.data.get(k), `read-only view: get ${showKey(k)}`);
    } finally {
      await reader.close();
    }
  }
  toString(): string {
    return 'readOnlyView()';
  }
}

/** Closes and reopens on the same file system. Snapshots do not survive a close. */
class ReopenCmd implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    for (const s of r.snaps) s.release();
    r.snaps = [];
    m.snaps = [];
    coverage.note(r.db);
    await r.db.close();
    r.db = await open(r.options);
    await fullCheck(m, r, 'after reopen');
  }
  toString(): string {
    return 'closeAndReopen()';
  }
}

const commandArbs: fc.Arbitrary<Cmd>[] = [
  fc.tuple(keyArb, valueArb, fc.boolean()).map(([k, v, s]) => new PutCmd(k, v, s)),
  fc.tuple(keyArb, valueArb, fc.boolean()).map(([k, v, s]) => new PutCmd(k, v, s)),
  fc.tuple(keyArb, valueArb, fc.boolean()).map(([k, v, s]) => new PutCmd(k, v, s)),
  fc.tuple(keyArb, fc.boolean()).map(([k, s]) => new DeleteCmd(k, s)),
  fc.tuple(fc.array(writeOpArb, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean()).map(([ops, c, s]) => new BatchCmd(ops, c, s)),
  fc.tuple(fc.array(writeOpArb, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean()).map(([ops, c, s]) => new BatchCmd(ops, c, s)),
  fc
    .array(
      fc.oneof(
        { weight: 8, arbitrary: fc.record({ ops: fc.array(writeOpArb, { minLength: 1, maxLength: 4 }), sync: fc.boolean() }) },
        { weight: 1, arbitrary: fc.constantFrom<Concurrent>('flush', 'sync') },
      ),
      { minLength: 2, maxLength: 12 },
    )
    .map((ws) => new ConcurrentWritesCmd(ws)),
  keyArb.map((k) => new GetCmd(k)),
  fc.array(keyArb, { minLength: 1, maxLength: 4 }).map((ks) => new GetManyCmd(ks)),
  fc.tuple(rangeArb, drainArb).map(([o, h]) => new IterateCmd(o, h)),
  fc.tuple(rangeArb, drainArb).map(([o, h]) => new IterateCmd(o, h)),
  fc.tuple(rangeArb, fc.integer({ min: 0, max: 4 }), writeOpArb, fc.boolean()).map(([o, n, w, f]) => new IterateAcrossWriteCmd(o, n, w, f)),
  fc.constant(new SnapshotCmd()),
  fc.nat(7).map((n) => new ReleaseSnapshotCmd(n)),
  fc.tuple(fc.nat(7), fc.array(keyArb, { minLength: 1, maxLength: 4 })).map(([n, ks]) => new SnapshotGetCmd(n, ks)),
  fc.tuple(fc.nat(7), rangeArb, drainArb).map(([n, o, h]) => new SnapshotIterateCmd(n, o, h)),
  fc.constant(new FlushCmd()),
  fc.constant(new SyncCmd()),
  fc.constant(new ReopenCmd()),
  fc.constant(new ReadOnlyViewCmd()),
];

// ---------------------------------------------------------------------------------------------
// Properties

/** What the runs exercised, so that a test that stopped reaching flushes or tables shows it. */
const coverage = {
  runs: 0,
  commands: 0,
  flushes: 0,
  tablesMax: 0,
  note(db: DB): void {
    const st = db.stats();
    this.flushes += st.counters.flushes;
    this.tablesMax = Math.max(this.tablesMax, st.tables);
  },
  reset(): void {
    this.runs = this.commands = this.flushes = this.tablesMax = 0;
  },
};

const RUNS_SCALE = Number(process.env.SETT_RUNS ?? 1);

function params(numRuns: number): fc.Parameters<[number, Iterable<Cmd>]> {
  const p: fc.Parameters<[number, Iterable<Cmd>]> = { numRuns: Math.max(1, Math.round(numRuns * RUNS_SCALE)), verbose: 1 };
  if (process.env.SETT_SEED !== undefined) p.seed = Number(process.env.SETT_SEED);
  if (process.env.SETT_PATH !== undefined) p.path = process.env.SETT_PATH;
  return p;
}

async function runModel(extra: Partial<Options>, numRuns: number, maxCommands: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 0x7fff_ffff }), fc.commands(commandArbs, { maxCommands, size: 'medium' }), async (latencySeed, cmds) => {
      coverage.runs++;
      coverage.commands += [...cmds].length;
      // A seeded latency on a fifth of the async fs operations lets the flusher, the commit
      // queue and concurrent flush() calls interleave as on a real disk.
      const fs = new HookFileSystem(new MemoryFileSystem());
      const latency = new Prng(latencySeed);
      fs.latency = () => (latency.chance(0.2) ? 1 + latency.nextInt(3) : 0);
      const options: Options = { path: '/db', fs, ...extra };
      const real: Real = { fs, options, db: await open(options), snaps: [] };
      const model: Model = { data: new KVModel(), snaps: [] };
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await fullCheck(model, real, 'at the end');
        coverage.note(real.db);
        for (const s of real.snaps) s.release();
        await real.db.close();
        real.db = await open(options);
        await fullCheck(model, real, 'after the final reopen');
      } finally {
        await real.db.close();
      }
      expect([...fs.openHandles.keys()], 'close() must release every file').toEqual([]);
    }),
    params(numRuns),
  );
}

const CONFIGS: { name: string; options: Partial<Options>; runs: number; maxCommands: number }[] = [
  { name: 'TINY (4 KiB memtables, 64-byte blocks)', options: TINY, runs: 120, maxCommands: 100 },
  {
    name: 'TINY, no compression, no bloom filter, restart every key',
    options: { ...TINY, compression: 'none', bloomFalsePositiveRate: 0, blockRestartInterval: 1, blockCacheSize: 0 },
    runs: 60,
    maxCommands: 80,
  },
  { name: 'defaults', options: {}, runs: 40, maxCommands: 60 },
];

describe('model test: the engine agrees with a sorted map', () => {
  for (const c of CONFIGS) {
    it(`random operation sequences under ${c.name}`, async () => {
      coverage.reset();
      await runModel(c.options, c.runs, c.maxCommands);
      const { runs, commands, flushes, tablesMax } = coverage;
      console.log(`model test, ${c.name}: ${runs} runs, ${commands} commands, ${flushes} flushes, at most ${tablesMax} tables`);
      figures.add('seeds run', runs);
      figures.add('operations checked', commands);
      if (c.options.memtableSize !== undefined) expect(flushes, 'the tiny configuration should flush often').toBeGreaterThan(runs);
    });
  }
});
