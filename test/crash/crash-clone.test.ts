/**
 * Crash tests on the memory backend's crash clone (see src/fs/memory.ts for the crash model).
 *
 * A seeded workload of puts, deletes and batches (a fifth of them with `sync: true`), with
 * flushes and `db.sync()` calls mixed in, runs under the TINY options (also with the store's
 * `sync` option on, and under a SMALL set), so WAL rotations, flushes, write stalls and
 * manifest rewrites happen all the time. A third of the asynchronous fs operations get a
 * seeded latency, so that the commit queue, rotations, the flusher and concurrent flush() /
 * sync() calls interleave as on a disk. While it runs, crash clones are taken at three kinds
 * of points:
 *   - quiescent: after every few acknowledged operations, once each with keepUnsynced 'random',
 *     'none' and 'all';
 *   - in flight: a burst of writes (and sometimes flush() or sync()) is issued without waiting,
 *     and clones are taken in the await gaps while the commit queue and the flusher work on it;
 *   - at file-system operations: just before a sampled share of every write, sync, truncate,
 *     create, rename, remove and directory sync the engine makes (HookFileSystem), which puts
 *     crash points inside flushes, WAL rotations and manifest rewrites.
 *
 * Each clone is reopened (which must never fail: torn tails are cut) and its content compared
 * with the model. Operations are numbered in the order they were issued (the commit queue is
 * FIFO), and the recovered state must equal the model after some prefix of them:
 *   - at least up to the last write acknowledged with sync, or the last `db.sync()` /
 *     `db.flush()` that resolved (a synced write makes every earlier write durable);
 *   - at most up to the last write issued;
 *   - with 'all' at a quiescent point, exactly every acknowledged write.
 * Batches are whole: a prefix never splits one.
 *
 * Every tenth recovered clone then takes a second, shorter workload with its own crash points
 * (the recovered store must accept writes and survive a second crash). Every workload ends with
 * a clean close, which must release every file, and a reopen, which must lose nothing.
 *
 * A failure names the seed, the crash point and the writes around the range it had to match;
 * SETT_SEED=<seed> [SETT_OPTIONS=TINY+sync|SMALL] reruns one seed.
 */
import { describe, expect, it } from 'vitest';
import type { DB } from '../../src/api/db.js';
import type { Options } from '../../src/api/options.js';
import { MemoryFileSystem, type KeepUnsynced } from '../../src/fs/memory.js';
import { Prng } from '../../src/fs/prng.js';
import { open } from '../../src/index.js';
import { TINY } from '../helpers/db.js';
import { HookFileSystem } from '../helpers/hook-fs.js';
import { figures } from '../helpers/figures.js';
import { entriesHex, KVModel, showEntries, showOp, type WriteOp } from '../helpers/model.js';

const PATH = '/db';

interface CrashPoint {
  fs: MemoryFileSystem;
  /** Writes [0, lo) must have survived. */
  lo: number;
  /** Writes at or after hi had not been issued. */
  hi: number;
  /** The recovered state must be exactly the state after `hi` writes. */
  exact: boolean;
  keep: KeepUnsynced;
  cloneSeed: number;
  where: string;
}

interface Tally {
  quiescent: number;
  inFlight: number;
  atFsOp: number;
  recovered: number;
  /** Recovered clones that lost some unsynced writes (the prefix was shorter than `hi`). */
  lostUnsynced: number;
}

function newTally(): Tally {
  return { quiescent: 0, inFlight: 0, atFsOp: 0, recovered: 0, lostUnsynced: 0 };
}

/** One life of a store: a workload from a known starting state, and the crash points taken. */
class Life {
  /** states[i]: the model after the first i writes. */
  readonly states: KVModel[];
  readonly writes: { ops: WriteOp[]; sync: boolean }[] = [];
  readonly points: CrashPoint[] = [];
  /** Writes issued so far. */
  issued = 0;
  /** Writes known durable: every write before this index survives any crash from now on. */
  floor = 0;
  acked = 0;
  db!: DB;
  /** Options the store is opened with (every reopen of a clone uses them too). */
  options: Partial<Options> = TINY;

  constructor(
    readonly label: string,
    readonly fs: MemoryFileSystem,
    base: KVModel,
    readonly prng: Prng,
    /** Separate stream for the fs-operation sampling, so the workload does not depend on it. */
    readonly hookPrng: Prng,
    readonly hookChance: number,
    readonly tally: Tally,
    readonly hookFs: HookFileSystem = new HookFileSystem(fs),
  ) {
    this.states = [base.clone()];
  }

  clone(keep: KeepUnsynced, lo: number, hi: number, exact: boolean, where: string): void {
    const cloneSeed = this.prng.nextUint32();
    this.points.push({ fs: this.fs.crashClone({ seed: cloneSeed, keepUnsynced: keep }), lo, hi, exact, keep, cloneSeed, where });
  }

  /**
   * Gives a third of the asynchronous fs operations a latency of 1-4 event-loop turns, so that
   * concurrent engine tasks (commit queue, rotations, flusher, flush() and sync() callers)
   * interleave as they would on a real disk.
   */
  enableLatency(prng: Prng): void {
    this.hookFs.latency = () => (prng.chance(0.33) ? 1 + prng.nextInt(4) : 0);
  }

  enableHook(): void {
    this.hookFs.hook = (label) => {
      if (!this.hookPrng.chance(this.hookChance)) return;
      const keep = this.hookPrng.pick(['random', 'random', 'none', 'all'] as const);
      const cloneSeed = this.hookPrng.nextUint32();
      this.points.push({
        fs: this.fs.crashClone({ seed: cloneSeed, keepUnsynced: keep }),
        lo: this.floor,
        hi: this.issued,
        exact: false,
        keep,
        cloneSeed,
        where: `before fs op "${label}" (writes issued ${this.issued}, acknowledged ${this.acked})`,
      });
      this.tally.atFsOp++;
    };
  }

  private randomWrite(): { ops: WriteOp[]; sync: boolean; api: 'put' | 'del' | 'batch' | 'chained' } {
    const p = this.prng;
    const sync = p.chance(0.2);
    const n = this.issued;
    const key = (): Uint8Array => new TextEncoder().encode(`k${String(p.nextInt(48)).padStart(3, '0')}`);
    const value = (j: number): Uint8Array => {
      const v = new Uint8Array(8 + p.nextInt(150)).fill(0x2e);
      v.set(new TextEncoder().encode(`${this.label}#${n}.${j}`).subarray(0, v.length));
      return v;
    };
    const r = p.nextFloat();
    if (r < 0.55) return { ops: [{ type: 'put', key: key(), value: value(0) }], sync, api: 'put' };
    if (r < 0.75) return { ops: [{ type: 'del', key: key() }], sync, api: 'del' };
    const ops: WriteOp[] = [];
    const count = 2 + p.nextInt(6);
    for (let j = 0; j < count; j++) {
      // Repeated keys inside one batch: the later operation wins.
      const k = j > 0 && p.chance(0.25) ? ops[p.nextInt(j)]!.key : key();
      ops.push(p.chance(0.75) ? { type: 'put', key: k, value: value(j) } : { type: 'del', key: k });
    }
    return { ops, sync, api: p.chance(0.5) ? 'batch' : 'chained' };
  }

  /** Issues one write; returns the promise of its acknowledgement. */
  private issueWrite(): Promise<void> {
    const w = this.randomWrite();
    const index = this.issued++;
    this.writes.push({ ops: w.ops, sync: w.sync });
    const next = this.states[index]!.clone();
    next.applyAll(w.ops);
    this.states.push(next);
    const db = this.db;
    const op = w.ops[0]!;
    let done: Promise<void>;
    if (w.api === 'put' && op.type === 'put') done = db.put(op.key, op.value, { sync: w.sync });
    else if (w.api === 'del') done = db.delete(op.key, { sync: w.sync });
    else if (w.api === 'batch') done = db.batch(w.ops, { sync: w.sync });
    else {
      const b = db.batch();
      for (const o of w.ops) if (o.type === 'put') b.put(o.key, o.value);
      else b.delete(o.key);
      done = b.write({ sync: w.sync });
    }
    return done.then(() => {
      this.acked++;
      // With the store's sync option on, every write is synced.
      if (w.sync || this.options.sync === true) this.floor = Math.max(this.floor, index + 1);
    });
  }

  /** db.sync() or db.flush(): once it resolves, every write issued before the call is durable. */
  private issueBarrier(kind: 'sync' | 'flush'): Promise<void> {
    const upTo = this.issued;
    const done = kind === 'sync' ? this.db.sync() : this.db.flush();
    return done.then(() => {
      this.floor = Math.max(this.floor, upTo);
    });
  }

  private quiescentClones(): void {
    const at = `after ${this.acked} acknowledged writes`;
    this.clone('random', this.floor, this.issued, false, `${at} (quiescent)`);
    this.clone('none', this.floor, this.issued, false, `${at} (quiescent)`);
    // Everything written is kept: every acknowledged write, and nothing else (none is in flight).
    this.clone('all', this.floor, this.issued, true, `${at} (quiescent)`);
    this.tally.quiescent += 3;
  }

  private async burst(): Promise<void> {
    const p = this.prng;
    const pending: Promise<void>[] = [];
    const n = 2 + p.nextInt(10);
    for (let i = 0; i < n; i++) {
      if (p.chance(0.15)) pending.push(this.issueBarrier(p.chance(0.6) ? 'flush' : 'sync'));
      else pending.push(this.issueWrite());
    }
    const all = Promise.all(pending);
    let settled = false;
    void all.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Crash points in the await gaps while the queue drains (microtasks, then event-loop turns).
    for (let gap = 0; gap < 12 && !settled; gap++) {
      if (p.chance(0.5)) {
        this.clone(p.chance(0.7) ? 'random' : 'none', this.floor, this.issued, false, `in flight, gap ${gap} of a burst of ${n} (acknowledged ${this.acked} of ${this.issued})`);
        this.tally.inFlight++;
      }
      if (gap < 8) await Promise.resolve();
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await all;
  }

  async run(steps: number, quiescentEvery: number): Promise<void> {
    const p = this.prng;
    let sinceClone = 0;
    for (let step = 0; step < steps; step++) {
      const r = p.nextFloat();
      if (r < 0.15) await this.burst();
      else if (r < 0.19) await this.issueBarrier('flush');
      else if (r < 0.22) await this.issueBarrier('sync');
      else await this.issueWrite();
      if (++sinceClone >= quiescentEvery) {
        sinceClone = 0;
        this.quiescentClones();
      }
    }
  }

  /** What went on between writes lo and hi, for failure messages. */
  describe(lo: number, hi: number): string {
    const from = Math.max(0, lo - 3);
    const to = Math.min(this.writes.length, hi + 3);
    const lines: string[] = [];
    for (let i = from; i < to; i++) {
      const w = this.writes[i]!;
      const mark = i < lo ? 'durable' : i < hi ? 'may be lost' : 'not yet issued';
      lines.push(`  #${i} [${mark}]${w.sync ? ' sync' : ''} ${w.ops.map(showOp).join('; ')}`);
    }
    return lines.join('\n');
  }
}

async function readAll(db: DB): Promise<KVModel> {
  const m = new KVModel();
  for (const [k, v] of await db.iterator().all()) m.apply({ type: 'put', key: k, value: v });
  return m;
}

/** Reopens a crash point and checks it against the life's model. Returns the open store. */
async function recover(life: Life, cp: CrashPoint, seed: number): Promise<{ db: DB; state: KVModel; hookFs: HookFileSystem }> {
  const context = `seed ${seed}, ${life.label}, crash ${cp.where}, keepUnsynced '${cp.keep}', clone seed ${cp.cloneSeed}`;
  const hookFs = new HookFileSystem(cp.fs);
  let db: DB;
  try {
    db = await open({ path: PATH, fs: hookFs, ...life.options });
  } catch (e) {
    throw new Error(`${context}: reopening the crash clone failed: ${String(e)}\nfiles: ${cp.fs.listAllSync().join(', ')}`, { cause: e });
  }
  const state = await readAll(db);
  const matches: number[] = [];
  for (let i = cp.lo; i <= cp.hi; i++) if (life.states[i]!.equals(state)) matches.push(i);
  if (matches.length === 0) {
    // Closest prefix by number of differing keys, to make the message useful.
    let best = cp.lo;
    let bestDiff = Infinity;
    for (let i = 0; i < life.states.length; i++) {
      const a = entriesHex(life.states[i]!.entries());
      const b = new Set(entriesHex(state.entries()));
      const diff = a.filter((x) => !b.has(x)).length + [...b].filter((x) => !a.includes(x)).length;
      if (diff < bestDiff) [best, bestDiff] = [i, diff];
    }
    await db.close();
    expect.fail(
      `${context}: recovered state matches no prefix of writes in [${cp.lo}, ${cp.hi}]; ` +
        `closest is the prefix of ${best} writes (${bestDiff} entries differ)\n` +
        `recovered: ${showEntries(state.entries())}\nmodel[${best}]: ${showEntries(life.states[best]!.entries())}\n` +
        `writes around the range:\n${life.describe(cp.lo, cp.hi)}`,
    );
  }
  if (cp.exact && !matches.includes(cp.hi)) {
    await db.close();
    expect.fail(`${context}: with keepUnsynced 'all' every write made before the crash must survive; recovered the prefix of ${matches.join('/')} writes, expected ${cp.hi}\n${life.describe(matches[0]!, cp.hi)}`);
  }
  return { db, state, hookFs };
}

async function checkCleanReopen(life: Life, fs: MemoryFileSystem, seed: number): Promise<void> {
  const db = await open({ path: PATH, fs, ...life.options });
  try {
    const got = await readAll(db);
    const want = life.states[life.issued]!;
    expect(entriesHex(got.entries()), `seed ${seed}, ${life.label}: a clean close must lose nothing`).toEqual(entriesHex(want.entries()));
  } finally {
    await db.close();
  }
}

async function runLife(life: Life, steps: number, quiescentEvery: number, seed: number): Promise<void> {
  life.enableHook();
  await life.run(steps, quiescentEvery);
  life.hookFs.hook = undefined;
  life.hookFs.latency = undefined;
  await life.db.close();
  expect([...life.hookFs.openHandles.keys()], `seed ${seed}, ${life.label}: close() must release every file`).toEqual([]);
  await checkCleanReopen(life, life.fs, seed);
}

async function crashTest(seed: number, options: Partial<Options>): Promise<{ first: Tally; second: Tally }> {
  const first = newTally();
  const second = newTally();
  const prng = new Prng(seed);
  const fs = new MemoryFileSystem();
  const life = new Life('life 1', fs, new KVModel(), prng, new Prng(seed ^ 0x5eed), 0.08, first);
  life.options = options;
  life.db = await open({ path: PATH, fs: life.hookFs, ...options });
  life.enableLatency(new Prng(seed ^ 0x1a7e));
  await runLife(life, 160, 7, seed);

  let n = 0;
  for (const cp of life.points) {
    const { db, state, hookFs } = await recover(life, cp, seed);
    first.recovered++;
    if (!state.equals(life.states[cp.hi]!)) first.lostUnsynced++;
    // Every tenth recovered clone takes a second workload and crashes again.
    if (n++ % 10 !== 0) {
      await db.close();
      continue;
    }
    const again = new Life(`life 2 after crash ${cp.where}`, cp.fs, state, new Prng(prng.nextUint32()), new Prng(prng.nextUint32()), 0.05, second, hookFs);
    again.options = options;
    again.db = db;
    again.enableLatency(new Prng(prng.nextUint32()));
    await runLife(again, 20, 10, seed);
    for (const cp2 of again.points) {
      const r2 = await recover(again, cp2, seed);
      second.recovered++;
      if (!r2.state.equals(again.states[cp2.hi]!)) second.lostUnsynced++;
      // The store recovered twice still takes writes.
      await r2.db.put('after-second-crash', 'ok', { sync: true });
      expect(new TextDecoder().decode(r2.db.getSync('after-second-crash'))).toBe('ok');
      await r2.db.close();
    }
  }
  return { first, second };
}

/** TINY flushes every few dozen writes; SMALL every few hundred, with blocks of several entries. */
const SMALL: Partial<Options> = { memtableSize: 32 * 1024, blockSize: 512, maxImmutableMemtables: 3, manifestRewriteBytes: 4096, baseLevelBytes: 64 * 1024, baseTableBytes: 16 * 1024, levelMultiplier: 4 };
const RUNS: { seed: number; name: string; options: Partial<Options> }[] =
  process.env.SETT_SEED !== undefined
    ? [{ seed: Number(process.env.SETT_SEED), name: process.env.SETT_OPTIONS ?? 'TINY', options: process.env.SETT_OPTIONS === 'SMALL' ? SMALL : process.env.SETT_OPTIONS === 'TINY+sync' ? { ...TINY, sync: true } : TINY }]
    : [
        { seed: 1, name: 'TINY', options: TINY },
        { seed: 2, name: 'TINY', options: TINY },
        { seed: 3, name: 'TINY', options: TINY },
        { seed: 4, name: 'TINY', options: TINY },
        { seed: 5, name: 'TINY+sync', options: { ...TINY, sync: true } },
        { seed: 6, name: 'SMALL', options: SMALL },
      ];

describe('crash clones: recovery keeps every synced write and a prefix of the rest', () => {
  for (const { seed, name, options } of RUNS) {
    it(`seed ${seed} (${name}): crash at quiescent points, in flight and at file-system operations`, async () => {
      const { first, second } = await crashTest(seed, options);
      const show = (t: Tally): string =>
        `${t.recovered} crash points recovered (${t.quiescent} quiescent, ${t.inFlight} in flight, ${t.atFsOp} at fs operations; ${t.lostUnsynced} lost some unsynced writes)`;
      console.log(`crash test seed ${seed} (${name}): ${show(first)}; after a first crash and more writes: ${show(second)}`);
      figures.add('seeds run', 1);
      figures.add('crash points recovered', first.recovered + second.recovered);
      expect(first.recovered).toBeGreaterThan(100);
      expect(first.atFsOp).toBeGreaterThan(20);
      if (options.sync !== true) {
        expect(first.lostUnsynced, 'some crash points should lose unsynced writes, or the test is not testing recovery').toBeGreaterThan(0);
      }
      expect(second.recovered).toBeGreaterThan(10);
    });
  }
});
