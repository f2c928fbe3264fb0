#!/usr/bin/env node
/**
 * `npm test`: the whole suite, then one closing line `N passed, N failed[, N skipped]`.
 *
 *  1. Node tests with vitest (unit, property, crash, simulation).
 *  2. Browser tests in real Chromium (test/browser/run.ts: OPFS backend, worker host and proxy,
 *     model test, restart and SIGKILL scenarios, demo screenshot), when a browser is found.
 *     Under CI=true a missing browser is a failure; elsewhere the suite says plainly that it
 *     skipped them. CHROMIUM_PATH overrides where to look.
 *
 * Extra arguments are passed to vitest (e.g. `npm test -- test/unit/wal`) and skip the browser
 * part; `npm run test:browser` runs the browser part alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';

const results = '.vitest-results.json';
rmSync(results, { force: true });
// Reliability figures: tests append JSON lines here (test/helpers/figures.ts); summed at the end.
const figuresFile = '.sett-figures.jsonl';
rmSync(figuresFile, { force: true });
const extra = process.argv.slice(2);
const vitest = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...extra],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A file that failed to load has no tests counted: count it as a failure.
  for (const f of r.testResults) if (f.status === 'failed' && f.assertionResults.length === 0) failed++;
} else {
  failed++;
  console.error('vitest produced no results file');
}
if (vitest.status !== 0 && failed === 0) failed++;

const browserDir = 'test/browser';
const hasBrowserTests = existsSync(browserDir) && readdirSync(browserDir).some((f) => f.endsWith('.browser.ts'));
if (hasBrowserTests && extra.length === 0) {
  const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (chromium === undefined) {
    if (process.env.CI === 'true') {
      console.error('browser tests: Chromium not found, and CI=true requires them');
      failed++;
    } else {
      console.log('browser tests: SKIPPED — Chromium not found (install Debian\'s chromium package to run them)');
    }
  } else {
    rmSync('.browser-results.json', { force: true }); // never count a stale summary
    const b = spawnSync(process.execPath, ['--import', 'tsx', 'test/browser/run.ts'], { stdio: ['inherit', 'inherit', 'inherit'], env: { ...process.env, CHROMIUM_PATH: chromium } });
    const summary = existsSync('.browser-results.json') ? JSON.parse(readFileSync('.browser-results.json', 'utf8')) : undefined;
    if (summary === undefined) failed++;
    else {
      passed += summary.passed;
      failed += summary.failed;
    }
    if (b.status !== 0 && (summary === undefined || summary.failed === 0)) failed++;
  }
} else if (extra.length > 0) {
  console.log('browser tests: not run (arguments were given for vitest; npm run test:browser runs them)');
} else {
  console.log('browser tests: none found in test/browser');
}

printFigures(failed);
console.log(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);

/** The totals of the reliability figures the tests recorded (seeds, operations, crashes, ...). */
function printFigures(failures) {
  if (!existsSync(figuresFile)) return;
  const names = ['seeds run', 'operations checked', 'crash points recovered', 'faults injected', 'corrupted files detected'];
  const totals = new Map(names.map((n) => [n, 0]));
  for (const line of readFileSync(figuresFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const { figure, n } = JSON.parse(line);
      totals.set(figure, (totals.get(figure) ?? 0) + n);
    } catch {
      // a line cut by a crashed worker: skip it
    }
  }
  console.log('\nreliability figures (simulation, crash, fault and corruption tests):');
  for (const [name, n] of totals) console.log(`  ${name.padEnd(26)}${n.toLocaleString('en-US').padStart(12)}`);
  console.log(`  ${'failures'.padEnd(26)}${String(failures).padStart(12)}`);
}
