/**
 * From raw runs to reported figures: every number is the median over runs (for an even count,
 * the mean of the middle two), field by field. The raw runs stay in the JSON next to it.
 */
import type { EngineApis, EngineId } from '../engines/types.js';
import type { Mode } from './args.js';
import type { Percentiles, WorkerReply, WorkloadResult } from './types.js';

export interface EngineSummary {
  id: EngineId;
  label: string;
  apis: EngineApis;
  /** Runs that finished (a failed run is listed in `failures`). */
  runs: number;
  failures: string[];
  /** Median over runs of the worker process's peak RSS. */
  maxRss: number;
  /** Workload name → median figures. */
  workloads: Record<string, WorkloadResult>;
}

export interface BenchMeta {
  date: string;
  command: string;
  mode: Mode;
  keys: number;
  runs: number;
  memtableBytes: number;
  cacheBytes: number;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; fs?: string };
  node: string;
  sett: { version: string; commit: string };
  loadAverageAtStart: number[];
  seconds: number;
}

export interface BenchResults {
  meta: BenchMeta;
  engines: EngineSummary[];
  workloads: string[];
  raw: WorkerReply[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function medianOf<T>(items: readonly T[], get: (t: T) => number | undefined): number | undefined {
  const xs = items.map(get).filter((x): x is number => x !== undefined);
  return xs.length === 0 ? undefined : median(xs);
}

function roundLike(x: number): number {
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000;
}

export function mergeRuns(rs: readonly WorkloadResult[]): WorkloadResult {
  const first = rs[0]!;
  const num = (get: (r: WorkloadResult) => number | undefined): number | undefined => {
    const m = medianOf(rs, get);
    return m === undefined ? undefined : roundLike(m);
  };
  const out: WorkloadResult = {
    workload: first.workload,
    ops: num((r) => r.ops)!,
    seconds: num((r) => r.seconds)!,
    opsPerSec: Math.round(medianOf(rs, (r) => r.opsPerSec)!),
    mbPerSec: num((r) => r.mbPerSec)!,
    userBytes: num((r) => r.userBytes)!,
    rssPeak: num((r) => r.rssPeak)!,
  };
  if (first.latency !== undefined) {
    const lat: Percentiles = { unit: first.latency.unit, p50: 0, p99: 0, p999: 0 };
    for (const k of ['p50', 'p99', 'p999'] as const) lat[k] = num((r) => r.latency?.[k])!;
    out.latency = lat;
  }
  for (const k of ['diskBytes', 'spaceAmp', 'writeAmp', 'ioWriteAmp'] as const) {
    const v = num((r) => r[k]);
    if (v !== undefined) out[k] = v;
  }
  if (first.api !== undefined) out.api = first.api;
  if (first.extra !== undefined) {
    const extra: Record<string, number> = {};
    for (const k of Object.keys(first.extra)) {
      const v = num((r) => r.extra?.[k]);
      if (v !== undefined) extra[k] = v;
    }
    out.extra = extra;
  }
  return out;
}

export function summarize(replies: readonly WorkerReply[], failures: Map<EngineId, string[]>, order: readonly EngineId[]): EngineSummary[] {
  const out: EngineSummary[] = [];
  for (const id of order) {
    const mine = replies.filter((r) => r.engine === id);
    const byWorkload = new Map<string, WorkloadResult[]>();
    for (const reply of mine) {
      for (const r of reply.results) {
        const list = byWorkload.get(r.workload) ?? [];
        list.push(r);
        byWorkload.set(r.workload, list);
      }
    }
    const workloads: Record<string, WorkloadResult> = {};
    for (const [name, rs] of byWorkload) workloads[name] = mergeRuns(rs);
    out.push({
      id,
      label: mine[0]?.label ?? id,
      apis: mine[0]?.apis ?? { put: '', batch: '', get: '', scan: '', seek: '' },
      runs: mine.length,
      failures: failures.get(id) ?? [],
      maxRss: mine.length === 0 ? 0 : median(mine.map((r) => r.maxRss)),
      workloads,
    });
  }
  return out;
}
