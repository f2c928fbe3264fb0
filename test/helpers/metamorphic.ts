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
 * read), and transactions: one at a time (by hand, or through update() and view()), or two or
 * three interleaved with plain writes and flushes over a few keys, so that they conflict.
 * Transaction puts may carry an expiry: already past, or some seconds after a test clock
 * (clock.ts: Date.now() replaced for the sequence, starting at 2026-01-01T00:00:00Z) that
 * `advance` operations move forward; blind transactions of such puts (most over keys written
 * only with a TTL) fill tables whose entries expire, so that expiry compactions run. The
 * same sequence runs against the engine under an option set and against a plain map, and every
 * observable result must match:
 *   - reads (get, scans, snapshot reads) equal the model as visible at the clock's time (an
 *     entry is gone once the clock reaches its expiry, as a delete; snapshots pin versions, not
 *     the time); after an injected read fault a read may instead fail with ErrIO /
 *     ErrCorruption (what a scan returned before must be right);
 *   - reads inside a transaction equal the model at its read version with its own pending
 *     writes over it (puts, deletes, puts with an expiry), visible at the clock's time; a write
 *     past its size limit is ErrTxnTooBig, one in a read-only transaction ErrReadOnlyTxn;
 *   - a commit is ErrConflict exactly when a write acknowledged after the transaction began
 *     (a commit, put or batch) wrote a key it read or a key inside a range it iterated (up to
 *     the last key returned, if the iterator stopped early); else it applies as one batch, or
 *     is refused by a fault like a batch. Only a write refused by a fault in the same group may
 *     add a conflict; read-only and write-less transactions never conflict;
 *   - a write resolves (applied), or fails with ErrInsufficientDiskSpace / ErrIO after a fault
 *     (not applied, and never appears later), or with ErrStoreFailed (maybe applied: the store
 *     is recovered at once, by a reopen or a crash); no error at all without a fault that
 *     explains it;
 *   - after a crash, the recovered state equals the model at the last synced point plus some
 *     prefix of the writes after it, in order, batches whole, compared as visible at the
 *     clock's time; the run continues from that prefix. With keepUnsynced 'all' it must be
 *     every acknowledged write. After a clean close it is exactly every acknowledged write.
 *
 * Expiry never makes a conflict: only writes do (src/txn/oracle.ts), and reading a key whose
 * entry expired counts as a read of it like any other.
 *
 * A committed transaction is one write, so after a crash it is there whole or not at all.
 *
 * Operations are plain JSON (metamorphic-ops.ts), so a failure's op log can be pasted into
 * `runOps` as a regression test. Later issues add their operations (value log GC) there and
 * their effect here.
 */
import fc from 'fast-check';
import type { DB } from '../../src/api/db.js';
import { SettError } from '../../src/api/errors.js';
import type { DBIterator } from '../../src/api/iterator.js';
import type { Options } from '../../src/api/options.js';
import type { Snapshot } from '../../src/api/snapshot.js';
import { fromUtf8 } from '../../src/codec/bytes.js';
import { encodedValueLength } from '../../src/codec/value.js';
import { FaultFileSystem } from '../../src/fs/fault.js';
import { type KeepUnsynced, MemoryFileSystem } from '../../src/fs/memory.js';
import { open } from '../../src/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { Memtable } from '../../src/memtable/index.js';
import type { Txn, TxnPutOptions } from '../../src/txn/txn.js';
import { CLOCK_START_MS, TestClock } from './clock.js';
import { type BurstWrite, faultRule, type MetaConfig, type Op, opsArb, type Range, type ScriptStep, type TxnScan, type TxnStep, type TxnWrite, type Val, valueOf, type WriteOp } from './metamorphic-ops.js';

export * from './metamorphic-ops.js';

// ---------------------------------------------------------------------------------------------
// Model

/** A key's newest write in the model: its value and its expiry (unix seconds; 0: none). */
interface Entry {
  value: string;
  expiresAt: number;
}
/** Every key's newest put; reads see the entries visible at the test clock's time. */
type Model = Map<string, Entry>;

/** A write as the model applies it: a put may carry an expiry (transactions only). */
type Write = { type: 'put'; key: string; value: Val; expiresAt?: number } | { type: 'del'; key: string };

function applyTo(m: Model, op: Write): void {
  if (op.type === 'put') m.set(op.key, { value: valueOf(op.value), expiresAt: op.expiresAt ?? 0 });
  else m.delete(op.key);
}

/**
 * The engine's rule (isDeadValue in src/engine/db-iterator.ts, pendingVisible in
 * src/txn/txn-iterator.ts): an entry with an expiry is dead once `expiresAt <= now`, both in
 * whole unix seconds, `now` taken when the read (or the iterator) starts. An expired entry
 * hides older values of its key like a delete. Snapshots do not freeze the clock: a snapshot
 * read also judges expiry at the time of the read.
 */
function visibleAt(e: Entry | undefined, now: number): e is Entry {
  return e !== undefined && (e.expiresAt === 0 || e.expiresAt > now);
}

function valueAt(m: Model, key: string, now: number): string | undefined {
  const e = m.get(key);
  return visibleAt(e, now) ? e.value : undefined;
}

/** Whether `k` lies inside the bounds of `r`. Keys are ASCII, so JS string order is byte order. */
function inBounds(r: Range, k: string): boolean {
  if (r.lower !== undefined && (r.lower[1] ? k < r.lower[0] : k <= r.lower[0])) return false;
  if (r.upper !== undefined && (r.upper[1] ? k > r.upper[0] : k >= r.upper[0])) return false;
  return true;
}

function rangeOf(m: Model, r: Range, now: number): [string, string][] {
  let out: [string, string][] = [];
  for (const [k, e] of m) if (inBounds(r, k) && visibleAt(e, now)) out.push([k, e.value]);
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

/** Where `got` differs from `want` (both in key order): keys only in one, and keys whose values differ. */
function diff(got: readonly [string, string][], want: readonly [string, string][], note: (key: string) => string = () => ''): string {
  const w = new Map(want);
  const g = new Map(got);
  const out: string[] = [];
  for (const [k, v] of got) if (!w.has(k)) out.push(`+${JSON.stringify(k)}${note(k)}`);
  else if (w.get(k) !== v) out.push(`~${JSON.stringify(k)}=${JSON.stringify(v.slice(0, 14))} (want ${JSON.stringify(w.get(k)!.slice(0, 14))})`);
  for (const [k] of want) if (!g.has(k)) out.push(`-${JSON.stringify(k)}${note(k)}`);
  if (out.length === 0) return 'the same entries';
  return out.length > 20 ? `${out.slice(0, 20).join(' ')} … ${out.length - 20} more` : out.join(' ');
}

function sameEntries(a: readonly [string, string][], b: readonly [string, string][]): boolean {
  return a.length === b.length && a.every(([k, v], i) => b[i]![0] === k && b[i]![1] === v);
}

function sortedEntries(m: Model, now: number): [string, string][] {
  return rangeOf(m, {}, now);
}

/** The expiry of an `expired` put: one second after the epoch, long gone. */
const EXPIRED_AT = 1;

/** The expiry a transaction put carries (0: none) when the clock reads `now`. */
function expiryOf(s: TxnWrite, now: number): number {
  if (s.do !== 'put') return 0;
  if (s.expired === true) return EXPIRED_AT;
  return s.ttl === undefined ? 0 : now + s.ttl;
}

/**
 * Arena bytes a transaction write takes, as src/txn/txn.ts counts them against `txnBytesMax`
 * (key + version trailer, encoded value with its expiry and userMeta, memtable node overhead).
 */
function txnWriteBytes(s: TxnWrite, expiresAt: number): number {
  const valueLen = s.do === 'put' ? valueOf(s.value).length : 0;
  return Memtable.entrySize(s.key.length + 8, encodedValueLength(valueLen, expiresAt, s.do === 'put' && s.meta !== undefined));
}

/**
 * A transaction as the model sees it: the model at its read version with its own pending
 * writes over it, and what it read from the store, which decides whether its commit conflicts:
 * keys read by get/has and not answered by its own writes, and the ranges its iterators covered
 * (the whole bounds if one ran to its end or is still open; up to the last key returned if it
 * stopped early at its limit or was closed; nothing if it stopped before returning anything).
 */
class TxnModel {
  /** Pending writes by key, puts with their expiry. */
  readonly pending = new Map<string, Write>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  readonly readKeys = new Set<string>();
  readonly ranges: Range[] = [];

  /** `seq`: acknowledged writes before it began (its read version). */
  /** `now`: the test clock's time (reads judge expiry when they run, not when the transaction began). */
  constructor(
    readonly base: Model,
    readonly seq: number,
    readonly readOnly: boolean,
    private readonly now: () => number,
  ) {}

  /** A read of `key`: its own pending write if it has one (a read of the store otherwise, which counts for conflicts). */
  get(key: string): string | undefined {
    const own = this.pending.get(key);
    if (own !== undefined) {
      if (own.type === 'del') return undefined;
      const e = { value: valueOf(own.value), expiresAt: own.expiresAt ?? 0 };
      return visibleAt(e, this.now()) ? e.value : undefined;
    }
    if (!this.readOnly) this.readKeys.add(key);
    return valueAt(this.base, key, this.now());
  }

  /** What an iterator over `r` returns (to its limit). */
  rows(r: Range): [string, string][] {
    const view = new Map(this.base);
    for (const op of this.pending.values()) applyTo(view, op);
    return rangeOf(view, r, this.now());
  }

  /** Records the range an iterator observed: `shown` what it returned (undefined: still open), `early` if it stopped before its end. */
  scanned(r: Range, shown: readonly [string, string][] | undefined, early: boolean): void {
    if (this.readOnly) return;
    const range: Range = {};
    if (r.lower !== undefined) range.lower = r.lower;
    if (r.upper !== undefined) range.upper = r.upper;
    if (shown !== undefined && early) {
      const last = shown[shown.length - 1];
      if (last === undefined) return;
      if (r.reverse === true) range.lower = [last[0], true];
      else range.upper = [last[0], true];
    }
    this.ranges.push(range);
  }

  /** Whether a write of `key` by someone else changes what this transaction read. */
  observed(key: string): boolean {
    return this.readKeys.has(key) || this.ranges.some((r) => inBounds(r, key));
  }

  /** Adds a write with its expiry, unless it would take the transaction past `max` bytes (ErrTxnTooBig: not added). */
  write(s: TxnWrite, expiresAt: number, max: number): boolean {
    const bytes = txnWriteBytes(s, expiresAt);
    const next = this.bytes - (this.sizes.get(s.key) ?? 0) + bytes;
    if (next > max) return false;
    this.bytes = next;
    this.sizes.set(s.key, bytes);
    this.pending.set(s.key, s.do === 'put' ? { type: 'put', key: s.key, value: s.value, expiresAt } : { type: 'del', key: s.key });
    return true;
  }

  writes(): Write[] {
    return [...this.pending.values()];
  }
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
  /** Of them, compactions for expired entries (compaction/expiry.ts). */
  expiryCompactions: number;
  /** Transactions begun, committed with writes, and refused with ErrConflict. */
  txns: number;
  txnCommits: number;
  conflicts: number;
  /** Acknowledged puts with an expiry still ahead of the clock, and advances of the clock. */
  ttlPuts: number;
  advances: number;
}

export function newTally(): Tally {
  return {
    runs: 0,
    ops: 0,
    crashes: 0,
    reopens: 0,
    faults: 0,
    refusedWrites: 0,
    lostUnsynced: 0,
    flushes: 0,
    compactions: 0,
    expiryCompactions: 0,
    txns: 0,
    txnCommits: 0,
    conflicts: 0,
    ttlPuts: 0,
    advances: 0,
  };
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

/** An open transaction and its model. */
interface OpenTxn {
  txn: Txn;
  model: TxnModel;
}

/** A commit or plain write issued in a script, settled (checked and applied) in issue order. */
interface Issued {
  done: Promise<PromiseSettledResult<unknown>>;
  settle(r: PromiseSettledResult<unknown>): void;
}

/**
 * Whether a commit must conflict, may (only writes refused by a fault touched what it read: the
 * oracle saw them before they failed), or must not.
 */
type Conflict = 'must' | 'may' | 'none';

/** Thrown from an update() callback to roll it back. */
const ROLLBACK = new Error('metamorphic: roll back');

async function settled(call: () => Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
  try {
    return { status: 'fulfilled', value: await call() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

function codeOf(e: unknown): string | undefined {
  return e instanceof SettError ? e.code : undefined;
}

/** Issues a plain write of `ops`: a put or delete for one op, else a batch (array form). */
function issueWrite(db: DB, ops: readonly WriteOp[], sync: boolean | undefined): Promise<void> {
  const o = sync === true ? { sync: true } : undefined;
  const only = ops[0]!;
  if (ops.length > 1) return db.batch(ops.map((x) => (x.type === 'put' ? { type: 'put' as const, key: x.key, value: valueOf(x.value) } : x)), o);
  return only.type === 'put' ? db.put(only.key, valueOf(only.value), o) : db.delete(only.key, o);
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
  /** Acknowledged writes numbered in order; `history` holds those of the current operation (transactions live within one). */
  seq = 0;
  history: { seq: number; keys: string[] }[] = [];
  /** Keys of writes refused by a fault in the group being settled. */
  groupRefusedKeys = new Set<string>();

  constructor(
    readonly config: MetaConfig,
    readonly tally: Tally,
    readonly clock: TestClock,
  ) {
    this.mem = new MemoryFileSystem();
    this.fs = new FaultFileSystem(this.mem);
    this.options = { path: PATH, fs: this.fs, ...config.options };
  }

  get model(): Model {
    return this.states[this.states.length - 1]!.model;
  }

  /** The test clock's time in unix seconds: what every read judges expiry by. */
  get now(): number {
    return this.clock.seconds;
  }

  /** How the model's entry for `key` stands at the clock (for failure messages). */
  entryNote(m: Model, key: string): string {
    const e = m.get(key);
    if (e === undefined || e.expiresAt === 0) return '';
    const at = e.expiresAt === EXPIRED_AT ? 'written expired' : `expires at clock +${e.expiresAt - CLOCK_START_MS / 1000} s`;
    return ` (model entry ${JSON.stringify(e.value.length > 14 ? `${e.value.slice(0, 12)}…(${e.value.length})` : e.value)} ${at}; the clock is at +${this.clock.elapsed} s)`;
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

  private wrote(ops: readonly Write[], acked: boolean): void {
    const next = new Map(this.model);
    for (const op of ops) applyTo(next, op);
    this.states.push({ model: next, acked });
    if (!acked) return;
    this.history.push({ seq: ++this.seq, keys: ops.map((o) => o.key) });
  }

  /** Runs a write (the caller recovers the store if it failed). */
  private async write(ops: readonly WriteOp[], sync: boolean | undefined, call: () => Promise<void>): Promise<void> {
    this.groupRefusedKeys.clear();
    this.settleWrite(ops, sync, await settled(call), 'write');
  }

  /** A write resolved (applied; durable if synced) or was refused. */
  private settleWrite(ops: readonly Write[], sync: boolean | undefined, r: PromiseSettledResult<unknown>, what: string): void {
    if (r.status === 'rejected') {
      this.refusedWrite(r.reason, ops, what);
      return;
    }
    this.wrote(ops, true);
    if (sync === true || this.config.options.sync === true) this.durable();
  }

  /** A write was refused: only after an injected fault, and it is not applied (unless its store failed under it: maybe). */
  private refusedWrite(e: unknown, ops: readonly Write[], what: string): void {
    this.refused(e, what, WRITE_FAULTS);
    this.tally.refusedWrites++;
    for (const o of ops) {
      this.groupRefusedKeys.add(o.key);
    }
    if (this.failed) this.wrote(ops, false);
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
      pending.push(issueWrite(db, w.ops, w.sync));
    }
    const results = await Promise.allSettled(pending);
    const flushResult = flushed === undefined ? undefined : (await flushed)[0]!;
    this.groupRefusedKeys.clear();
    for (const [i, r] of results.entries()) {
      // flush() drains the writes queued before it and seals them: they are durable once it resolves.
      if (i === flushAt && flushResult?.status === 'fulfilled' && !this.failed) this.durable();
      this.settleWrite(writes[i]!.ops, writes[i]!.sync, r, `burst write ${i}`);
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
    check(sameEntries(got, want), () => `${what}: got ${show(got)}, model ${show(want)}\n  got vs model: ${diff(got, want)}`);
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

  /**
   * The expiry (0: none) of every key's newest version, where that version is visible: what a
   * scan does not show. Two states can scan alike now and part later, when an entry with an
   * expiry and one without (or with another) hold the same value: a recovery must match both.
   */
  private expiries(): Map<string, number> {
    const out = new Map<string, number>();
    let last: string | undefined;
    for (const v of this.db.versions({})) {
      const k = fromUtf8(v.key);
      if (k === last) continue;
      last = k;
      if (!v.deleted && !v.expired) out.set(k, v.expiresAt);
    }
    return out;
  }

  private getValue(key: string, snapshot?: Snapshot): string | undefined {
    const v = snapshot === undefined ? this.db.getSync(key) : this.db.getSync(key, { snapshot });
    return v === undefined ? undefined : fromUtf8(v);
  }

  private fullCheck(what: string): void {
    this.expectRead(this.scan({}), sortedEntries(this.model, this.now), `${what}: full scan`);
    this.expectRead(this.scan({ reverse: true }), sortedEntries(this.model, this.now).reverse(), `${what}: full reverse scan`);
  }

  /** Engine counters start again at every open: add them up before a store goes away. */
  private collectStats(): void {
    if (this.db.closed) return;
    const st = this.db.stats();
    this.tally.flushes += st.counters.flushes;
    this.tally.compactions += st.levels.reduce((n, l) => n + l.compactions, 0);
    this.tally.expiryCompactions += st.counters.expiryCompactions;
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
    // Compared as visible now (an entry that expired since it was written is absent on both
    // sides), expiries included (an entry still visible must expire when the model says).
    const got = this.scan({});
    const expiries = this.expiries();
    const sameExpiries = (m: Model): boolean => [...expiries].every(([k, at]) => m.get(k)?.expiresAt === at);
    const hi = this.states.length - 1;
    let match = -1;
    for (let i = hi; i >= lo; i--) {
      if (sameEntries(got, sortedEntries(this.states[i]!.model, this.now)) && sameExpiries(this.states[i]!.model)) {
        match = i;
        break;
      }
    }
    check(match >= 0, () => {
      const lines = [
        `${what}: the recovered state matches no state from the last durable point (${lo} of ${hi} writes since it) on, as visible at clock +${this.clock.elapsed} s`,
        `recovered: ${show(got)}`,
      ];
      for (let i = Math.max(0, lo - 1); i <= hi; i++) {
        const want = sortedEntries(this.states[i]!.model, this.now);
        const m = this.states[i]!.model;
        const when = (at: number): string => (at === 0 ? 'never' : `+${at - CLOCK_START_MS / 1000} s`);
        const expiry = [...expiries].filter(([k, at]) => m.get(k) !== undefined && m.get(k)!.expiresAt !== at).map(([k, at]) => `${JSON.stringify(k)} ${when(at)} (model ${when(m.get(k)!.expiresAt)})`);
        lines.push(
          `state ${i}${i < lo ? ' (before the range)' : ''}${this.states[i]!.acked ? '' : ' (unacknowledged)'}: ${show(want)}\n  recovered vs state ${i}: ${diff(got, want, (k) => this.entryNote(m, k))}` +
            (expiry.length === 0 ? '' : `\n  expiries that differ: ${expiry.join(', ')}`),
        );
      }
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

  // -------------------------------------------------------------------------------------------
  // Transactions

  private begin(txn: Txn, readOnly: boolean): OpenTxn {
    this.tally.txns++;
    return { txn, model: new TxnModel(new Map(this.model), this.seq, readOnly, () => this.now) };
  }

  /** A read inside a transaction equals the model at its read version with its own writes over it; a write is buffered. */
  private txnStep(h: OpenTxn, s: TxnStep, what: string): void {
    switch (s.do) {
      case 'get': {
        const want = h.model.get(s.key);
        this.read(`${what} get`, () => {
          const v = h.txn.getSync(s.key);
          const got = v === undefined ? undefined : fromUtf8(v);
          check(got === want, () => `${what} get ${JSON.stringify(s.key)}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}`);
        });
        break;
      }
      case 'has': {
        const want = h.model.get(s.key) !== undefined;
        this.read(`${what} has`, () => check(h.txn.hasSync(s.key) === want, () => `${what} has ${JSON.stringify(s.key)}: got ${!want}, model ${want}`));
        break;
      }
      case 'put':
      case 'del':
        this.txnWrite(h, s, what);
        break;
      case 'iter':
        this.txnScan(h, s, what);
        break;
    }
  }

  /** A write is buffered, or refused: ErrReadOnlyTxn in a read-only transaction, ErrTxnTooBig past the size limit. */
  private txnWrite(h: OpenTxn, s: TxnWrite, what: string): void {
    const expiresAt = expiryOf(s, this.now);
    const expected = h.model.readOnly ? 'ErrReadOnlyTxn' : h.model.write(s, expiresAt, h.txn.txnBytesMax) ? undefined : 'ErrTxnTooBig';
    let got: string | undefined;
    try {
      if (s.do === 'del') h.txn.delete(s.key);
      else {
        const o: TxnPutOptions = {};
        if (s.meta !== undefined) o.userMeta = s.meta;
        // A TTL goes in as `ttl` or as the same absolute `expiresAt`, by the value's tag.
        if (s.ttl !== undefined && s.expired !== true && s.value.tag % 2 === 0) o.ttl = s.ttl;
        else if (expiresAt !== 0) o.expiresAt = expiresAt;
        h.txn.put(s.key, valueOf(s.value), o);
      }
    } catch (e) {
      got = codeOf(e) ?? String(e);
    }
    check(got === expected, () => `${what} ${s.do} ${JSON.stringify(s.key)}: ${got ?? 'buffered'}, model ${expected ?? 'buffered'}`);
  }

  /**
   * An iterator equals the model's merge of the snapshot and the pending writes; `take` closes
   * it after that many entries. What it observed counts for the commit's conflict check.
   */
  private txnScan(h: OpenTxn, s: TxnScan, what: string): void {
    const want = h.model.rows(s);
    const shown = s.take === undefined ? want : want.slice(0, s.take);
    const early = (s.limit !== undefined && want.length === s.limit) || (s.take !== undefined && want.length >= s.take);
    const label = `${what} iterate ${JSON.stringify(iterOptions(s))}${s.take === undefined ? '' : ` closed after ${s.take}`}`;
    let it: DBIterator;
    try {
      it = h.txn.iterator(iterOptions(s));
    } catch (e) {
      this.refused(e, label, READ_FAULTS);
      return;
    }
    const got: [string, string][] = [];
    try {
      if (s.take === 0) it.closeSync();
      for (const [k, v] of it) {
        got.push([fromUtf8(k), fromUtf8(v)]);
        if (got.length === s.take) break;
      }
    } catch (e) {
      // Left open by the failed read: its whole range counts.
      this.refused(e, label, READ_FAULTS);
      h.model.scanned(s, undefined, false);
      this.expectRead(got, shown.slice(0, got.length), `${label} (up to the read that failed)`);
      return;
    }
    h.model.scanned(s, shown, early);
    this.expectRead(got, shown, label);
  }

  /**
   * Whether `t`'s commit conflicts: it must if a write acknowledged after it began touched a
   * key it read or a range it iterated; it may if only a write refused by a fault did (in the
   * same group, validated before the group failed: the oracle saw it then). Read-only transactions and ones without writes never conflict.
   */
  private conflictOf(t: TxnModel): [Conflict, () => string] {
    if (t.readOnly || t.pending.size === 0) return ['none', () => 'it has no writes'];
    const hit = this.history.find((w) => w.seq > t.seq && w.keys.some((k) => t.observed(k)));
    if (hit !== undefined) return ['must', () => `it read what write ${hit.seq} (keys ${JSON.stringify(hit.keys)}) changed after it began at ${t.seq}`];
    const stale = [...this.groupRefusedKeys].filter((k) => t.observed(k));
    if (stale.length > 0) return ['may', () => `it read keys ${JSON.stringify(stale)} of writes refused since the last acknowledged one`];
    const since = this.history.filter((w) => w.seq > t.seq);
    return ['none', () => `it began at ${t.seq}, read keys ${JSON.stringify([...t.readKeys])} and ranges ${JSON.stringify(t.ranges)}; writes since: ${JSON.stringify(since)}`];
  }

  /** A commit resolved (applied as one write), was refused with ErrConflict (as the model predicts), or by a fault (like a batch). */
  private settleCommit(h: OpenTxn, r: PromiseSettledResult<unknown>, sync: boolean | undefined, what: string): void {
    const [conflict, why] = this.conflictOf(h.model);
    const ops = h.model.writes();
    if (r.status === 'fulfilled') {
      check(conflict !== 'must', () => `${what}: committed, but the model has a conflict: ${why()}`);
      if (h.model.readOnly || ops.length === 0) return;
      this.tally.txnCommits++;
      for (const o of ops) if (o.type === 'put' && (o.expiresAt ?? 0) > this.now) this.tally.ttlPuts++;
      this.wrote(ops, true);
      if (sync === true || this.config.options.sync === true) this.durable();
      return;
    }
    if (codeOf(r.reason) === 'ErrConflict') {
      check(conflict !== 'none', () => `${what}: ErrConflict, but the model has none: ${why()}`);
      this.tally.conflicts++;
      return;
    }
    this.refusedWrite(r.reason, ops, `${what} commit`);
  }

  /** After commit or rollback the transaction refuses to be used. */
  private expectDone(h: OpenTxn, what: string): void {
    let code: string | undefined;
    try {
      h.txn.getSync('k000');
    } catch (e) {
      code = codeOf(e);
    }
    check(code === 'ErrTxnDone', () => `${what}: a finished transaction still reads (${code ?? 'no error'})`);
  }

  /** One transaction: by hand (transaction(), commit()/rollback()) on even ops, through update()/view() on odd ones. */
  private async txnOp(op: Op & { op: 'txn' }, index: number, what: string): Promise<void> {
    this.groupRefusedKeys.clear();
    const readOnly = op.readOnly === true;
    if (index % 2 === 0) {
      const h = this.begin(this.db.transaction(readOnly ? { readOnly: true } : {}), readOnly);
      for (const s of op.steps) this.txnStep(h, s, `${what} txn`);
      if (op.end === 'rollback') h.txn.rollback();
      else this.settleCommit(h, await settled(() => h.txn.commit(op.sync === true ? { sync: true } : undefined)), op.sync, what);
      this.expectDone(h, what);
      return;
    }
    let h: OpenTxn | undefined;
    const fn = (txn: Txn): void => {
      h = this.begin(txn, readOnly);
      for (const s of op.steps) this.txnStep(h, s, `${what} ${readOnly ? 'view' : 'update'}`);
      if (op.end === 'rollback' && !readOnly) throw ROLLBACK;
    };
    const r = await settled(() => (readOnly ? this.db.view(fn) : this.db.update(fn, op.sync === true ? { sync: true } : {})));
    if (r.status === 'rejected' && (r.reason instanceof Mismatch || h === undefined)) throw r.reason;
    this.expectDone(h!, what);
    if (r.status === 'rejected' && r.reason === ROLLBACK) return;
    if (readOnly) check(r.status === 'fulfilled', () => `${what} view failed: ${String((r as PromiseRejectedResult).reason)}`);
    else this.settleCommit(h!, r, op.sync, what);
  }

  /**
   * An interleaved script of transactions and plain writes. Commits and writes in a row are
   * issued together, without waiting, then settled in issue order (the commit queue is FIFO,
   * and each commit is validated against everything accepted before it, its group included).
   */
  private async script(steps: readonly ScriptStep[], what: string): Promise<void> {
    const open = new Map<number, OpenTxn>();
    let issued: Issued[] = [];
    for (const [i, s] of steps.entries()) {
      const at = `${what} step ${i}`;
      if (s.do === 'commit' || s.do === 'write') {
        const x = this.issue(s, open, at);
        if (x !== undefined) issued.push(x);
        continue;
      }
      await this.settleIssued(issued);
      issued = [];
      // After ErrStoreFailed the model's last state may not have happened: stop, the store is recovered next.
      if (this.failed) break;
      await this.scriptStep(s, open, at);
    }
    await this.settleIssued(issued);
    for (const h of open.values()) h.txn.rollback();
  }

  private issue(s: ScriptStep & { do: 'commit' | 'write' }, open: Map<number, OpenTxn>, what: string): Issued | undefined {
    if (s.do === 'write') {
      const done = settled(() => issueWrite(this.db, s.ops, s.sync));
      return { done, settle: (r) => this.settleWrite(s.ops, s.sync, r, what) };
    }
    const h = open.get(s.t);
    if (h === undefined) return undefined;
    open.delete(s.t);
    const done = settled(() => h.txn.commit(s.sync === true ? { sync: true } : undefined));
    return { done, settle: (r) => this.settleCommit(h, r, s.sync, `${what} commit of txn ${s.t}`) };
  }

  private async settleIssued(issued: readonly Issued[]): Promise<void> {
    if (issued.length === 0) return;
    const results = await Promise.all(issued.map((x) => x.done));
    this.groupRefusedKeys.clear();
    for (const [i, r] of results.entries()) issued[i]!.settle(r);
  }

  private async scriptStep(s: ScriptStep & { do: Exclude<ScriptStep['do'], 'commit' | 'write'> }, open: Map<number, OpenTxn>, what: string): Promise<void> {
    switch (s.do) {
      case 'begin':
        if (!open.has(s.t)) open.set(s.t, this.begin(this.db.transaction(s.readOnly === true ? { readOnly: true } : {}), s.readOnly === true));
        break;
      case 'rollback':
        open.get(s.t)?.txn.rollback();
        open.delete(s.t);
        break;
      case 'flush':
        await this.maintenance(`${what} flush`, () => this.db.flush());
        break;
      case 'flatten':
        await this.maintenance(`${what} flatten`, () => this.db.flatten());
        break;
      case 'advance':
        this.advance(s.s);
        break;
      default: {
        const h = open.get(s.t);
        if (h !== undefined) this.txnStep(h, s, `${what} txn ${s.t}`);
      }
    }
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
        const want = valueAt(this.model, op.key, this.now);
        this.read(`${what} get`, () => {
          const got = this.getValue(op.key);
          check(got === want, () => `${what} get ${JSON.stringify(op.key)}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}${this.entryNote(this.model, op.key)}`);
        });
        this.read(`${what} has`, () => check(db.hasSync(op.key) === (want !== undefined), () => `${what} has ${JSON.stringify(op.key)}`));
        break;
      }
      case 'iter':
        this.checkScan(op, rangeOf(this.model, op, this.now), `${what} iterate ${JSON.stringify(iterOptions(op))}`);
        break;
      case 'snapshot':
        if (this.snaps.length >= SNAPSHOTS_MAX) this.snaps.shift()!.snap.release();
        this.snaps.push({ snap: db.snapshot(), model: new Map(this.model) });
        break;
      case 'snapGet': {
        const s = this.snapAt(op.n);
        if (s === undefined) break;
        // Expiry is judged at the time of the read, not of the snapshot.
        const want = valueAt(s.model, op.key, this.now);
        this.read(`${what} snapshot get`, () => {
          const got = this.getValue(op.key, s.snap);
          check(got === want, () => `${what} snapshot get ${JSON.stringify(op.key)}: got ${JSON.stringify(got)}, model ${JSON.stringify(want)}${this.entryNote(s.model, op.key)}`);
        });
        break;
      }
      case 'snapIter': {
        const s = this.snapAt(op.n);
        if (s === undefined) break;
        this.checkScan(op, rangeOf(s.model, op, this.now), `${what} snapshot iterate ${JSON.stringify(iterOptions(op))}`, s.snap);
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
      case 'advance':
        this.advance(op.s);
        break;
      case 'txn':
        await this.txnOp(op, index, what);
        break;
      case 'txns':
        await this.script(op.steps, `${what} txns`);
        break;
    }
    // No transaction outlives its operation: the history of writes it could conflict with goes too.
    this.history = [];
    if (this.failed) await this.recoverFailed(index, `${what} ${op.op}`);
  }

  /**
   * The test clock moves on; reads see the new time at once. The compactor looks for tables
   * whose entries expired, as its expiry timer would make it by now: that timer counts real
   * milliseconds (setTimeout), so a jump of the test clock never fires it. (It looks anyway
   * after every flush and compaction, and at open.)
   */
  private advance(s: number): void {
    this.clock.advance(s);
    this.tally.advances++;
    (this.db as unknown as { engine: Engine }).engine.compactor.schedule();
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
  // Every sequence starts at the same instant, so that its op log replays the same times.
  const clock = TestClock.install();
  const run = new Run(config, tally, clock);
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
    const when = `test clock at +${clock.elapsed} s (${new Date(CLOCK_START_MS + clock.elapsed * 1000).toISOString()})`;
    throw new MetamorphicFailure(`metamorphic test under ${config.name} failed at ${where}, ${when}:\n${why}\n\nop log (paste into runOps(configNamed('${config.name}'), [...])):\n${formatOps(ops, at)}`, { cause: e });
  } finally {
    clock.restore();
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
export async function checkConfig(
  config: MetaConfig,
  o: { seed: number; numRuns: number; path?: string; maxOps?: number; shrinkMs?: number },
): Promise<CheckResult> {
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
