/**
 * Compaction on worker threads (Node only; the browser entry never imports this file).
 *
 * Input tables are immutable, so a worker opens them by name, merges, writes the outputs and
 * returns their metadata; the owning thread applies the manifest edit. A worker that throws
 * reports the error; a worker that dies fails its job (its partial outputs are removed by the
 * compactor) and is replaced on the next job. Workers are unref'd: an idle pool never keeps
 * the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { FileSystem } from '../fs/types.js';
import type { CompactionRunner } from '../engine/compactor.js';
import { inlineRunner } from '../engine/compactor.js';
import { NodeFileSystem } from '../fs/node.js';
import type { CompactionJob, CompactionResult } from './merge.js';
import type { FlushJob } from './flush-job.js';
import type { TableInfo } from '../manifest/edit.js';

interface Pending {
  resolve: (r: never) => void;
  reject: (e: unknown) => void;
}

/**
 * Nice values of the background threads (worker-main.ts): compactions yield the CPU to the
 * engine's thread; flushes, which writers wait on sooner, less so.
 */
const COMPACTION_NICE = 10;
const FLUSH_NICE = 5;

/**
 * Young-generation cap of the background threads, in MiB. A merge allocates short-lived views
 * per entry at a high rate, so V8 grows a worker's young generation to its default maximum
 * (tens of MiB, kept for the thread's life): on a 5 M-key fill each compaction worker's heap
 * grew from 18 to 43 MiB and RSS with it. Capped here, the heaps stay at 18-20 MiB and the fill's
 * RSS stays flat from 2 M keys on (350 -> 345 MiB at 5 M, against 418-431 MiB before this and
 * the scratch pool of sstable/scratch.ts); the extra scavenges are of short-lived objects and
 * did not show in merge time (compaction micro-benchmark, within this machine's noise).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/** A background thread (exported for tests). */
export function spawnWorker(nice: number): Worker {
  const options = { workerData: { nice }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } };
  const url = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);
  if (url.pathname.endsWith('.ts')) {
    // Running from TypeScript sources (tests, tsx): load the worker through tsx's loader.
    const code = `import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`;
    return new Worker(code, { eval: true, ...options });
  }
  return new Worker(url, options);
}

class WorkerSlot {
  private readonly nice: number;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  busy = false;

  constructor(nice: number) {
    this.nice = nice;
  }

  private ensure(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = spawnWorker(this.nice);
    w.unref();
    w.on('message', (m: { id: number; result?: unknown; error?: { message: string; code?: string } }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(Object.assign(new Error(`compaction worker: ${m.error.message}`), { code: m.error.code }));
      else p.resolve(m.result as never);
    });
    const fail = (e: unknown): void => {
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(e instanceof Error ? e : new Error(`compaction worker exited: ${String(e)}`));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`compaction worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  run<T>(kind: 'compact' | 'flush', job: CompactionJob | FlushJob): Promise<T> {
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: never) => void, reject });
      w.ref();
      w.postMessage({ id, kind, job });
    }).finally(() => this.worker?.unref());
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

/**
 * A runner with `size` compaction threads and one flush thread, used when the file system is the
 * real one (else everything runs inline). Memtables are then allocated on SharedArrayBuffers so
 * the flush thread reads them in place.
 */
export function workerPoolRunner(size: number): CompactionRunner {
  const slots = Array.from({ length: Math.max(1, size) }, () => new WorkerSlot(COMPACTION_NICE));
  const flushSlot = new WorkerSlot(FLUSH_NICE);
  return {
    sharedMemtables: true,
    parallelism: slots.length,
    async flush(fs: FileSystem, job: FlushJob): Promise<TableInfo> {
      if (!(fs instanceof NodeFileSystem) || !job.memories.every((m) => m instanceof SharedArrayBuffer)) return inlineRunner.flush!(fs, job);
      return flushSlot.run<TableInfo>('flush', job);
    },
    async run(fs: FileSystem, job: CompactionJob): Promise<CompactionResult> {
      // Workers open files by path on the real disk; any other backend runs inline.
      if (!(fs instanceof NodeFileSystem)) return inlineRunner.run(fs, job);
      const slot = slots.find((s) => !s.busy) ?? slots[0]!;
      slot.busy = true;
      try {
        return await slot.run<CompactionResult>('compact', job);
      } finally {
        slot.busy = false;
      }
    },
    async close(): Promise<void> {
      await Promise.all([...slots, flushSlot].map((s) => s.close()));
    },
  };
}
