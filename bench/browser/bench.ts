/**
 * The browser benchmark's page and worker (one bundle, started in both places). The page
 * exposes `settBench.run(engine, config)`; engines that live in a worker (sett, IndexedDB) run in
 * a dedicated worker started from this same script, 'sett-proxy' runs on the page against the
 * engine host in its own worker. Workloads, in order, all on the same keys and values:
 *
 *   fillbatch   n keys in atomic batches of `batch`, awaited one after another
 *   readrandom  `gets` awaited gets of existing keys in a seeded random order (values checked)
 *   scan        every entry in key order
 *   putsingle   `puts` new keys, one awaited put each
 *   compaction  (sett only) every key overwritten once, then `flatten()` — the merge runs inside
 *               the engine's worker in time slices — while awaited random gets go on; reports
 *               the flatten's duration and the gets' latency (p50 / p99 / max): how long the
 *               worker is held by one slice of compaction work
 */
import { type BenchEngine, type EngineName, keyOf, openEngine, valueOf } from './engines.js';

export interface BenchConfig {
  n: number;
  batch: number;
  gets: number;
  puts: number;
  seed: number;
  /** Workloads to run (default: all). */
  only?: string[];
}

export interface Figure {
  ops: number;
  ms: number;
  /** Latency percentiles of the operations, where measured (ms). */
  p50?: number;
  p99?: number;
  max?: number;
}

export type EngineResult = Record<string, Figure> & { error?: never };

const WORKER_ENGINES: EngineName[] = ['sett', 'sett-sync', 'browser-level', 'indexeddb', 'indexeddb-strict'];

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function runWorkloads(engine: BenchEngine, c: BenchConfig): Promise<Record<string, Figure>> {
  const want = (w: string): boolean => c.only === undefined || c.only.includes(w);
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  for (let i = 0; i < c.n + c.puts; i++) {
    keys.push(keyOf(i));
    values.push(valueOf(i));
  }
  const out: Record<string, Figure> = {};
  let t0 = performance.now();
  for (let from = 0; from < c.n; from += c.batch) await engine.batch(keys, values, from, Math.min(c.n, from + c.batch));
  out.fillbatch = { ops: c.n, ms: performance.now() - t0 };
  await engine.settle();
  if (want('readrandom')) {
    const rnd = xorshift(c.seed);
    const order = Array.from({ length: c.gets }, () => rnd() % c.n);
    t0 = performance.now();
    let bad = 0;
    for (const i of order) if (!same(await engine.get(keys[i]!), values[i]!)) bad++;
    out.readrandom = { ops: c.gets, ms: performance.now() - t0 };
    if (bad > 0) throw new Error(`readrandom: ${bad} wrong values`);
  }
  if (want('scan')) {
    t0 = performance.now();
    const s = await engine.scan();
    out.scan = { ops: s.count, ms: performance.now() - t0 };
    if (s.count !== c.n) throw new Error(`scan saw ${s.count} entries, expected ${c.n}`);
  }
  if (want('putsingle')) {
    t0 = performance.now();
    for (let i = c.n; i < c.n + c.puts; i++) await engine.put(keys[i]!, values[i]!);
    out.putsingle = { ops: c.puts, ms: performance.now() - t0 };
  }
  if (want('compaction') && engine.flatten !== undefined) out.compaction = await getsDuringCompaction(engine, engine.flatten.bind(engine), keys, values, c);
  return out;
}

/** Resolves from a new task (a MessageChannel message: no timer clamping). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

/** Overwrites every key, then reads at random while `flatten` merges it all; ops = gets served. */
async function getsDuringCompaction(engine: BenchEngine, flatten: () => Promise<void>, keys: Uint8Array[], values: Uint8Array[], c: BenchConfig): Promise<Figure> {
  for (let from = 0; from < c.n; from += c.batch) await engine.batch(keys, values, from, Math.min(c.n, from + c.batch));
  const rnd = xorshift(c.seed ^ 0x2545f491);
  const lat: number[] = [];
  let done = false;
  const t0 = performance.now();
  const merge = flatten().finally(() => {
    done = true;
  });
  while (!done) {
    const i = rnd() % c.n;
    // Each get starts as a new task, as a request arriving by message would: its latency
    // includes waiting for whatever slice of merge work holds the thread.
    const t = performance.now();
    await nextTask();
    const v = await engine.get(keys[i]!);
    lat.push(performance.now() - t);
    if (!same(v, values[i]!)) throw new Error(`compaction: wrong value for key ${i}`);
  }
  await merge;
  const ms = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const at = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
  return { ops: lat.length, ms, p50: at(0.5), p99: at(0.99), max: lat[lat.length - 1] ?? 0 };
}

async function runEngine(name: EngineName, c: BenchConfig, workerUrl: string): Promise<Record<string, Figure>> {
  const location = `bench-${name}-${Date.now().toString(36)}`;
  const engine = await openEngine(name, location, workerUrl);
  try {
    return await runWorkloads(engine, c);
  } finally {
    await engine.close();
  }
}

const isWorker = typeof (globalThis as { document?: unknown }).document === 'undefined';
const SETT_WORKER = '/sett-worker.js';

if (isWorker) {
  globalThis.addEventListener('message', (e: Event) => {
    const { seq, engine, config } = (e as MessageEvent).data as { seq: number; engine: EngineName; config: BenchConfig };
    runEngine(engine, config, SETT_WORKER).then(
      (result) => postMessage({ seq, result }),
      (err: unknown) => postMessage({ seq, error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) }),
    );
  });
} else {
  let worker: Worker | undefined;
  let seq = 0;
  const waiting = new Map<number, { resolve: (r: Record<string, Figure>) => void; reject: (e: Error) => void }>();
  const inWorker = (engine: EngineName, config: BenchConfig): Promise<Record<string, Figure>> => {
    if (worker === undefined) {
      worker = new Worker(new URL(import.meta.url), { type: 'module', name: 'sett bench' });
      worker.onmessage = (e: MessageEvent) => {
        const m = e.data as { seq: number; result?: Record<string, Figure>; error?: string };
        const w = waiting.get(m.seq);
        waiting.delete(m.seq);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.result!);
      };
    }
    const s = ++seq;
    return new Promise((resolve, reject) => {
      waiting.set(s, { resolve, reject });
      worker!.postMessage({ seq: s, engine, config });
    });
  };
  (globalThis as unknown as { settBench: unknown }).settBench = {
    run: (engine: EngineName, config: BenchConfig) => (WORKER_ENGINES.includes(engine) ? inWorker(engine, config) : runEngine(engine, config, SETT_WORKER)),
    userAgent: navigator.userAgent,
  };
}
