/**
 * The commit queue: every write (a put is a one-entry batch) passes through here.
 *
 * Group commit: writers that arrive in the same turn of the event loop are drained together —
 * their batches get consecutive versions, their WAL records go to disk in one append, and, if
 * any of them asked for sync, one fsync covers them all. Only then are they applied to the
 * memtable and the new last version published, in one synchronous section, so a reader sees a
 * batch whole or not at all.
 *
 * Failures: a failed append is cut back (LogWriter) and reported to the writers of that group;
 * the store stays writable (e.g. after ENOSPC). A failed fsync, or an append that could not be
 * cut back, fails the store: after that nothing can be promised about what is on disk.
 */
import { ErrInsufficientDiskSpace, ErrInvalidVersion, ErrIO, ErrReadOnly, ErrStoreClosed, ErrValueTooLarge, SettError } from '../api/errors.js';
import { isFsError } from '../fs/types.js';
import { walPath } from '../manifest/filenames.js';
import { VERSION_MAX } from '../codec/keys.js';
import { ARENA_BYTES_MAX, Memtable } from '../memtable/index.js';
import { type BatchRep, type BatchVisitor, visitBatchRep } from '../wal/batch.js';
import { LogWriter } from '../wal/writer.js';
import type { Engine } from './engine.js';

interface Pending {
  rep: BatchRep;
  sync: boolean;
  /** Runs in the group's synchronous section before versions are assigned; an error drops this write. */
  validate: (() => Error | undefined) | undefined;
  /** Caller-chosen commit version (rep.sameVersion), or undefined for the next free ones. */
  at: number | undefined;
  /** First version of this write, assigned when its group is accepted. */
  base: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Largest group of records written with one append. */
const GROUP_BYTES_MAX = 8 * 1024 * 1024;
/** Per-entry arena overhead beyond the payload bytes of the batch (node + tallest tower + trailer). */
const ENTRY_OVERHEAD = Memtable.entrySize(8, 0);

/** Upper bound of the arena bytes a batch needs. */
export function arenaBytesFor(rep: BatchRep): number {
  return rep.payloadLength() + rep.count * ENTRY_OVERHEAD;
}

export function mapWriteError(e: unknown, what: string): Error {
  if (e instanceof SettError) return e;
  if (isFsError(e, 'ENOSPC')) return new ErrInsufficientDiskSpace(`${what}: no space left on the device; nothing acknowledged was lost`, { cause: e });
  return new ErrIO(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

class MemtableApplier implements BatchVisitor {
  mem!: Memtable;
  entry(key: Uint8Array, version: number, encodedValue: Uint8Array): void {
    if (!this.mem.add(key, version, encodedValue)) throw new Error('memtable full after room check (bug)');
  }
}

/** Hooks a transactional writer passes to `CommitQueue.write`. */
export interface CommitHooks {
  /**
   * Called inside the group's synchronous section, right before this write gets its versions
   * (after every earlier write of the group was accepted). Returning an error rejects this write
   * alone: it is dropped from the group before the WAL append.
   */
  validate?: () => Error | undefined;
  /**
   * Commit at this version (a SAME_VERSION batch: managed versions). It must be above every
   * version written before it, or the write is rejected with ErrInvalidVersion.
   */
  version?: number;
}

/**
 * Sees every write the moment it is accepted into a group (versions first..last), before the
 * WAL append: the transaction oracle records write sets here. The write may still fail later
 * (append or fsync error); an observer must treat what it saw as "may have committed".
 */
export type AcceptObserver = (rep: BatchRep, firstVersion: number, lastVersion: number) => void;

/** Told that the writes accepted from `firstVersion` on failed (their append or sync did). */
export type AbortObserver = (firstVersion: number) => void;

export class CommitQueue {
  private readonly engine: Engine;
  /** Set by the transaction oracle (src/txn/oracle.ts). */
  onAccept: AcceptObserver | undefined;
  onAbort: AbortObserver | undefined;
  /**
   * Sees every write once it is published (readable), in version order, inside the publishing
   * synchronous section: must not throw and must not call back into the engine synchronously.
   * Set by subscriptions (src/txn/subscribe.ts) while any exists.
   */
  onPublish: ((rep: BatchRep, firstVersion: number) => void) | undefined;
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  private readonly applier = new MemtableApplier();

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** Validates state, then queues the batch; resolves once it is applied (and synced if asked). */
  write(rep: BatchRep, sync: boolean, hooks?: CommitHooks): Promise<void> {
    const e = this.engine;
    if (e.closed) return Promise.reject(new ErrStoreClosed());
    if (e.config.readOnly) return Promise.reject(new ErrReadOnly());
    if (e.failure !== undefined) return Promise.reject(e.failure);
    if (rep.count === 0) return Promise.resolve();
    // A group larger than memtableSize gets a memtable of its own size (rotate), up to the
    // arena limit; only a batch beyond that is refused.
    if (arenaBytesFor(rep) > ARENA_BYTES_MAX) {
      return Promise.reject(new ErrValueTooLarge(`batch of ${rep.count} entries (${rep.userBytes} bytes) is larger than one memtable can ever hold (${ARENA_BYTES_MAX} bytes); split it`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rep, sync: sync || e.config.sync, validate: hooks?.validate, at: hooks?.version, base: 0, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.start());
      }
    });
  }

  private start(): void {
    if (this.running !== undefined) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      this.scheduled = false;
      if (this.queue.length > 0) {
        this.scheduled = true;
        this.start();
      }
    });
  }

  /** True while a write group or a memtable rotation runs, or writes wait. */
  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  /** Resolves once every queued write has been handled. */
  async drainAll(): Promise<void> {
    while (this.running !== undefined || this.queue.length > 0) {
      if (this.running === undefined) this.start();
      await this.running;
    }
  }

  private takeGroup(): Pending[] {
    const q = this.queue;
    let bytes = 0;
    let n = 0;
    while (n < q.length) {
      bytes += q[n]!.rep.length;
      if (n > 0 && bytes > GROUP_BYTES_MAX) break;
      n++;
    }
    const group = q.slice(0, n);
    this.queue = q.slice(n);
    return group;
  }

  private async drain(): Promise<void> {
    const e = this.engine;
    while (this.queue.length > 0) {
      const group = this.takeGroup();
      if (e.failure !== undefined) {
        for (const p of group) p.reject(e.failure);
        continue;
      }
      let need = 0;
      for (const p of group) need += arenaBytesFor(p.rep);
      try {
        if (!e.active.mem.hasRoomFor(need)) await this.rotate(need);
      } catch (err) {
        for (const p of group) p.reject(mapWriteError(err, 'starting a new memtable failed'));
        continue;
      }
      await this.commitGroup(group);
    }
  }

  /**
   * Appends, syncs, applies and publishes one group. The fsync (when asked for) runs without
   * blocking the event loop, so reads go on and the next writers gather into the next group
   * meanwhile; apply and publish happen together after it, in one synchronous step.
   */
  private async commitGroup(all: Pending[]): Promise<void> {
    const e = this.engine;
    const wal = e.wal!;
    const group = this.accept(all, e.lastVersion);
    if (group.length === 0) return;
    let sync = false;
    let bytes = 0;
    for (const p of group) {
      sync ||= p.sync;
      bytes += p.rep.length;
    }
    let record: Uint8Array;
    let follows = e.lastVersion;
    if (group.length === 1) {
      record = group[0]!.rep.frame(group[0]!.base, follows);
    } else {
      record = new Uint8Array(bytes);
      let pos = 0;
      for (const p of group) {
        const r = p.rep.frame(p.base, follows);
        record.set(r, pos);
        pos += r.length;
        follows = p.rep.lastVersion(p.base);
      }
    }
    try {
      wal.append(record);
    } catch (err) {
      const mapped = wal.broken ? e.fail(err, 'a WAL append failed and could not be cut back') : mapWriteError(err, 'WAL append failed');
      this.onAbort?.(group[0]!.base);
      for (const p of group) p.reject(mapped);
      return;
    }
    if (sync) {
      try {
        await wal.syncAsync();
        e.stats.walSyncs++;
      } catch (err) {
        const failed = e.fail(err, 'fsync of the WAL failed');
        this.onAbort?.(group[0]!.base);
        for (const p of group) p.reject(failed);
        return;
      }
    }
    const applier = this.applier;
    applier.mem = e.active.mem;
    for (const p of group) {
      visitBatchRep(p.rep, p.base, applier);
      e.stats.writes += p.rep.count;
      e.stats.userBytes += p.rep.userBytes;
    }
    const last = group[group.length - 1]!;
    e.lastVersion = last.rep.lastVersion(last.base);
    const publish = this.onPublish;
    if (publish !== undefined) for (const p of group) publish(p.rep, p.base);
    e.stats.writeBatches += group.length;
    e.stats.walGroups++;
    e.stats.walBytes += record.length;
    for (const p of group) p.resolve();
  }

  /**
   * Versions, validation and write-set observation, in one synchronous pass over the group in
   * commit order: each write gets its versions after `last` (or its chosen one), and each
   * transactional write is checked against everything accepted before it, including earlier
   * writes of this same group. Returns the accepted writes.
   */
  private accept(group: Pending[], last: number): Pending[] {
    const observe = this.onAccept;
    const out: Pending[] = [];
    for (const p of group) {
      let err: Error | undefined;
      const base = p.at ?? last + 1;
      const end = p.rep.lastVersion(base);
      if (base <= last) {
        err = new ErrInvalidVersion(`commit version ${base} is not above the last version written (${last}); managed versions must increase`);
      } else if (end >= VERSION_MAX) {
        // VERSION_MAX itself is the seek sentinel (codec/keys.ts); no entry may carry it.
        err = new ErrInvalidVersion(`versions exhausted: this write would need version ${end}, and the largest is ${VERSION_MAX - 1}`);
      }
      try {
        err ??= p.validate?.();
      } catch (x) {
        err = x instanceof Error ? x : new Error(String(x));
      }
      if (err !== undefined) {
        p.reject(err);
        continue;
      }
      p.base = base;
      last = end;
      observe?.(p.rep, base, end);
      out.push(p);
    }
    return out;
  }

  /**
   * Seals the active memtable and starts a new one with its own WAL. The old WAL is synced
   * first, so that after a crash no write in the new WAL survives while an older one is lost.
   * Waits (a write stall) while too many sealed memtables wait for flush.
   */
  async rotate(need: number): Promise<void> {
    const e = this.engine;
    while (e.immutables.length >= e.config.maxImmutableMemtables) {
      const t0 = performance.now();
      e.stats.stalls++;
      await e.flusher.waitForProgress();
      e.stats.stallMs += performance.now() - t0;
      if (e.failure !== undefined) throw e.failure;
      if (e.flusher.noSpace !== undefined && e.immutables.length >= e.config.maxImmutableMemtables) throw e.flusher.noSpace;
    }
    // Too many L0 tables: reads and the next L0 compaction would get slower without bound.
    while (e.version.levels[0]!.length >= e.config.l0StallTables && !e.config.disableAutoCompaction) {
      const t0 = performance.now();
      e.stats.l0Stalls++;
      await e.compactor.waitForProgress();
      e.stats.stallMs += performance.now() - t0;
      if (e.failure !== undefined) throw e.failure;
      const noSpace = e.compactor.stallError();
      if (noSpace !== undefined) throw noSpace;
      if (e.closed) break;
    }
    const wal = e.wal!;
    if (wal.unsyncedBytes > 0) {
      try {
        await wal.syncAsync();
        e.stats.walSyncs++;
      } catch (err) {
        throw e.fail(err, 'fsync of the WAL failed');
      }
    }
    const number = e.allocateFileNumber();
    const file = await e.fs.open(walPath(e.dir, number), { create: true, truncate: true });
    let next: LogWriter;
    try {
      next = LogWriter.forWal(file, number);
      await e.fs.syncDir(e.dir);
    } catch (err) {
      file.close();
      await e.fs.remove(walPath(e.dir, number)).catch(() => undefined);
      throw err;
    }
    const size = Math.max(e.config.memtableSize, need);
    // Synchronous swap: readers see either the old or the new arrangement, never a mix.
    e.immutables.push(e.active);
    e.active = { mem: e.newMemtable(size), walNumber: number };
    wal.close();
    e.wal = next;
    e.flusher.schedule();
  }

  /** Seals the active memtable if it holds anything (used by flush()). */
  async sealActive(): Promise<void> {
    // `running` is the queue's one slot: whoever holds it owns e.wal and e.active. Queued writes
    // and a rotation started by a concurrent flush() go first; re-check after every await, or
    // two rotations interleave and a write lands in a WAL that is retired without a sync.
    while (this.busy) await this.drainAll();
    const e = this.engine;
    if (e.closed) throw new ErrStoreClosed();
    if (e.active.mem.entries === 0 || e.failure !== undefined) return;
    const run = async (): Promise<void> => this.rotate(0);
    this.running = run().finally(() => {
      this.running = undefined;
    });
    try {
      await this.running;
    } catch (err) {
      // A raw fs error (creating the new WAL failed) reaches flush() callers as a SettError.
      throw mapWriteError(err, 'starting a new memtable failed');
    } finally {
      // Writes queued behind the rotation start now, whether it worked or not.
      if (this.queue.length > 0) this.start();
    }
  }
}
