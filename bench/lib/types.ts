/** Shapes of the figures that travel from a worker to the runner and into results/*.json. */
import type { EngineApis, EngineId } from '../engines/types.js';

export interface Percentiles {
  /** 'op': one operation; 'batch': one batch of `batchSize` puts. */
  unit: 'op' | 'batch';
  p50: number;
  p99: number;
  p999: number;
}

export interface WorkloadResult {
  workload: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** User bytes (keys + values) moved per second, in MB (10^6 bytes). */
  mbPerSec: number;
  userBytes: number;
  /** Microseconds. */
  latency?: Percentiles;
  /** Peak RSS sampled during the workload, bytes. */
  rssPeak: number;
  /** Allocated bytes of the database directory right after the workload (writes only). */
  diskBytes?: number;
  /** diskBytes / live user bytes. */
  spaceAmp?: number;
  /** sett only: (WAL + flushed table + compaction output bytes) / user bytes written. */
  writeAmp?: number;
  /** Any engine: bytes this process passed to write(2) / user bytes written (/proc/self/io). */
  ioWriteAmp?: number;
  /** The API measured, where it differs by engine. */
  api?: string;
  /** Workload-specific figures (writes/s during readwhilewriting, loop delay, tables, …). */
  extra?: Record<string, number>;
}

/** How a --scale run fills: batches of 1,000 puts, or one awaited put at a time (`--fill single`). */
export type ScaleFill = 'batch' | 'single';

export interface WorkerRequest {
  engine: EngineId;
  run: number;
  keys: number;
  workloads: string[];
  memtableBytes: number;
  cacheBytes: number;
  tmpRoot: string;
  /** scale mode: checkpoints (key counts) at which to measure. */
  checkpoints?: number[];
  /** scale mode: batched or single-put fill. */
  scaleFill?: ScaleFill;
}

export interface WorkerReply {
  engine: EngineId;
  label: string;
  apis: EngineApis;
  run: number;
  results: WorkloadResult[];
  /** Process-wide peak RSS (bytes), from process.resourceUsage(). */
  maxRss: number;
  seconds: number;
}
