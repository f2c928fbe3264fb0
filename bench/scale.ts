/**
 * `--scale`: how cost grows with size. One database is filled with random keys in batches up to
 * the largest checkpoint; at each checkpoint (1 M, 5 M, 9 M, 10 M keys by default) the runner
 * records the fill throughput of the last segment, random-read throughput over everything
 * loaded so far, RSS (which should stay flat: memory must not grow with the data) and the
 * cumulative write and space amplification. The fill writes batches of 1,000 puts (default),
 * or, with `--fill single`, one awaited put at a time as db_bench's fillrandom does.
 */
import { permutation, ValuePool, VALUE_BYTES } from './lib/data.js';
import type { ScaleFill, WorkloadResult } from './lib/types.js';
import { type Session, WriteMeter } from './lib/session.js';
import { ENTRY_BYTES, fillBatch, fillSingle, readRandom } from './workloads.js';

const SEED = 20240601;
const READS = 200_000;

export function keysLabel(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

export async function runScale(s: Session, checkpoints: readonly number[], log: (r: WorkloadResult) => void, mode: ScaleFill = 'batch'): Promise<void> {
  const n = Math.max(...checkpoints);
  const values = new ValuePool(VALUE_BYTES);
  const perm = permutation(n, SEED);
  const db = await s.open();
  const total = new WriteMeter(db);
  let done = 0;
  for (const c of [...checkpoints].sort((a, b) => a - b)) {
    const at = keysLabel(c);
    const from = done;
    const order = (i: number): number => perm[from + i]!;
    const fill =
      mode === 'batch'
        ? await fillBatch(db.engine, `fillrandom-batch@${at}`, c - from, order, values)
        : await fillSingle(db.engine, `fillrandom-single@${at}`, c - from, order, values, false);
    done = c;
    if (db.engine.settle !== undefined) fill.extra = { settleMs: Math.round(await db.engine.settle()) };
    const cumulative = total.finish({ ...fill, userBytes: c * ENTRY_BYTES }, c * ENTRY_BYTES, s.factory.durable);
    fill.extra = { ...fill.extra, ...cumulative.extra, keys: c, rssNow: process.memoryUsage.rss() };
    for (const k of ['writeAmp', 'ioWriteAmp', 'diskBytes', 'spaceAmp'] as const) {
      if (cumulative[k] !== undefined) fill[k] = cumulative[k];
    }
    log(fill);
    const reads = readRandom(db.engine, `readrandom@${at}`, c, Math.min(READS, c), SEED + c, false, (j) => perm[j]!);
    reads.api = s.factory.apis.get;
    reads.extra = { keys: c, rssNow: process.memoryUsage.rss() };
    log(reads);
  }
  await s.drop(db);
}
