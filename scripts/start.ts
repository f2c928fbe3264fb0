/**
 * `npm start`: the main job on the embedded default. Opens (or creates) ./sett-data with default
 * options, writes 1,000,000 keys (16-byte keys, 100-byte values) in batches, reads a random
 * sample back and verifies it, scans everything once, and prints throughput per phase and the
 * shape of the tree. Run it twice: the second run reopens the same data (and overwrites it with
 * the same values, so verification still holds).
 *
 *   npm start [-- --keys N --batch N --path DIR --sample N --sync]
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { open } from '../src/index.js';
import type { DBStats } from '../src/api/stats.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    sample: { type: 'string', default: '100000' },
    path: { type: 'string', default: './sett-data' },
    sync: { type: 'boolean', default: false },
  },
});
const N = Number(args.keys);
const BATCH = Number(args.batch);
const SAMPLE = Math.min(Number(args.sample), N);

/** Key i: 16 bytes, spread over the key space (a multiplicative hash of i), so writes are random. */
function keyOf(i: number, out = new Uint8Array(16)): Uint8Array {
  const h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  const dv = new DataView(out.buffer, out.byteOffset, 16);
  dv.setUint32(0, h);
  dv.setUint32(4, 0x73657474); // "sett"
  dv.setUint32(8, Math.floor(i / 0x1_0000_0000));
  dv.setUint32(12, i >>> 0);
  return out;
}

/** Value i: 100 bytes, half compressible (50 bytes of a repeated pattern, 50 pseudo-random). */
function valueOf(i: number): Uint8Array {
  const v = new Uint8Array(100);
  v.fill(0x61 + (i % 26), 0, 50);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let j = 50; j < 100; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[j] = x & 0xff;
  }
  return v;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}
function bytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
function phase(name: string, ops: number, ms: number, userBytes: number): void {
  const s = ms / 1000;
  console.log(`${name.padEnd(10)} ${fmt(ops).padStart(9)} ops in ${s.toFixed(2).padStart(6)} s  ${fmt(ops / s).padStart(9)} ops/s  ${(userBytes / s / (1 << 20)).toFixed(1).padStart(7)} MB/s`);
}
function shape(st: DBStats): void {
  const m = st.memtables;
  console.log(`memtables: active ${fmt(m.active.entries)} entries (${bytes(m.active.bytes)} of ${bytes(m.active.capacity)}), ${m.immutable} waiting for flush`);
  for (const l of st.levels) if (l.tables > 0) console.log(`  L${l.level}: ${l.tables} tables, ${bytes(l.bytes)}, ${fmt(l.entries)} entries`);
  console.log(`tables: ${st.tables} (${bytes(st.tableBytes)}), block cache ${bytes(st.blockCache.usedBytes)} of ${bytes(st.blockCache.capacityBytes)}, last version ${st.lastVersion}`);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const db = await open({ path: args.path, sync: args.sync });
  const reopened = db.lastVersion > 0;
  console.log(`${reopened ? 'reopened' : 'created'} ${args.path} in ${(performance.now() - t0).toFixed(0)} ms (last version ${db.lastVersion})`);
  shape(db.stats());

  // 1. Write N keys in batches, in a random key order.
  const bar = new cliProgress.SingleBar({ format: 'write      [{bar}] {percentage}% {value}/{total} keys {rate}', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 2000 }, cliProgress.Presets.shades_classic);
  bar.start(N, 0, { rate: '' });
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const b = db.batch();
    const end = Math.min(N, i + BATCH);
    for (let j = i; j < end; j++) b.put(keyOf(j), valueOf(j));
    await b.write();
    bar.update(end, { rate: `${fmt(end / ((performance.now() - t) / 1000))} keys/s` });
  }
  bar.stop();
  phase('write', N, performance.now() - t, N * 116);

  // 2. Read a random sample back and verify every byte.
  t = performance.now();
  let bad = 0;
  let x = 12345;
  for (let s = 0; s < SAMPLE; s++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const i = x % N;
    const v = db.getSync(keyOf(i));
    const want = valueOf(i);
    if (v === undefined || v.length !== want.length || v.some((b, k) => b !== want[k])) bad++;
  }
  phase('read', SAMPLE, performance.now() - t, SAMPLE * 116);
  if (bad > 0) throw new Error(`verification failed: ${bad} of ${SAMPLE} sampled keys are missing or wrong`);
  console.log(`verified   ${fmt(SAMPLE)} random keys: all present and correct`);

  // 3. Scan everything once.
  t = performance.now();
  let count = 0;
  let scanned = 0;
  for (const [k, v] of db.iterator()) {
    count++;
    scanned += k.length + v.length;
  }
  phase('scan', count, performance.now() - t, scanned);
  if (count < N) throw new Error(`scan found ${count} keys, expected at least ${N}`);

  console.log('tree:');
  shape(db.stats());
  t = performance.now();
  await db.close();
  console.log(`closed in ${(performance.now() - t).toFixed(0)} ms`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
