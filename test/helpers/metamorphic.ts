/**
 * The metamorphic test's generator and runner, shared by test/sim/metamorphic.test.ts (a bounded
 * number of seeds in `npm test`) and scripts/soak.ts (`npm run test:soak`, many seeds).
 *
 * One seeded generator (fast-check, so a failure shrinks) makes sequences of plain-JSON
 * operations: put, delete, batch, bursts of writes issued together (group commit, with a
 * flush() among them), get, iterate with random bounds in both directions, snapshot and read
 * from it later, flush, sync, compactRange with random bounds, flatten, verify, close and
 * reopen, crash (a crash clone with a random share of the unsynced writes) and recover, and
 * one-shot file-system faults (ENOSPC on a write, a torn WAL append, EIO on an fsync, EIO on
 * a write, truncate, open, rename, remove or directory sync, EIO or a flipped bit on a table
 * read). The same sequence runs against the engine under an option set and against a plain
 * map, and every observable result must match:
 *   - reads (get, scans, snapshot reads) equal the model; after an injected read fault a read
 *     may instead fail with ErrIO / ErrCorruption (what a scan returned before must be right);
 *   - a write resolves (applied), or fails with ErrInsufficientDiskSpace / ErrIO after a fault
 *     (not applied, and never appears later), or with ErrStoreFailed (maybe applied: the store
 *     is recovered at once, by a reopen or a crash); no error at all without a fault that
 *     explains it;
 *   - after a crash, the recovered state equals the model at the last synced point plus some
 *     prefix of the writes after it, in order, batches whole; the run continues from that
 *     prefix. With keepUnsynced 'all' it must be every acknowledged write. After a clean
 *     close it is exactly every acknowledged write.
 *
 * Operations are plain JSON (metamorphic-ops.ts), so a failure's op log can be pasted into
 * `runOps` as a regression test. Later issues add their operations (transactions, value log
 * GC) there and their effect here.
 */
import fc from 'fast-check';
import type { DB } from '../../src/api/db.js';
import { SettError } from '../../src/api/errors.js';
import type { Options } from '../../src/api/options.js';
import type { Snapshot } from '../../src/api/snapshot.js';
import { fromUtf8 } from '../../src/codec/bytes.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { type KeepUnsynced, MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import { type BurstWrite, faultRule, type MetaConfig, type Op, opsArb, type Range, valueOf, type WriteOp } from './metamorphic-ops.js';

export * from './metamorphic-ops.js';

// ---------------------------------------------------------------------------------------------
// Model

type Model = Map<string, string>;

function applyTo(m: Model, op: WriteOp): void {
  if (op.type === 'put') m.set(op.key, valueOf(op.value));
  else m.delete(op.key);
}

/** Keys are ASCII, so JS string order is byte order. */
function rangeOf(m: Model, r: Range): [string, string][] {
  let out = [...m].filter(([k]) => {
    if (r.lower !== undefined && (r.lower[1] ? k < r.lower[0] : k <= r.lower[0])) return false;
    if (r.upper !== undefined && (r.upper[1] ? k > r.upper[0] : k >= r.upper[0])) return false;
    return true;
  });
  out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (r.reverse === true) out.reverse();
  if (r.limit !== undefined) out = out.slice(0, r.limit);
  return out;
}

function iterOptions(r: Range): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.lower !== undefined) o[r.lower[1] ? 'gte' : 'gt'] = r.lower[0];
  if (r.upper !== undefined) o[r.upper[1] ? 'lte' : 'lt'] = r.upper[0];
  if (r.reverse === true) o.reverse = true;
  if (r.limit !== undefined) o.limit = r.limit;
  return o;
}

function show(entries: readonly [string, string][]): string {
  const s = entries.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v.length > 14 ? `${v.slice(0, 12)}…(${v.length})` : v)}`);
  return `[${s.length > 40 ? [...s.slice(0, 40), `… ${s.length - 40} more`].join(', ') : s.join(', ')}]`;
}

function sameEntries(a: readonly [string, string][], b: readonly [string, string][]): boolean {
  return a.length === b.length && a.every(([k, v], i) => b[i]![0] === k && b[i]![1] === v);
}

function sortedEntries(m: Model): [string, string][] {
  return rangeOf(m, {});
}

// ---------------------------------------------------------------------------------------------
// Runner

export interface Tally {
  runs: number;
  ops: number;
  crashes: number;
  reopens: number;
  faults: number;
  /** Writes refused because of an injected fault (ENOSPC, a torn append, a failed store). */
  refusedWrites: number;
  /** Crash recoveries that lost some unsynced writes. */
  lostUnsynced: number;
  flushes: number;
  compactions: number;
}

export function newTally(): Tally {
  return { runs: 0, ops: 0, crashes: 0, reopens: 0, faults: 0, refusedWrites: 0, lostUnsynced: 0, flushes: 0, compactions: 0 };
}

/** A check that failed; the runner adds the op log. */
class Mismatch extends Error {}

/** The first frames of an error's stack (enough to find the throw). */
function stackOf(e: unknown): string {
  const lines = ((e as Error)?.stack ?? '').split('\n').slice(1, 7);
  return lines.join('\n');
}

function check(cond: boolean, message: () => string): asserts cond {
  if (!cond) throw new Mismatch(message());
}

const PATH = '/db';
const SNAPSHOTS_MAX = 4;
/** Error codes an operation may fail with once a fault was injected (and only then). */
const WRITE_FAULTS = new Set(['ErrInsufficientDiskSpace', 'ErrIO', 'ErrStoreFailed']);
/** Reads and compactions read tables: a failed or bit-flipped read is ErrIO or ErrCorruption. */
const READ_FAULTS = new Set(['ErrIO', 'ErrCorruption']);
const MAINTENANCE_FAULTS = new Set([...WRITE_FAULTS, ...READ_FAULTS]);

interface State {
  model: Model;
  /** False for a write whose outcome is unknown (its store failed while writing it). */
  acked: boolean;
}

class Run {
  mem: MemoryFileSystem;
  fs: FaultFileSystem;
  db!: DB;
  options: Options;
  /** states[0]: the last durable state; then one per write since, in order. */
  states: State[] = [{ model: new Map(), acked: true }];
  snaps: { snap: Snapshot; model: Model }[] = [];
  /** Set when an operation got ErrStoreFailed: the store is recovered before the next one. */
  failed = false;

  constructor(
    readonly config: MetaConfig,
    readonly tally: Tally,
  ) {
    this.mem = new MemoryFileSystem();
    this.fs = new FaultFileSystem(this.mem);
    this.options = { path: PATH, fs: this.fs, ...config.options };
  }

  get model(): Model {
    return this.states[this.states.length - 1]!.model;
  }

  async start(): Promise<void> {
    this.db = await open(this.options);
  }

  /**
   * Whether a fault that can explain an error with `code` was injected into the current file
   * system: only a failed or flipped table read explains ErrCorruption (reads, compactions);
   * only a fault on something other than a read explains ErrInsufficientDiskSpace; any fault
   * explains ErrIO and ErrStoreFailed (a flush reads the table it wrote back before it installs
   * it, and fails the store if it cannot).
   */
  private explains(code: string): boolean {
    const st = this.fs.stats();
    const reads = st.faults.read;
    if (code === 'ErrCorruption') return reads > 0;
    if (code === 'ErrInsufficientDiskSpace') return st.faultsTotal - reads > 0;
    return st.faultsTotal > 0;
  }

  private get faulted(): boolean {
    return this.fs.stats().faultsTotal > 0;
  }

  /** Everything written so far is durable (a synced write, sync(), flush(), a clean close). */
  private durable(): void {
    this.states = [this.states[this.states.length - 1]!];
  }

  private wrote(ops: readonly WriteOp[], acked: boolean): void {
    const next = new Map(this.model);
    for (const op of ops) applyTo(next, op);
    this.states.push({ model: next, acked });
  }

  /** Runs a write; returns whether the store failed (the caller recovers it). */
  private async write(ops: readonly WriteOp[], sync: boolean | undefined, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      this.refused(e, 'write', WRITE_FAULTS);
      this.tally.refusedWrites++;
      // Refused writes are not applied; only one whose store failed under it may have been.
      if (this.failed) this.wrote(ops, false);
      return;
    }
    this.wrote(ops, true);
    if (sync === true || this.config.options.sync === true) this.durable();
  }

  /** An operation failed: allowed only after an injected fault, and only with these codes. */
  private refused(e: unknown, what: string, allowed: ReadonlySet<string>): void {
    const code = e instanceof SettError ? e.code : undefined;
    check(code !== undefined && allowed.has(code) && this.explains(code), () => `${what} failed with ${String(e)}${this.faulted ? ' (no injected fault explains it)' : ' (no fault was injected)'}\n${stackOf(e)}`);
    if (code === 'ErrStoreFailed') this.failed = true;
  }

  /** Runs a read; a read fault may make it fail with a named error, never return a wrong value. */
  private read(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof Mismatch) throw e;
      this.refused(e, what, READ_FAULTS);
    }
  }

  /**
   * Issues every write (and a flush() among them) without waiting, then settles them in order.
   * The commit queue is FIFO: what resolved is applied in the order issued; what was refused
   * is not (a write whose store failed under it may be).
   */
  private async burst(writes: readonly BurstWrite[], flushAt: number | undefined): Promise<void> {
    const db = this.db;
    const pending: Promise<void>[] = [];
    // Settled at once, so that a rejection is handled while the writes are awaited.
    let flushed: Promise<PromiseSettledResult<void>[]> | undefined;
    for (const [i, w] of writes.entries()) {
      if (i === flushAt) flushed = Promise.allSettled([db.flush()]);
      const sync = w.sync === true ? { sync: true } : undefined;
      const only = w.ops[0]!;
      if (w.ops.length > 1) pending.push(db.batch(w.ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: valueOf(o.value) } : o)), sync));
      else pending.push(only.type === 'put' ? db.put(only.key, valueOf(only.value), sync) : db.delete(only.key, sync));
    }
    const results = await Promise.allSettled(pending);
    const flushResult = flushed === undefined ? undefined : (await flushed)[0]!;
    for (const [i, r] of results.entries()) {
      // flush() drains the writes queued before it and seals them: they are durable once it resolves.
      if (i === flushAt && flushResult?.status === 'fulfilled' && !this.failed) this.durable();
      const w = writes[i]!;
      if (r.status === 'fulfilled') {
        this.wrote(w.ops, true);
        if (w.sync === true || this.config.options.sync === true) this.durable();
      } else {
        this.refused(r.reason, `burst write ${i}`, WRITE_FAULTS);
        this.tally.refusedWrites++;
        if (this.failed) this.wrote(w.ops, false);
      }
    }
    if (flushResult?.status === 'rejected') this.refused(flushResult.reason, 'flush in a burst', MAINTENANCE_FAULTS);
  }

  private async maintenance(what: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (e) {
      this.refused(e, what, MAINTENANCE_FAULTS);
      return;
    }
    this.durable();
  }

  private expectRead(got: [string, string][], want: [string, string][], what: string): void {
    check(sameEntries(got, want), () => `${what}: got ${show(got)}, model ${show(want)}`);
  }

  private scan(r: Range, snapshot?: Snapshot): [string, string][] {
    const o = iterOptions(r);
    if (snapshot !== undefined) o.snapshot = snapshot;
    const out: [string, string][] = [];
    for (const [k, v] of this.db.iterator(o)) out.push([fromUtf8(k), fromUtf8(v)]);
    return out;
  }

  /** A scan compared with the model; if a read fault stops it, what came before must be right. */
  private checkScan(r: Range, want: [string, string][], what: string, snapshot?: Snapshot): void {
    const o = iterOptions(r);
    if (snapshot !== undefined) o.snapshot = snapshot;
    const got: [string, string][] = [];
    try {
      for (const [k, v] of this.db.iterator(o)) got.push([fromUtf8(k), fromUtf8(v)]);
    } catch (e) {
      this.refused(e, what, READ_FAULTS);
      this.expectRead(got, want.slice(0, got.length), `${what} (up to the read that failed)`);
      return;
    }
    this.expectRead(got, want, what);
  }

  private getValue(key: string, snapshot?: Snapshot): string | undefined {
    const v = snapshot === undefined ? this.db.getSync(key) : this.db.getSync(key, { snapshot });
    return v === undefined ? undefined : fromUtf8(v);
  }

  private fullCheck(what: string): void {
    this.expectRead(this.scan({}), sortedEntries(this.model), `${what}: full scan`);
    this.expectRead(this.scan({ reverse: true }), sortedEntries(this.model).reverse(), `${what}: full reverse scan`);
  }

  /** Engine counters start again at every open: add them up before a store goes away. */
  private collectStats(): void {
    if (this.db.closed) return;
    const st = this.db.stats();
    this.tally.flushes += st.counters.flushes;
    this.tally.compactions += st.levels.reduce((n, l) => n + l.compactions, 0);
  }

  private dropSnapshots(): void {
    for (const s of this.snaps) s.snap.release();
    this.snaps = [];
  }

  private async closeQuietly(): Promise<boolean> {
    try {
      await this.db.close();
      return true;
    } catch (e) {
      this.refused(e, 'close', WRITE_FAULTS);
      return false;
    }
  }

  /**
   * Opens `mem` and finds which state it recovered: one of states[lo..], in order. Continues
   * from it (it is durable now).
   */
  private async recover(mem: MemoryFileSystem, lo: number, exact: boolean, what: string): Promise<void> {
    this.tally.faults += this.fs.stats().faultsTotal;
    this.mem = mem;
    this.fs = new FaultFileSystem(mem);
    this.options = { ...this.options, fs: this.fs };
    this.failed = false;
    try {
      this.db = await open(this.options);
    } catch (e) {
      throw new Mismatch(`${what}: reopening failed: ${String(e)}\nfiles: ${mem.listAllSync().join(', ')}`);
    }
    const got = this.scan({});
    const hi = this.states.length - 1;
    let match = -1;
    for (let i = hi; i >= lo; i--) {
      if (sameEntries(got, sortedEntries(this.states[i]!.model))) {
        match = i;
        break;
      }
    }
    check(match >= 0, () => {
      const lines = [`${what}: the recovered state matches no state from the last durable point (${lo} of ${hi} writes since it) on`, `recovered: ${show(got)}`];
      for (let i = Math.max(0, lo - 1); i <= hi; i++) lines.push(`state ${i}${i < lo ? ' (before the range)' : ''}${this.states[i]!.acked ? '' : ' (unacknowledged)'}: ${show(sortedEntries(this.states[i]!.model))}`);
      return lines.join('\n');
    });
    if (exact) {
      let lastAcked = this.states.length - 1;
      while (lastAcked > 0 && !this.states[lastAcked]!.acked) lastAcked--;
      check(match >= lastAcked, () => `${what}: every acknowledged write must survive; recovered the state after ${match} of ${hi} writes since the last durable point, expected at least ${lastAcked}`);
    }
    if (match < hi) this.tally.lostUnsynced++;
    this.states = [this.states[match]!];
    this.fullCheck(`${what}, recovered`);
  }

  /** Closes and reopens the same files: every acknowledged write must be there. */
  private async reopen(what: string): Promise<void> {
    this.dropSnapshots();
    this.collectStats();
    const clean = await this.closeQuietly();
    this.tally.reopens++;
    if (clean && !this.failed) this.durable();
    await this.recover(this.mem, 0, true, what);
  }

  /** A power failure now: a crash clone keeps what was synced and a share of the rest. */
  private async crash(keep: KeepUnsynced, seed: number, what: string): Promise<void> {
    this.dropSnapshots();
    this.collectStats();
    const clone = this.mem.crashClone({ seed, keepUnsynced: keep });
    // The old store lives on in the old file system; stop it (its close touches only that).
    await this.db.close().catch(() => undefined);
    this.tally.crashes++;
    await this.recover(clone, 0, keep === 'all', what);
  }

  /** After ErrStoreFailed: recover at once, by a reopen or a crash (chosen by `seed`). */
  private async recoverFailed(seed: number, what: string): Promise<void> {
    if (seed % 2 === 0) await this.reopen(`${what}, then reopened after the store failed`);
    else await this.crash('random', seed, `${what}, then crashed after the store failed`);
  }

  private snapAt(n: number): { snap: Snapshot; model: Model } | undefined {
    return this.snaps.length === 0 ? undefined : this.snaps[n % this.snaps.length];
  }

  async step(op: Op, index: number): Promise<void> {
    const db = this.db;
    const what = `op #${index}`;
    switch (op.op) {
      case 'put':
        await this.write([{ type: 'put', key: op.key, value: op.value }], op.sync, () => db.put(op.key, valueOf(op.value), op.sync === true ? { sync: true } : undefined));
        break;
      case 'del':
        await this.write([{ type: 'del', key: op.key }], op.sync, () => db.delete(op.key, op.sync === true ? { sync: true } : undefined));
        break;
      case 'batch':
        await this.write(op.ops, op.sync, () => {
          if (index % 2 === 0) {
            return db.batch(
              op.ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: valueOf(o.value) } : o)),
              op.sync === true ? { sync: true } : undefined,
            );
          }
          const b = db.batch();
          for (const o of op.ops) if (o.type === 'put') b.put(o.key, valueOf(o.value));
          else b.delete(o.key);
          return b.write(op.sync === true ? { sync: true } : undefined);
        });
        break;
      case 'burst':
        await this.burst(op.writes, op.flushAt);
        break;
      case 'get': {
        const want = this.model.get(op.key);
        this.read(`${what} get`, () => {
          const got = this.getValue(op.key);
          check(got === want, () => `${what} get ${JSON.stringify(op.key)}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
        });
        this.read(`${what} has`, () => check(db.hasSync(op.key) === (want !== undefined), () => `${what} has ${JSON.stringify(op.key)}`));
        break;
      }
      case 'iter':
        this.checkScan(op, rangeOf(this.model, op), `${what} iterate ${JSON.stringify(iterOptions(op))}`);
        break;
      case 'snapshot':
        if (this.snaps.length >= SNAPSHOTS_MAX) this.snaps.shift()!.snap.release();
        this.snaps.push({ snap: db.snapshot(), model: new Map(this.model) });
        break;
      case 'snapGet': {
        const s = this.snapAt(op.n);
        if (s === undefined) break;
        const want = s.model.get(op.key);
        this.read(`${what} snapshot get`, () => {
          const got = this.getValue(op.key, s.snap);
          check(got === want, () => `${what} snapshot get ${JSON.stringify(op.key)}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
        });
        break;
      }
      case 'snapIter': {
        const s = this.snapAt(op.n);
        if (s === undefined) break;
        this.checkScan(op, rangeOf(s.model, op), `${what} snapshot iterate ${JSON.stringify(iterOptions(op))}`, s.snap);
        break;
      }
      case 'release': {
        if (this.snaps.length === 0) break;
        const [s] = this.snaps.splice(op.n % this.snaps.length, 1);
        s!.snap.release();
        break;
      }
      case 'flush':
        await this.maintenance('flush', () => db.flush());
        break;
      case 'sync':
        await this.maintenance('sync', () => db.sync());
        break;
      case 'compactRange':
        await this.maintenance('compactRange', () => db.compactRange(op.start, op.end));
        break;
      case 'flatten':
        await this.maintenance('flatten', () => db.flatten());
        break;
      case 'verify': {
        let report;
        try {
          report = await db.verify();
        } catch (e) {
          this.refused(e, `${what} verify`, READ_FAULTS);
          break;
        }
        // A bit flipped on a read (not on disk) shows as a damaged table block.
        const st = this.fs.stats();
        const real = report.problems.filter((p) => !(p.file.endsWith('.sst') && st.faults.read > 0) && !(p.message.startsWith('cannot read') && st.faults.open > 0));
        check(real.length === 0, () => `${what} verify() found damage in a store that was never damaged: ${JSON.stringify(report.problems)}`);
        break;
      }
      case 'reopen':
        await this.reopen(`${what} reopen`);
        break;
      case 'crash':
        await this.crash(op.keep, op.seed, `${what} crash (keepUnsynced '${op.keep}', seed ${op.seed})`);
        break;
      case 'fault':
        this.fs.addRule(faultRule(op.fault, op.nth));
        break;
    }
    if (this.failed) await this.recoverFailed(index, `${what} ${op.op}`);
  }

  async finish(): Promise<void> {
    await this.reopen('the final reopen');
    await this.db.close();
    this.tally.faults += this.fs.stats().faultsTotal;
  }
}

/** An operation that takes longer than this is a hang (a sequence takes well under a second). */
const OP_TIMEOUT_MS = 20_000;

async function hangGuard<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Mismatch(`${what} still pending after ${OP_TIMEOUT_MS} ms: a hang`)), OP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The op log of a failure: one op per line, as JSON, ready to paste into `runOps`. */
export function formatOps(ops: readonly Op[], failedAt?: number): string {
  return ops.map((op, i) => `${i === failedAt ? '>>' : '  '} /* #${i} */ ${JSON.stringify(op)},`).join('\n');
}

export class MetamorphicFailure extends Error {}

/**
 * Runs one sequence under one option set against the model. Throws MetamorphicFailure with the
 * op log on the first disagreement.
 */
export async function runOps(config: MetaConfig, ops: readonly Op[], tally: Tally = newTally()): Promise<void> {
  const run = new Run(config, tally);
  tally.runs++;
  let at = -1;
  try {
    await run.start();
    for (at = 0; at < ops.length; at++) {
      await hangGuard(run.step(ops[at]!, at), `op #${at}`);
      tally.ops++;
    }
    at = ops.length;
    await hangGuard(run.finish(), 'the final reopen');
  } catch (e) {
    await hangGuard(run.db?.close() ?? Promise.resolve(), 'closing after a failure').catch(() => undefined);
    const where = at < 0 ? 'opening' : at < ops.length ? `op #${at} ${JSON.stringify(ops[at])}` : 'the final reopen';
    const why = e instanceof Mismatch ? e.message : `unexpected ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    throw new MetamorphicFailure(`metamorphic test under ${config.name} failed at ${where}:\n${why}\n\nop log (paste into runOps(configNamed('${config.name}'), [...])):\n${formatOps(ops, at)}`, { cause: e });
  }
}

export interface CheckResult {
  seed: number;
  tally: Tally;
}

/**
 * Runs `numRuns` generated sequences under `config` with fast-check (seeded), stopping at the
 * first failure; then shrinks that failure, from its replay path, for at most `shrinkMs`
 * (a sequence's failure often hangs on exact fault counts and crash seeds, so most shrink
 * candidates pass and a full shrink can take many minutes). Throws with the seed, the replay
 * command and the (partly) shrunk op log.
 */
export async function checkConfig(config: MetaConfig, o: { seed: number; numRuns: number; path?: string; maxOps?: number; shrinkMs?: number }): Promise<CheckResult> {
  const tally = newTally();
  const property = (t: Tally): fc.IAsyncProperty<[Op[]]> =>
    fc.asyncProperty(opsArb(o.maxOps ?? config.maxOps), async (ops) => {
      await runOps(config, ops, t);
    });
  const params: fc.Parameters<[Op[]]> = { seed: o.seed, numRuns: o.numRuns, endOnFailure: true };
  if (o.path !== undefined) params.path = o.path;
  const found = await fc.check(property(tally), params);
  if (!found.failed) return { seed: o.seed, tally };
  const shrunk = await fc.check(property(newTally()), {
    seed: o.seed,
    numRuns: o.numRuns,
    path: found.counterexamplePath ?? '',
    endOnFailure: false,
    interruptAfterTimeLimit: o.shrinkMs ?? 60_000,
  });
  const details = shrunk.failed ? shrunk : found;
  const err = details.errorInstance;
  const path = details.counterexamplePath ?? '';
  const replay = `SETT_CONFIG=${config.name} SETT_SEED=${o.seed} SETT_PATH=${path}`;
  throw new MetamorphicFailure(
    `metamorphic test under ${config.name}: seed ${o.seed} failed at its run ${(found.counterexamplePath ?? '').split(':')[0]} ` +
      `(shrunk ${details.numShrinks} times${shrunk.interrupted ? ', shrinking stopped at its time limit' : ''})\n` +
      `replay: ${replay} npx vitest run test/sim/metamorphic.test.ts   (or: npm run test:soak -- --config ${config.name} --seed ${o.seed} --path ${path} --seeds 1)\n\n` +
      `${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
