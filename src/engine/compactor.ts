/**
 * Runs compactions for an open engine, next to the flusher: up to the runner's parallelism at
 * once, on disjoint input tables and output ranges (an L0 compaction runs beside a long one
 * deeper down instead of waiting behind it), a large merge split into shards across the free
 * threads. Picks the most urgent level (compaction/picker.ts), runs the merge through a
 * `CompactionRunner` (inline with time slices, or on worker threads on Node), then, in one
 * synchronous step after the manifest edit is synced, installs the new Version. Inputs become
 * obsolete and their files are deleted when the last reader releases them (version.ts).
 *
 * Crash safety: outputs are written and synced, then the directory, then the manifest edit that
 * swaps inputs for outputs. A crash before the edit leaves orphan outputs (removed on open); a
 * crash after it leaves obsolete inputs (removed on open).
 *
 * A failed compaction (I/O error, worker death) removes its partial outputs, is counted and
 * reported in stats, and leaves the tree as it was; the next attempt waits a little. A failed
 * manifest edit fails the store, like any failed durable write.
 */
import { ErrStoreClosed } from '../api/errors.js';
import type { TableInfo, VersionEdit } from '../manifest/edit.js';
import { tablePath } from '../manifest/filenames.js';
import { type CompactionJob, type CompactionResult, runCompaction } from '../compaction/merge.js';
import { type FlushJob, runFlush } from '../compaction/flush-job.js';
import { type CompactionPlan, manualPlan, outputRange, pickCompaction, pickExpiryCompaction, type RunningCompactions } from '../compaction/picker.js';
import { expiryDueAt } from '../compaction/expiry.js';
import { type CompactionTuning, computeSizing, LAST_LEVEL, scoreLevels } from '../compaction/levels.js';
import { compareInternal, userKeyOf } from '../codec/keys.js';
import { splitKeys } from '../compaction/split.js';
import type { FileSystem } from '../fs/types.js';
import type { Engine } from './engine.js';
import { isNoSpace, openTable, tableOptions } from './flusher.js';
import { mapWriteError } from './commit.js';
import { nowSeconds } from './db-iterator.js';
import type { TableHandle } from './version.js';

/** Where background jobs run: inline (default) or on worker threads (Node). */
export interface CompactionRunner {
  /** Whether memtables should live in SharedArrayBuffers (so `flush` can run elsewhere). */
  readonly sharedMemtables: boolean;
  /** Compactions it can run at once (1 if absent): a large one is split into that many shards. */
  readonly parallelism?: number;
  run(fs: FileSystem, job: CompactionJob): Promise<CompactionResult>;
  flush?(fs: FileSystem, job: FlushJob): Promise<TableInfo>;
  close(): Promise<void>;
}

export const inlineRunner: CompactionRunner = {
  sharedMemtables: false,
  run: (fs, job) => runCompaction(fs, job),
  flush: (fs, job) => runFlush(fs, job),
  close: async () => undefined,
};

/** Bounds of the wait before the store looks again for tables whose entries expired. */
const EXPIRY_CHECK_MS_MIN = 1000;
const EXPIRY_CHECK_MS_MAX = 60 * 60 * 1000;
/** A table that qualifies but cannot be compacted now (busy, or read by a snapshot) is looked at again after this. */
const EXPIRY_RETRY_SECONDS = 60;

export interface LevelCounters {
  compactions: number;
  /** Shards run by split compactions. */
  subcompactions: number;
  bytesRead: number;
  bytesWritten: number;
  trivialMoves: number;
}

export class Compactor {
  private readonly engine: Engine;
  /** Running automatic compactions, each with the tables it reads and the range it writes. */
  private readonly running = new Map<Promise<void>, { plan: CompactionPlan; range: [Uint8Array, Uint8Array] }>();
  /** Merge shards of running compactions (a compaction may run several), started or waiting for a thread. */
  private shards = 0;
  /** Shards running on the runner's threads now: at most its parallelism (`onThread`). */
  private onThreads = 0;
  private threadWaiters: (() => void)[] = [];
  private waiters: (() => void)[] = [];
  private manual: Promise<void> = Promise.resolve();
  private manualActive = 0;
  /**
   * When automatic compaction may run again after a failure, on the monotonic clock
   * (performance.now()): a wait is a duration, and a wall clock that steps back (or a test's
   * frozen Date.now) must not hold compactions, and with them writers stalled on L0, until it
   * catches up.
   */
  private retryAt = 0;
  private retryTimer = false;
  /** Timer for the next time a table may qualify for an expiry compaction (expiry.ts). */
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimerAt = Infinity;
  /**
   * Outputs of expiry compactions that dropped nothing: not picked for expiry again (a guard
   * against rewriting a table over and over; the picker's version floor should prevent it).
   */
  private readonly expiryFutile = new Set<number>();
  readonly perLevel: LevelCounters[] = Array.from({ length: LAST_LEVEL + 1 }, () => ({ compactions: 0, subcompactions: 0, bytesRead: 0, bytesWritten: 0, trivialMoves: 0 }));
  failures = 0;
  lastError: string | undefined;
  /**
   * Set while compactions fail for lack of space; cleared by the next success (of an L0
   * compaction, if an L0 compaction was what failed).
   */
  noSpace: Error | undefined;
  private noSpaceFromL0 = false;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  get tuning(): CompactionTuning {
    return this.engine.config;
  }

  /** Whether a table of the current Version holds deletions or expired entries (by its properties). */
  private holdsGarbage(t: TableInfo): boolean {
    const h = this.handlesOf([t])[0];
    if (h === undefined) return false;
    const p = h.reader.properties;
    return p.tombstones > 0 || (p.minExpiresAt > 0 && p.minExpiresAt <= nowSeconds());
  }

  /** Open tables of the current Version for these inputs (for their index blocks). */
  private handlesOf(inputs: readonly TableInfo[]): TableHandle[] {
    const want = new Set(inputs.map((t) => t.fileNumber));
    const out: TableHandle[] = [];
    for (const level of this.engine.version.levels) for (const t of level) if (want.has(t.info.fileNumber)) out.push(t);
    return out;
  }

  /**
   * Starts automatic compactions while one is due and the runner has room: up to its
   * parallelism at once, on disjoint tables and output ranges (picker.ts), so an L0 compaction
   * need not wait behind a long one deeper down.
   */
  schedule(): void {
    const e = this.engine;
    if (this.manualActive > 0 || e.closed || e.failure !== undefined || e.config.readOnly || e.config.disableAutoCompaction) return;
    if (performance.now() < this.retryAt) {
      if (!this.retryTimer) {
        this.retryTimer = true;
        setTimeout(() => {
          this.retryTimer = false;
          this.schedule();
        }, this.retryAt - performance.now()).unref?.();
      }
      return;
    }
    const parallelism = e.runner.parallelism ?? 1;
    while (this.running.size < parallelism && this.shards < parallelism) {
      const plan = pickCompaction(e.manifest!.state.levels, this.tuning, this.runningSet()) ?? this.pickExpired();
      if (plan === undefined) return;
      // A merge below L0 leaves one thread free (when there are several), so that L0, which
      // writers stall on, never waits for a long merge deeper down to finish. An L0 merge is
      // split for every thread, a shard waiting for a busy one to free up (`onThread`): writers
      // are stalled or soon will be, and it ends sooner than on the one thread that was free
      // (it used to take ~3 s alone at 10 M keys while the other thread ran short merges of the
      // deepest levels; 10 M batched fills took 80.6-85.8 s against 87.8-96.4 s before).
      const free = parallelism - this.shards;
      const shards = plan.level === 0 ? parallelism : parallelism === 1 ? free : Math.max(1, free - 1);
      const p: Promise<void> = this.execute(plan, shards)
        .then(() => {
          if (plan.level === 0 || !this.noSpaceFromL0) this.noSpace = undefined;
        })
        .catch((err: unknown) => this.noteFailure(err, plan))
        .finally(() => {
          this.running.delete(p);
          this.wake();
          this.schedule();
        });
      this.running.set(p, { plan, range: outputRange(plan) });
    }
  }

  /**
   * Runs one merge shard once one of the runner's threads is free. A shard still waiting when
   * the store closes does not run (ErrStoreClosed): its compaction is discarded anyway, and close()
   * would wait for it.
   */
  private async onThread<T>(run: () => Promise<T>): Promise<T> {
    const parallelism = this.engine.runner.parallelism ?? 1;
    while (this.onThreads >= parallelism) await new Promise<void>((resolve) => this.threadWaiters.push(resolve));
    if (this.engine.closed) {
      // Pass the free thread on: the next waiter finds the store closed too.
      this.threadWaiters.shift()?.();
      throw new ErrStoreClosed('the store closed before this compaction shard started');
    }
    this.onThreads++;
    try {
      return await run();
    } finally {
      this.onThreads--;
      this.threadWaiters.shift()?.();
    }
  }

  /**
   * With no compaction due or running: a compaction for a table in which enough entries have
   * expired (expiry.ts). If there is none, a timer is set for the first time one may qualify,
   * so an idle store still reclaims the space.
   */
  private pickExpired(): CompactionPlan | undefined {
    const e = this.engine;
    // Never beside another compaction (it would take a thread an L0 compaction may need), nor
    // while one is due but blocked: that one runs first, and its end calls schedule() again.
    if (this.running.size > 0) return undefined;
    const levels = e.manifest!.state.levels;
    for (const { score } of scoreLevels(levels, computeSizing(levels, this.tuning), this.tuning, new Set())) if (score >= 1) return undefined;
    const props = new Map<number, TableHandle['reader']['properties']>();
    for (let l = 1; l < e.version.levels.length; l++) {
      for (const h of e.version.levels[l]!) if (!this.expiryFutile.has(h.info.fileNumber)) props.set(h.info.fileNumber, h.reader.properties);
    }
    const floor = Math.min(e.oldestSnapshot(), e.discardVersion ?? Infinity);
    const now = nowSeconds();
    const plan = pickExpiryCompaction(levels, (n) => props.get(n), this.tuning, this.runningSet(), now, floor);
    if (plan !== undefined) return plan;
    let due = Infinity;
    for (const p of props.values()) {
      const at = expiryDueAt(p);
      if (at !== undefined && at < due) due = at;
    }
    // Due already but held back (busy, or versions an open snapshot may read): look again later.
    if (due !== Infinity) this.armExpiryTimer(due <= now ? now + EXPIRY_RETRY_SECONDS : due);
    return undefined;
  }

  /** Calls schedule() at `at` (unix seconds), within EXPIRY_CHECK_MS_MIN..MAX from now. */
  private armExpiryTimer(at: number): void {
    const ms = Math.min(Math.max(at * 1000 - Date.now(), EXPIRY_CHECK_MS_MIN), EXPIRY_CHECK_MS_MAX);
    const fireAt = Date.now() + ms;
    if (this.expiryTimer !== undefined && this.expiryTimerAt <= fireAt) return;
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryTimerAt = fireAt;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryTimerAt = Infinity;
      this.schedule();
    }, ms);
    this.expiryTimer.unref?.();
  }

  /** Stops the expiry timer (close). */
  stop(): void {
    if (this.expiryTimer !== undefined) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryTimerAt = Infinity;
  }

  /**
   * The error a writer stalled on L0 gets: the last out-of-space failure, unless an L0
   * compaction is running (it may yet make room).
   */
  stallError(): Error | undefined {
    if (this.noSpace === undefined) return undefined;
    for (const { plan } of this.running.values()) if (plan.level === 0) return undefined;
    return this.noSpace;
  }

  /** Automatic compactions running now. */
  get runningCount(): number {
    return this.running.size;
  }

  private runningSet(): RunningCompactions {
    const busy = new Set<number>();
    const outputs: { level: number; range: [Uint8Array, Uint8Array]; fromL0: boolean }[] = [];
    for (const { plan, range } of this.running.values()) {
      for (const t of plan.upper) busy.add(t.fileNumber);
      for (const t of plan.lower) busy.add(t.fileNumber);
      outputs.push({ level: plan.outputLevel, range, fromL0: plan.level === 0 });
    }
    return { busy, outputs };
  }

  private noteFailure(err: unknown, plan: CompactionPlan): void {
    this.failures++;
    this.lastError = err instanceof Error ? err.message : String(err);
    if (plan.expiry === true) {
      // Not retried (an idle store would retry forever): the table waits for a compaction
      // that has to happen anyway. Nor does it speak for the space writers wait on.
      for (const t of plan.upper) this.expiryFutile.add(t.fileNumber);
      return;
    }
    this.noSpace = isNoSpace(err) ? mapWriteError(err, 'compaction failed') : undefined;
    this.noSpaceFromL0 = plan.level === 0;
    this.retryAt = performance.now() + 100;
  }

  /**
   * Resolves when a compaction finishes, or after a short pause if none can run now (e.g.
   * after a failure, while the retry delay runs): a stalled writer re-checks, never spins.
   */
  waitForProgress(): Promise<void> {
    if (this.running.size === 0) this.schedule();
    if (this.running.size === 0) return new Promise((resolve) => setTimeout(resolve, 20));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.keys());
    await this.manual;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Runs `fn` with automatic compaction paused (manual compactions, flatten). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.manualActive++;
    const prev = this.manual;
    let release!: () => void;
    this.manual = new Promise<void>((r) => (release = r));
    try {
      await prev;
      while (this.running.size > 0) await Promise.all(this.running.keys());
      return await fn();
    } finally {
      this.manualActive--;
      release();
      this.schedule();
    }
  }

  /** Pushes the data in [start, end] (all of it if unbounded) down to the last level. */
  compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      // manualPlan takes every table of the range in a level at once, so one step per level
      // moves the range one level down; L0 goes to the base level.
      for (let level = 0; level < LAST_LEVEL; level++) {
        this.engine.checkOpen();
        if (this.engine.failure !== undefined) throw this.engine.failure;
        const plan = manualPlan(this.engine.manifest!.state.levels, level, this.tuning, start, end);
        if (plan === undefined) continue;
        try {
          await this.execute(plan);
        } catch (err) {
          // The caller gets a SettError (ENOSPC: ErrInsufficientDiskSpace), not a raw fs error.
          throw mapWriteError(err, 'compaction failed');
        }
      }
    });
  }

  /**
   * Applies a manifest edit that writes no table (a trivial move, a dropped table) and installs
   * the Version it implies. A cut-back append (no space) is thrown for a retry; any other
   * failure leaves the manifest's durable state unknown and fails the store.
   */
  private async applyEditOnly(edit: VersionEdit, what: string): Promise<void> {
    const e = this.engine;
    await e.withManifest(async (m) => {
      try {
        await m.applyAsync(edit);
      } catch (err) {
        if (isNoSpace(err) && !m.broken) throw err;
        throw e.fail(err, `writing the manifest edit of ${what} failed`);
      }
      e.installFromManifest(new Map());
    });
  }

  /** Runs a plan; a merge is split into at most `maxShards` shards. */
  private async execute(plan: CompactionPlan, maxShards = Infinity): Promise<void> {
    const e = this.engine;
    const counters = this.perLevel[plan.outputLevel]!;
    // A table moving into the last level unread would keep its tombstones and expired entries
    // there for good (no compaction reads the last level again unless asked): rewrite it
    // instead, which drops the ones no snapshot needs (nothing lies below the last level).
    if (plan.trivialMove && !(plan.outputLevel === LAST_LEVEL && plan.upper.some((t) => this.holdsGarbage(t)))) {
      // One table, or every table of L0 when they are disjoint (picker.ts), in one edit.
      await this.applyEditOnly(
        {
          deleted: plan.upper.map((t) => ({ level: plan.level, fileNumber: t.fileNumber })),
          added: plan.upper.map((t) => ({ level: plan.outputLevel, table: t })),
        },
        'a trivial move',
      );
      counters.trivialMoves += plan.upper.length;
      return;
    }
    if (plan.dropWhole === true) {
      // Every entry of this last-level table has expired, and no reader may see below the
      // floor: nothing in it can be read again, and nothing lies below it to hide.
      await this.applyEditOnly({ deleted: plan.upper.map((t) => ({ level: plan.level, fileNumber: t.fileNumber })), added: [] }, 'an expiry compaction');
      counters.compactions++;
      e.stats.compactions++;
      e.stats.expiryCompactions++;
      return;
    }
    const inputs = [...plan.upper, ...plan.lower];
    const inputBytes = inputs.reduce((s, t) => s + t.fileSize, 0);
    const levels = e.manifest!.state.levels;
    const deeperRanges: [Uint8Array, Uint8Array][][] = [];
    for (let l = plan.outputLevel + 1; l <= LAST_LEVEL; l++) {
      deeperRanges.push((levels[l] ?? []).map((t: TableInfo) => [userKeyOf(t.smallest), userKeyOf(t.largest)]));
    }
    const byKey = (ts: TableInfo[]): number[] => [...ts].sort((a, b) => compareInternal(a.smallest, b.smallest)).map((t) => t.fileNumber);
    const runs = plan.level === 0 ? plan.upper.map((t) => [t.fileNumber]) : [byKey(plan.upper)];
    if (plan.lower.length > 0) runs.push(byKey(plan.lower));
    const base = {
      dir: e.dir,
      runs,
      outputLevel: plan.outputLevel,
      targetTableBytes: plan.targetTableBytes,
      discardVersion: e.takeGcFloor(),
      versionsToKeep: e.config.versionsToKeep,
      nowSeconds: nowSeconds(),
      deeperRanges,
      grandparentStarts: plan.outputLevel < LAST_LEVEL ? (levels[plan.outputLevel + 1] ?? []).map((t: TableInfo) => userKeyOf(t.smallest)) : [],
      tableOptions: tableOptions(e),
    };
    // Subcompactions: a large merge is split between user keys into shards that run on
    // separate workers at once; their outputs, in shard order, are the compaction's outputs.
    const bounds = splitKeys(this.handlesOf(inputs), Math.max(1, Math.min(maxShards, e.runner.parallelism ?? 1)), inputBytes, plan.targetTableBytes);
    const jobs: CompactionJob[] = [];
    const share = inputBytes / (bounds.length + 1);
    for (let i = 0; i <= bounds.length; i++) {
      const outputNumbers = Array.from({ length: Math.ceil(share / plan.targetTableBytes) * 2 + 4 }, () => e.allocateFileNumber());
      const job: CompactionJob = { ...base, outputNumbers };
      if (i > 0) job.start = bounds[i - 1]!;
      if (i < bounds.length) job.end = bounds[i]!;
      jobs.push(job);
    }
    const started = performance.now();
    // A shard that finishes early leaves its thread free for another compaction.
    this.shards += jobs.length;
    const settled = await Promise.allSettled(
      jobs.map((job) =>
        // Through a promise: a runner that throws at once still returns its shard.
        Promise.resolve()
          .then(() => this.onThread(() => e.runner.run(e.fs, job)))
          .finally(() => {
          this.shards--;
          this.schedule();
        }),
      ),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      // A worker that died may have left partial outputs behind; finished shards left whole ones.
      for (const job of jobs) for (const n of job.outputNumbers) await e.fs.remove(tablePath(e.dir, n)).catch(() => undefined);
      // Closed meanwhile (shards still waiting for a thread did not run): discarded, not a failure.
      if (e.closed) return;
      throw failed.reason;
    }
    const parts = settled.map((r) => (r as PromiseFulfilledResult<CompactionResult>).value);
    const result: CompactionResult = {
      outputs: parts.flatMap((p) => p.outputs),
      bytesRead: inputBytes,
      bytesWritten: parts.reduce((n, p) => n + p.bytesWritten, 0),
      entriesIn: parts.reduce((n, p) => n + p.entriesIn, 0),
      entriesOut: parts.reduce((n, p) => n + p.entriesOut, 0),
    };
    if (jobs.length > 1) counters.subcompactions += jobs.length;
    const removeOutputs = async (): Promise<void> => {
      for (const o of result.outputs) await e.fs.remove(tablePath(e.dir, o.fileNumber)).catch(() => undefined);
    };
    if (e.closed) {
      await removeOutputs();
      return;
    }
    await e.fs.syncDir(e.dir);
    const handles = new Map<number, TableHandle>();
    try {
      for (const o of result.outputs) handles.set(o.fileNumber, await openTable(e, o));
    } catch (err) {
      for (const h of handles.values()) h.reader.close();
      await removeOutputs();
      throw err;
    }
    let editMade = false;
    await e
      .withManifest(async (m) => {
        try {
          await m.applyAsync({
            nextFileNumber: e.nextFileNumber,
            deleted: [
              ...plan.upper.map((t) => ({ level: plan.level, fileNumber: t.fileNumber })),
              ...plan.lower.map((t) => ({ level: plan.outputLevel, fileNumber: t.fileNumber })),
            ],
            added: result.outputs.map((table) => ({ level: plan.outputLevel, table })),
          });
          editMade = true;
        } catch (err) {
          for (const h of handles.values()) h.reader.close();
          // A failed append was cut back (the edit was not made): retry later. Anything else
          // leaves the manifest's durable state unknown, and the outputs must stay.
          if (isNoSpace(err) && !m.broken) throw err;
          throw e.fail(err, 'writing the manifest edit of a compaction failed');
        }
        e.installFromManifest(handles);
      })
      .catch(async (err: unknown) => {
        if (!editMade && e.failure === undefined) await removeOutputs();
        throw err;
      });
    if (plan.expiry === true) {
      e.stats.expiryCompactions++;
      if (result.entriesOut >= result.entriesIn) {
        if (this.expiryFutile.size > 10_000) this.expiryFutile.clear();
        for (const o of result.outputs) this.expiryFutile.add(o.fileNumber);
      }
    }
    counters.compactions++;
    counters.bytesRead += result.bytesRead;
    counters.bytesWritten += result.bytesWritten;
    e.stats.compactionBytesRead += result.bytesRead;
    e.stats.compactionBytesWritten += result.bytesWritten;
    e.stats.compactionMs += performance.now() - started;
    e.stats.compactions++;
  }
}
