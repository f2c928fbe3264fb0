/**
 * The workloads, db_bench style. Each one gets the same keys, values and random sequences on
 * every engine (seeded), and times the whole loop with the clock read around each operation
 * (or batch) for the latency percentiles. See bench/README.md for what each one does.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Engine } from './engines/types.js';
import { KEY_BYTES, VALUE_BYTES, keyOf, missingKeyOf, permutation, Rng, ValuePool, type Values } from './lib/data.js';
import { diskBytes, fileBytes, Latencies, RssPeak, round, yieldToLoop } from './lib/measure.js';
import { WriteMeter } from './lib/session.js';
import type { WorkloadResult } from './lib/types.js';

export const WORKLOADS = [
  'fillseq-single',
  'fillseq-batch',
  'fillrandom-single',
  'fillrandom-batch',
  'readrandom',
  'readmissing',
  'readseq',
  'readreverse',
  'seekrandom',
  'overwrite',
  'readwhilewriting',
  'fillsync-1',
  'fillsync-64',
  'fillbig-4k',
  'fillbig-64k',
  'txn-uncontended',
  'txn-hot',
  'txn-sync',
  'overwrite3-flatten',
] as const;

export type WorkloadName = (typeof WORKLOADS)[number];

/** Workloads that read or rewrite the database `fillrandom-batch` loaded. */
export const ON_LOADED_DB: ReadonlySet<string> = new Set(['readrandom', 'readmissing', 'readseq', 'readreverse', 'seekrandom', 'overwrite', 'readwhilewriting']);

/** Puts per batch in the *-batch workloads. */
export const BATCH = 1000;
/** Concurrent writers in fillsync-64. */
export const SYNC_WRITERS = 64;
/** Concurrent async workers in the txn-* workloads. */
export const TXN_WORKERS = 8;
/** Accounts every txn-hot transaction picks from. */
export const HOT_KEYS = 16;
/** overwrite3-flatten: times every key is written again after the first. */
export const OVERWRITES = 3;
/** Entries read after each seek in seekrandom. */
export const SEEK_NEXT = 10;
/** readwhilewriting: operations each side does before it yields the event loop. */
const TURN_OPS = 32;
const RSS_EVERY = 4096;

/**
 * How many operations each workload does for a run of `n` keys. Batched fills and full scans
 * cover all `n` keys; the slower per-operation workloads do a fixed fraction of `n`, so the
 * quick run stays within its time budget on a 2-core machine while every engine does the same.
 */
export function opsFor(workload: string, n: number): number {
  switch (workload) {
    case 'fillseq-single':
    case 'fillrandom-single':
    case 'overwrite':
      return Math.max(1000, Math.floor(n / 8));
    case 'readrandom':
    case 'readmissing':
      return Math.max(1000, Math.floor(n / 4));
    case 'seekrandom':
      return Math.max(1000, Math.floor(n / 20));
    case 'readwhilewriting':
      return Math.max(1000, Math.floor(n / 10));
    case 'fillsync-1':
      return Math.max(500, Math.floor(n / 400));
    case 'fillsync-64':
      return Math.max(2000, Math.floor(n / 100));
    case 'fillbig-4k':
      return Math.max(200, Math.floor(n / 40));
    case 'fillbig-64k':
      return Math.max(50, Math.floor(n / 640));
    case 'txn-uncontended':
    case 'txn-hot':
      return Math.max(1000, Math.floor(n / 20));
    case 'txn-sync':
      return Math.max(500, Math.floor(n / 400));
    case 'overwrite3-flatten':
      return quarterKeys(n) * (1 + OVERWRITES);
    default:
      return n;
  }
}

/** Keys of the txn-* accounts and of overwrite3-flatten: a quarter of the run's keys. */
export function quarterKeys(n: number): number {
  return Math.max(1000, Math.floor(n / 4));
}

export const ENTRY_BYTES = KEY_BYTES + VALUE_BYTES;

function now(): number {
  return performance.now();
}

/** Builds a result from a timed loop. */
export function result(
  workload: string,
  ops: number,
  ms: number,
  userBytes: number,
  lat: Latencies | undefined,
  unit: 'op' | 'batch',
  rss: RssPeak,
): WorkloadResult {
  rss.sample();
  const seconds = ms / 1000;
  const r: WorkloadResult = {
    workload,
    ops,
    seconds: round(seconds, 4),
    opsPerSec: Math.round(ops / seconds),
    mbPerSec: round(userBytes / seconds / 1e6, 2),
    userBytes,
    rssPeak: rss.peak,
  };
  const s = lat?.summary();
  if (s !== undefined) r.latency = { unit, ...s };
  return r;
}

/** Single awaited puts of keys `order(0..n-1)`. */
export async function fillSingle(e: Engine, name: string, n: number, order: (i: number) => number, values: Values, sync: boolean): Promise<WorkloadResult> {
  const lat = new Latencies(n);
  const rss = new RssPeak();
  const t = now();
  for (let i = 0; i < n; i++) {
    const idx = order(i);
    const k = keyOf(idx);
    const v = values.valueOf(idx);
    const t0 = now();
    await e.put(k, v, sync);
    lat.add((now() - t0) * 1000);
    if (i % RSS_EVERY === 0) rss.sample();
  }
  return result(name, n, now() - t, n * (KEY_BYTES + values.size), lat, 'op', rss);
}

/** Batches of BATCH puts of keys `order(0..n-1)`. */
export async function fillBatch(e: Engine, name: string, n: number, order: (i: number) => number, values: Values, salt = 0): Promise<WorkloadResult> {
  const lat = new Latencies(Math.ceil(n / BATCH));
  const rss = new RssPeak();
  const t = now();
  for (let i = 0; i < n; i += BATCH) {
    const m = Math.min(BATCH, n - i);
    const keys = new Array<Buffer>(m);
    const vals = new Array<Buffer>(m);
    for (let j = 0; j < m; j++) {
      const idx = order(i + j);
      keys[j] = keyOf(idx);
      vals[j] = values.valueOf(idx + salt);
    }
    const t0 = now();
    await e.putBatch(keys, vals);
    lat.add((now() - t0) * 1000);
    if ((i / BATCH) % 4 === 0) rss.sample();
  }
  return result(name, n, now() - t, n * (KEY_BYTES + values.size), lat, 'batch', rss);
}

/** Random point reads of keys that exist (or, with `missing`, of keys that never did). */
export function readRandom(e: Engine, name: string, n: number, reads: number, seed: number, missing: boolean, pick: (j: number) => number = (j) => j): WorkloadResult {
  const lat = new Latencies(reads);
  const rss = new RssPeak();
  const rng = new Rng(seed);
  let found = 0;
  let bytes = 0;
  const t = now();
  for (let i = 0; i < reads; i++) {
    const idx = pick(rng.below(n));
    const k = missing ? missingKeyOf(idx) : keyOf(idx);
    const t0 = now();
    const v = e.get(k);
    lat.add((now() - t0) * 1000);
    if (v !== undefined && v !== null) {
      found++;
      bytes += KEY_BYTES + v.length;
    }
    if (i % RSS_EVERY === 0) rss.sample();
  }
  const ms = now() - t;
  const expected = missing ? 0 : reads;
  if (found !== expected) throw new Error(`${name}: found ${found} of ${reads} keys, expected ${expected}`);
  return result(name, reads, ms, bytes, lat, 'op', rss);
}

export async function readScan(e: Engine, name: string, n: number, reverse: boolean): Promise<WorkloadResult> {
  const rss = new RssPeak();
  const t = now();
  const { entries, bytes } = await e.scan(reverse);
  const ms = now() - t;
  if (entries !== n) throw new Error(`${name}: scanned ${entries} entries, expected ${n}`);
  return result(name, entries, ms, bytes, undefined, 'op', rss);
}

/** Seek to a random existing key, then read the next SEEK_NEXT entries (the key included). */
export async function seekRandom(e: Engine, n: number, seeks: number, seed: number): Promise<WorkloadResult> {
  const lat = new Latencies(seeks);
  const rss = new RssPeak();
  const rng = new Rng(seed);
  let entries = 0;
  const t = now();
  for (let i = 0; i < seeks; i++) {
    const k = keyOf(rng.below(n));
    const t0 = now();
    entries += await e.seek(k, SEEK_NEXT);
    lat.add((now() - t0) * 1000);
    if (i % RSS_EVERY === 0) rss.sample();
  }
  const ms = now() - t;
  if (entries < seeks) throw new Error(`seekrandom: ${entries} entries for ${seeks} seeks`);
  const r = result('seekrandom', seeks, ms, entries * ENTRY_BYTES, lat, 'op', rss);
  r.extra = { entriesRead: entries };
  return r;
}

/**
 * Random gets while one writer overwrites random keys flat out (single awaited puts). Reader
 * and writer each do TURN_OPS operations, then yield the event loop, so neither starves the
 * other; the event-loop delay histogram shows how long the engine itself blocks the thread.
 */
export async function readWhileWriting(e: Engine, n: number, reads: number, values: Values, seed: number): Promise<WorkloadResult> {
  const lat = new Latencies(reads);
  const rss = new RssPeak();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let stop = false;
  let writes = 0;
  const wrng = new Rng(seed ^ 0x5bd1e995);
  const writer = (async (): Promise<void> => {
    while (!stop) {
      for (let j = 0; j < TURN_OPS && !stop; j++) {
        const idx = wrng.below(n);
        await e.put(keyOf(idx), values.valueOf(idx + 1), false);
        writes++;
      }
      await yieldToLoop();
    }
  })();
  const rng = new Rng(seed);
  let found = 0;
  loop.enable();
  const t = now();
  for (let i = 0; i < reads; ) {
    for (let j = 0; j < TURN_OPS && i < reads; j++, i++) {
      const k = keyOf(rng.below(n));
      const t0 = now();
      const v = e.get(k);
      lat.add((now() - t0) * 1000);
      if (v !== undefined && v !== null) found++;
    }
    if (i % RSS_EVERY < TURN_OPS) rss.sample();
    await yieldToLoop();
  }
  const ms = now() - t;
  loop.disable();
  stop = true;
  await writer;
  if (found !== reads) throw new Error(`readwhilewriting: found ${found} of ${reads} keys`);
  const r = result('readwhilewriting', reads, ms, reads * ENTRY_BYTES, lat, 'op', rss);
  r.extra = {
    writesPerSec: Math.round(writes / (ms / 1000)),
    loopDelayP50Ms: round(loop.percentile(50) / 1e6, 3),
    loopDelayP99Ms: round(loop.percentile(99) / 1e6, 3),
    loopDelayMaxMs: round(loop.max / 1e6, 3),
  };
  return r;
}

/**
 * Runs `ops` operations, `op(i, w)` for i = 0, 1, … on `workers` concurrent async loops (w is
 * the loop's number), with the clock read around each; resolves with the elapsed milliseconds.
 */
async function concurrently(ops: number, workers: number, lat: Latencies, op: (i: number, w: number) => unknown): Promise<number> {
  let next = 0;
  const loop = async (w: number): Promise<void> => {
    while (next < ops) {
      const i = next++;
      const t0 = now();
      await op(i, w);
      lat.add((now() - t0) * 1000);
    }
  };
  const t = now();
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return now() - t;
}

/** `ops` synced puts shared among `writers` concurrent loops (group commit can batch them). */
export async function fillSync(e: Engine, name: string, ops: number, writers: number, order: (i: number) => number, values: Values): Promise<WorkloadResult> {
  const lat = new Latencies(ops);
  const rss = new RssPeak();
  const ms = await concurrently(ops, writers, lat, (i) => {
    const idx = order(i);
    return e.put(keyOf(idx), values.valueOf(idx), true);
  });
  return result(name, ops, ms, ops * ENTRY_BYTES, lat, 'op', rss);
}

/** Waits for the engine's leftover background work (not timed into `r`; recorded as settleMs). */
export async function settle(e: Engine, r: WorkloadResult): Promise<void> {
  if (e.settle === undefined) return;
  const ms = await e.settle();
  r.extra = { ...r.extra, settleMs: Math.round(ms) };
}

/** txn-*: accounts `keyOf(0..)`, each balance an 8-byte float64 holding an integer. */
const BALANCE_BYTES = 8;
const START_BALANCE = 1_000_000;

function balance(x: number): Buffer {
  const b = Buffer.allocUnsafe(BALANCE_BYTES);
  b.writeDoubleLE(x, 0);
  return b;
}

function balanceOf(v: Uint8Array | undefined | null): number {
  if (v === undefined || v === null || v.length !== BALANCE_BYTES) throw new Error(`txn: an account holds ${v?.length ?? 'no'} bytes, expected ${BALANCE_BYTES}`);
  return Buffer.from(v.buffer, v.byteOffset, BALANCE_BYTES).readDoubleLE(0);
}

/** Creates `accounts` accounts with the same balance, in batches. */
export async function loadAccounts(e: Engine, accounts: number): Promise<void> {
  const start = balance(START_BALANCE);
  await fillBatch(e, 'accounts', accounts, (i) => i, { size: BALANCE_BYTES, valueOf: () => start });
}

/**
 * Throws unless every account holds its starting balance plus the amounts of the transfers that
 * committed (`moved[i]`; the order does not matter, so this holds under any serial order), and
 * the balances still add up to what the accounts started with. A lost update, a torn or a
 * doubly applied transaction breaks it.
 */
export function checkBalances(e: Engine, name: string, moved: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < moved.length; i++) {
    const b = balanceOf(e.get(keyOf(i)));
    if (b !== START_BALANCE + moved[i]!) throw new Error(`${name}: account ${i} holds ${b}, expected ${START_BALANCE + moved[i]!} from the committed transfers`);
    sum += b;
  }
  if (sum !== moved.length * START_BALANCE) throw new Error(`${name}: balances add up to ${sum}, expected ${moved.length * START_BALANCE}`);
}

/**
 * `txns` transfers by TXN_WORKERS concurrent async workers: each a read-modify-write
 * transaction reading two different accounts among the first `keys` and writing both back (one
 * down, one up by the same amount), retried on conflict by the engine adapter. Adds each
 * committed transfer to `moved` and checks every account against it afterwards.
 */
export async function transfers(e: Engine, name: string, txns: number, keys: number, moved: Float64Array, seed: number, sync: boolean): Promise<WorkloadResult> {
  const transact = e.transact?.bind(e);
  if (transact === undefined) throw new Error(`${name}: the engine has no transactions`);
  const lat = new Latencies(txns);
  const rss = new RssPeak();
  const rngs = Array.from({ length: TXN_WORKERS }, (_, w) => new Rng(seed + w * 7919));
  let retries = 0;
  const ms = await concurrently(txns, TXN_WORKERS, lat, async (_, w) => {
    const rng = rngs[w]!;
    const a = rng.below(keys);
    const b = (a + 1 + rng.below(keys - 1)) % keys;
    const amount = 1 + rng.below(100);
    retries += await transact([keyOf(a), keyOf(b)], ([va, vb]) => [balance(balanceOf(va) - amount), balance(balanceOf(vb) + amount)], sync);
    moved[a] = moved[a]! - amount;
    moved[b] = moved[b]! + amount;
  });
  checkBalances(e, name, moved);
  const r = result(name, txns, ms, txns * 2 * (KEY_BYTES + BALANCE_BYTES), lat, 'op', rss);
  r.extra = { workers: TXN_WORKERS, keys, retries, retriesPerTxn: round(retries / txns, 4) };
  return r;
}

/**
 * overwrite3-flatten: `k` keys in random order, then every key OVERWRITES more times (a new
 * random order and new values each time), in batches, with incompressible values; then the
 * engine's full compaction. Write amplification is the writes'; disk use is measured after the
 * compaction and close() (so deletions of obsolete files still in flight are done): the caller
 * only removes the directory.
 */
export async function overwriteFlatten(db: { engine: Engine; dir: string }, k: number, seed: number): Promise<WorkloadResult> {
  const e = db.engine;
  const values = new ValuePool(VALUE_BYTES, seed, false);
  const meter = new WriteMeter(db);
  const rss = new RssPeak();
  let ms = 0;
  for (let round = 0; round <= OVERWRITES; round++) {
    const perm = permutation(k, seed + round);
    const r = await fillBatch(e, 'overwrite3-flatten', k, (i) => perm[i]!, values, round * 1009);
    ms += r.seconds * 1000;
    rss.peak = Math.max(rss.peak, r.rssPeak);
  }
  const ops = k * (1 + OVERWRITES);
  const live = k * ENTRY_BYTES;
  const r = result('overwrite3-flatten', ops, ms, ops * ENTRY_BYTES, undefined, 'batch', rss);
  await settle(e, r);
  meter.finish(r, live, true);
  const before = r.spaceAmp!;
  const t = now();
  await e.compactAll?.();
  const compactMs = now() - t;
  await e.close();
  r.diskBytes = diskBytes(db.dir);
  r.spaceAmp = round(r.diskBytes / live, 3);
  const files = fileBytes(db.dir);
  r.extra = { ...r.extra, keys: k, compactMs: Math.round(compactMs), fileBytes: files, fileSpaceAmp: round(files / live, 3), spaceAmpBeforeCompaction: before };
  return r;
}
