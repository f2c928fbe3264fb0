/**
 * A test clock for a whole metamorphic sequence, under vitest and under plain tsx alike (the
 * soak has no `vi`): it replaces `Date.now` only, and only while installed. The engine reads
 * the time of day through `Date.now()` alone (`nowSeconds()` in src/engine/db-iterator.ts for
 * expiry, the compactor's expiry timer), so a sequence sees a clock that starts at a fixed
 * instant (2026-01-01T00:00:00Z, so a seed replays identically) and moves only when the
 * sequence says so, in whole seconds. Timers (setTimeout) and `performance.now()` stay real:
 * nothing may wait for this clock to move by itself.
 */

export const CLOCK_START_MS = Date.UTC(2026, 0, 1);

/** The `Date.now` a clock replaced, while one is installed. */
let realNow: (() => number) | undefined;

export class TestClock {
  private ms: number;
  private readonly startMs: number;
  private restored = false;

  private constructor(startMs: number) {
    this.ms = startMs;
    this.startMs = startMs;
  }

  /** Replaces `Date.now` until `restore()`; one clock at a time. */
  static install(startMs = CLOCK_START_MS): TestClock {
    if (realNow !== undefined) throw new Error('a TestClock is installed already (sequences run one at a time)');
    const clock = new TestClock(startMs);
    realNow = Date.now;
    Date.now = () => clock.ms;
    return clock;
  }

  /** Unix seconds now (what the engine's `nowSeconds()` returns). */
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }

  /** Seconds since the clock started. */
  get elapsed(): number {
    return Math.floor((this.ms - this.startMs) / 1000);
  }

  advance(seconds: number): void {
    if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`the test clock moves forward by whole seconds, not ${seconds}`);
    this.ms += seconds * 1000;
  }

  /** Puts the real `Date.now` back (idempotent). */
  restore(): void {
    if (this.restored) return;
    this.restored = true;
    if (realNow !== undefined) Date.now = realNow;
    realNow = undefined;
  }
}
