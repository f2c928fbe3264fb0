/**
 * Gives the event loop a turn, so long synchronous jobs (building a table in the foreground
 * thread) do not freeze callers. setImmediate where it exists (Node), else a MessageChannel
 * (browsers and workers), else setTimeout.
 */
type Immediate = (cb: () => void) => unknown;
const g = globalThis as { setImmediate?: Immediate; MessageChannel?: typeof MessageChannel };

export const yieldToEventLoop: () => Promise<void> = (() => {
  const si = g.setImmediate;
  if (typeof si === 'function') return () => new Promise<void>((resolve) => si(resolve));
  const MC = g.MessageChannel;
  if (typeof MC === 'function') {
    const ch = new MC();
    const queue: (() => void)[] = [];
    ch.port1.onmessage = () => queue.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        queue.push(resolve);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();

/** Longest stretch a sliced job runs before it gives the event loop a turn. */
export const SLICE_MS = 4;

/** Entries between turns on a simulated file system (deterministic slices). */
const SIMULATED_SLICE_ENTRIES = 4096;

/**
 * Time-based slicing for long loops on a thread that also serves callers (inline flush and
 * compaction: the browser's engine worker, or Node with compactionWorkers 0): `due()` is cheap
 * (it reads the clock every 64 calls) and says when SLICE_MS have passed since the last turn.
 * `byCount` (a simulated file system) slices by entry count instead, so seeded runs replay.
 */
export class Slicer {
  private last = performance.now();
  private n = 0;
  private readonly byCount: boolean;

  constructor(byCount = false) {
    this.byCount = byCount;
  }

  due(): boolean {
    const n = ++this.n;
    if (this.byCount) return n % SIMULATED_SLICE_ENTRIES === 0;
    if ((n & 63) !== 0) return false;
    return performance.now() - this.last >= SLICE_MS;
  }

  /** Gives the event loop a turn and starts a new slice. */
  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.last = performance.now();
  }
}
