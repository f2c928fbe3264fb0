/** Measuring helpers: latency samples, peak RSS, bytes on disk, bytes written by the process. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Per-operation latencies in microseconds, kept in a growable Float64Array. */
export class Latencies {
  private buf: Float64Array;
  private n = 0;

  constructor(expected = 1024) {
    this.buf = new Float64Array(Math.max(16, expected));
  }

  add(us: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = us;
  }

  get count(): number {
    return this.n;
  }

  /** p50/p99/p999 in microseconds (undefined when nothing was recorded). */
  summary(): { p50: number; p99: number; p999: number } | undefined {
    if (this.n === 0) return undefined;
    const s = this.buf.subarray(0, this.n).sort();
    const at = (q: number): number => round(s[Math.min(this.n - 1, Math.floor(q * this.n))]!, 2);
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Peak resident set size during a workload: sampled every few thousand operations (reading it
 * costs about 10 µs) and at the end. The process-wide peak (`maxRSS`) is reported separately.
 */
export class RssPeak {
  peak = process.memoryUsage.rss();
  sample(): void {
    const r = process.memoryUsage.rss();
    if (r > this.peak) this.peak = r;
  }
}

/** Bytes the directory tree occupies on disk (allocated blocks; a sparse file counts as used). */
export function diskBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // removed while we looked (an engine deleting an obsolete file)
    }
    if (st.isDirectory()) total += diskBytes(p);
    else total += Math.max(st.blocks * 512, 0);
  }
  return total;
}

/** Apparent size of the directory tree (sum of file lengths). */
export function fileBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(dir, name);
    try {
      const st = statSync(p);
      total += st.isDirectory() ? fileBytes(p) : st.size;
    } catch {
      // removed while we looked
    }
  }
  return total;
}

/**
 * Bytes this process has passed to write(2)/pwrite(2) so far, all threads included
 * (`wchar` in /proc/self/io): a write-amplification measure that works for every engine,
 * including those that write from background threads. Undefined off Linux.
 */
export function processWriteBytes(): number | undefined {
  try {
    const m = /^wchar:\s*(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Resolves on the next turn of the event loop (after I/O callbacks), not as a microtask. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
