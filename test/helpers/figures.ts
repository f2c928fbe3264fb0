/**
 * The reliability figures `npm test` prints at its end: seeds run, operations checked, crash
 * points recovered, faults injected, corrupted files detected. Tests add to them as they go;
 * each `add` appends one JSON line to `.sett-figures.jsonl` in the repository root (test files
 * run in separate worker processes, and an appended line is the simplest thing they can all
 * share). scripts/test.mjs deletes the file before a run and sums it after.
 */
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const FIGURES = ['seeds run', 'operations checked', 'crash points recovered', 'faults injected', 'corrupted files detected'] as const;
export type Figure = (typeof FIGURES)[number];

export const FIGURES_FILE = resolve(process.cwd(), '.sett-figures.jsonl');

/** Where each line came from (the test file), for a per-file breakdown when one is wanted. */
function source(): string {
  const stack = new Error().stack ?? '';
  const m = /(test\/[\w/.-]+\.test\.ts)/.exec(stack);
  return m?.[1] ?? 'unknown';
}

export const figures = {
  /** Adds `n` to figure `name`. Zero and negative counts are ignored. */
  add(name: Figure, n: number): void {
    if (!(n > 0)) return;
    if (process.env.SETT_FIGURES === '0') return;
    appendFileSync(FIGURES_FILE, `${JSON.stringify({ figure: name, n, from: source() })}\n`);
  },
};
