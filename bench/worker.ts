/**
 * One engine, one run, in its own process: `node --import tsx bench/worker.ts '<request JSON>'`
 * (forked by run.ts, which reads the reply from IPC). Every database lives in a fresh directory
 * under the request's temporary root, removed when the workload that made it is done.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadEngine } from './engines/index.js';
import type { Engine } from './engines/types.js';
import { permutation, ValuePool, VALUE_BYTES } from './lib/data.js';
import { round } from './lib/measure.js';
import { Session, WriteMeter } from './lib/session.js';
import type { WorkerReply, WorkerRequest, WorkloadResult } from './lib/types.js';
import { runScale } from './scale.js';
import {
  ENTRY_BYTES,
  fillBatch,
  fillSingle,
  fillSync,
  HOT_KEYS,
  loadAccounts,
  ON_LOADED_DB,
  opsFor,
  overwriteFlatten,
  quarterKeys,
  readRandom,
  readScan,
  readWhileWriting,
  seekRandom,
  settle,
  transfers,
} from './workloads.js';

const SEED = 20240601;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A short pass over every code path on a scratch database, so the JIT has warmed up. */
async function warmUp(s: Session, n: number, values: ValuePool): Promise<void> {
  const w = Math.max(2000, Math.min(10_000, Math.floor(n / 10)));
  const perm = permutation(w, SEED + 1);
  const db = await s.open();
  await fillBatch(db.engine, 'warmup', w, (i) => perm[i]!, values);
  await fillSingle(db.engine, 'warmup', Math.floor(w / 4), (i) => perm[i]!, values, false);
  readRandom(db.engine, 'warmup', w, w, SEED + 2, false);
  readRandom(db.engine, 'warmup', w, w, SEED + 3, true);
  await readScan(db.engine, 'warmup', w, false);
  await readScan(db.engine, 'warmup', w, true);
  await seekRandom(db.engine, w, Math.floor(w / 10), SEED + 4);
  await s.drop(db);
  if (s.factory.apis.txn === undefined) return;
  const accounts = await s.open();
  await loadAccounts(accounts.engine, 1000);
  await transfers(accounts.engine, 'warmup', 1000, 1000, new Float64Array(1000), SEED + 5, false);
  await s.drop(accounts);
}

async function runWorkloads(s: Session, req: WorkerRequest, log: (r: WorkloadResult) => void): Promise<void> {
  const n = req.keys;
  const want = new Set(req.workloads);
  const durable = s.factory.durable;
  const values = new ValuePool(VALUE_BYTES);
  const perm = permutation(n, SEED);
  const seq = (i: number): number => i;
  const rnd = (i: number): number => perm[i]!;

  await warmUp(s, n, values);

  const fills: [string, (e: Engine, ops: number) => Promise<WorkloadResult>][] = [
    ['fillseq-single', (e, ops) => fillSingle(e, 'fillseq-single', ops, seq, values, false)],
    ['fillseq-batch', (e, ops) => fillBatch(e, 'fillseq-batch', ops, seq, values)],
    ['fillrandom-single', (e, ops) => fillSingle(e, 'fillrandom-single', ops, rnd, values, false)],
  ];
  for (const [name, fn] of fills) {
    if (!want.has(name)) continue;
    gc();
    const ops = opsFor(name, n);
    const db = await s.open();
    const m = new WriteMeter(db);
    log(m.finish(await fn(db.engine, ops), ops * ENTRY_BYTES, durable));
    await s.drop(db);
  }

  // The load: fillrandom in batches, then everything that reads or rewrites that database.
  const needLoad = want.has('fillrandom-batch') || [...want].some((w) => ON_LOADED_DB.has(w));
  if (needLoad) {
    gc();
    const db = await s.open();
    const m = new WriteMeter(db);
    const e = db.engine;
    const filled = await fillBatch(e, 'fillrandom-batch', n, rnd, values);
    await settle(e, filled);
    const load = m.finish(filled, n * ENTRY_BYTES, durable);
    if (want.has('fillrandom-batch')) log(load);
    const reads: [string, () => WorkloadResult | Promise<WorkloadResult>][] = [
      ['readrandom', () => readRandom(e, 'readrandom', n, opsFor('readrandom', n), SEED + 10, false)],
      ['readmissing', () => readRandom(e, 'readmissing', n, opsFor('readmissing', n), SEED + 11, true)],
      ['readseq', () => readScan(e, 'readseq', n, false)],
      ['readreverse', () => readScan(e, 'readreverse', n, true)],
      ['seekrandom', () => seekRandom(e, n, opsFor('seekrandom', n), SEED + 12)],
    ];
    for (const [name, fn] of reads) {
      if (!want.has(name)) continue;
      gc();
      const r = await fn();
      const apis = s.factory.apis;
      r.api = name === 'seekrandom' ? apis.seek : name === 'readseq' || name === 'readreverse' ? apis.scan : apis.get;
      log(r);
    }
    if (want.has('overwrite')) {
      gc();
      const orng = permutation(n, SEED + 13);
      const om = new WriteMeter(db);
      const r = await fillSingle(e, 'overwrite', opsFor('overwrite', n), (i) => orng[i]!, { size: VALUE_BYTES, valueOf: (i: number) => values.valueOf(i + 1) }, false);
      await settle(e, r);
      log(om.finish(r, n * ENTRY_BYTES, durable));
    }
    if (want.has('readwhilewriting')) {
      gc();
      const r = await readWhileWriting(e, n, opsFor('readwhilewriting', n), values, SEED + 14);
      r.api = s.factory.apis.get;
      log(r);
    }
    await s.drop(db);
  }

  if (durable) {
    for (const [name, writers] of [['fillsync-1', 1], ['fillsync-64', 64]] as const) {
      if (!want.has(name)) continue;
      gc();
      const ops = opsFor(name, n);
      const db = await s.open(true);
      const m = new WriteMeter(db);
      log(m.finish(await fillSync(db.engine, name, ops, writers, rnd, values), ops * ENTRY_BYTES, durable));
      await s.drop(db);
    }
  }

  for (const [name, size] of [['fillbig-4k', 4096], ['fillbig-64k', 65536]] as const) {
    if (!want.has(name)) continue;
    gc();
    const ops = opsFor(name, n);
    const big = new ValuePool(size, 7);
    const db = await s.open();
    const m = new WriteMeter(db);
    log(m.finish(await fillSingle(db.engine, name, ops, rnd, big, false), ops * (16 + size), durable));
    await s.drop(db);
  }

  // Transactions: one set of accounts per durability setting; engines without transactions skip.
  const accounts = quarterKeys(n);
  const txns = [['txn-uncontended', accounts, false], ['txn-hot', HOT_KEYS, false], ['txn-sync', accounts, true]] as const;
  for (const sync of [false, true]) {
    const mine = txns.filter(([name, , sy]) => sy === sync && want.has(name));
    if (mine.length === 0 || s.factory.apis.txn === undefined || (sync && !durable)) continue;
    const db = await s.open(sync);
    await loadAccounts(db.engine, accounts);
    await db.engine.settle?.();
    const moved = new Float64Array(accounts); // what the committed transfers moved, per account
    for (const [name, keys] of mine) {
      gc();
      const r = await transfers(db.engine, name, opsFor(name, n), keys, moved, SEED + 20, sync);
      r.api = s.factory.apis.txn;
      log(r);
    }
    await s.drop(db);
  }

  if (durable && want.has('overwrite3-flatten')) {
    gc();
    const db = await s.open();
    const r = await overwriteFlatten(db, quarterKeys(n), SEED + 21);
    r.api = s.factory.apis.compact ?? 'none';
    log(r);
    await s.drop(db, true);
  }
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as WorkerRequest;
  const factory = await loadEngine(req.engine);
  const root = join(req.tmpRoot, `${req.engine}-run${req.run}`);
  mkdirSync(root, { recursive: true });
  const s = new Session(factory, root, { memtableBytes: req.memtableBytes, cacheBytes: req.cacheBytes });
  const results: WorkloadResult[] = [];
  const t = performance.now();
  const log = (r: WorkloadResult): void => {
    results.push(r);
    process.send?.({ type: 'progress', engine: req.engine, run: req.run, result: r });
  };
  try {
    if (req.checkpoints !== undefined) await runScale(s, req.checkpoints, log, req.scaleFill ?? 'batch');
    else await runWorkloads(s, req, log);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const reply: WorkerReply = {
    engine: req.engine,
    label: factory.label,
    apis: factory.apis,
    run: req.run,
    results,
    maxRss: process.resourceUsage().maxRSS * 1024,
    seconds: round((performance.now() - t) / 1000, 2),
  };
  await new Promise<void>((resolve, reject) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(reply, null, 2));
      resolve();
    } else process.send({ type: 'done', reply }, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
