/**
 * `npm run bench:browser`: sett on OPFS against IndexedDB (browser-level and raw) in headless
 * Chromium (Debian's, via playwright-core, fresh persistent profile so OPFS and IndexedDB are on
 * disk), same keys and values for every engine. Prints a table and writes
 * bench/browser/results.json and bench/browser/RESULTS.md.
 *
 *   npm run bench:browser [-- --n 100000 --batch 1000 --gets 20000 --puts 5000
 *                            --engines sett,sett-sync,sett-proxy,browser-level,indexeddb,indexeddb-strict
 *                            --no-write]
 *
 * See engines.ts for what each engine is and the durability each write has when acknowledged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { bundleWorker } from '../../scripts/build-browser.js';
import { chromiumPath, launch } from '../../test/browser/harness/chromium.js';
import { serveStatic } from '../../test/browser/harness/server.js';
import type { BenchConfig, Figure } from './bench.js';
import type { EngineName } from './engines.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    gets: { type: 'string', default: '20000' },
    puts: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '42' },
    engines: { type: 'string', default: 'sett,sett-sync,sett-proxy,browser-level,indexeddb,indexeddb-strict' },
    'no-write': { type: 'boolean', default: false },
  },
});
const config: BenchConfig = { n: Number(a.n), batch: Number(a.batch), gets: Number(a.gets), puts: Number(a.puts), seed: Number(a.seed) };
const engines = a.engines.split(',') as EngineName[];
/** Durability-variant engines only run the write workloads (their reads are the base engine's). */
const writesOnly = new Set<EngineName>(['sett-sync', 'indexeddb-strict']);

const LABELS: Record<EngineName, string> = {
  sett: 'sett / OPFS (worker)',
  'sett-sync': 'sett / OPFS, sync: true',
  'sett-proxy': 'sett via page proxy',
  'browser-level': 'browser-level (IndexedDB)',
  indexeddb: 'IndexedDB (raw)',
  'indexeddb-strict': "IndexedDB, durability 'strict'",
};
const WORKLOADS = ['fillbatch', 'readrandom', 'scan', 'putsingle'] as const;

const out = mkdtempSync(join(tmpdir(), 'sett-bench-browser-'));
const profile = mkdtempSync(join(tmpdir(), 'sett-bench-profile-'));
await build({
  entryPoints: [join(here, 'bench.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  conditions: ['browser'],
  outfile: join(out, 'bench.js'),
  minify: true,
  logLevel: 'error',
});
await bundleWorker(join(out, 'sett-worker.js'), true);
writeFileSync(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>sett browser bench</title><script type="module" src="./bench.js"></script><body>sett browser benchmark</body>\n');
const server = await serveStatic(out);
const ctx = await launch(profile);
const results: Partial<Record<EngineName, Record<string, Figure>>> = {};
let userAgent = '';
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => (globalThis as unknown as { settBench?: unknown }).settBench !== undefined);
  userAgent = await page.evaluate(() => (globalThis as unknown as { settBench: { userAgent: string } }).settBench.userAgent);
  console.log(`browser bench: n=${config.n} (batches of ${config.batch}), ${config.gets} random gets, ${config.puts} single puts; 16-byte keys, 100-byte values`);
  // Warm-up, untimed: the JIT compiles the engines' paths in the page and the workers, and each
  // storage backend has been opened once, so the first engine measured is not penalized.
  const warm: BenchConfig = { n: Math.min(5000, config.n), batch: config.batch, gets: Math.min(2000, config.gets), puts: Math.min(500, config.puts), seed: config.seed + 1 };
  for (const e of engines) {
    await page.evaluate(
      ([engine, cfg]) => (globalThis as unknown as { settBench: { run(e: string, c: unknown): Promise<unknown> } }).settBench.run(engine as string, cfg),
      [e, warm] as const,
    );
  }
  for (const e of engines) {
    const c: BenchConfig = writesOnly.has(e) ? { ...config, only: ['putsingle'] } : config;
    const t0 = Date.now();
    const r = await page.evaluate(
      ([engine, cfg]) => (globalThis as unknown as { settBench: { run(e: string, c: unknown): Promise<Record<string, Figure>> } }).settBench.run(engine as string, cfg),
      [e, c] as const,
    );
    results[e] = r;
    const line = WORKLOADS.filter((w) => r[w] !== undefined)
      .map((w) => `${w} ${fmtRate(r[w]!)}`)
      .join(', ');
    console.log(`  ${LABELS[e].padEnd(32)} ${line}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await ctx.close();
  await server.close();
  rmSync(out, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}

function rate(f: Figure): number {
  return f.ops / (f.ms / 1000);
}

function fmtRate(f: Figure): string {
  const r = rate(f);
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k/s` : `${r.toFixed(0)}/s`;
}

const table: string[] = [];
table.push(`| engine | ${WORKLOADS.join(' | ')} |`);
table.push(`| --- | ${WORKLOADS.map(() => '---:').join(' | ')} |`);
for (const e of engines) {
  const r = results[e];
  if (r === undefined) continue;
  table.push(`| ${LABELS[e]} | ${WORKLOADS.map((w) => (r[w] === undefined ? '–' : `${fmtRate(r[w]!)} (${Math.round(r[w]!.ms)} ms)`)).join(' | ')} |`);
}
const ratios: string[] = [];
const base = results.sett;
for (const other of ['indexeddb', 'browser-level'] as const) {
  const o = results[other];
  if (base === undefined || o === undefined) continue;
  ratios.push(`sett ÷ ${LABELS[other]}: ${WORKLOADS.filter((w) => base[w] !== undefined && o[w] !== undefined)
    .map((w) => `${w} ${(rate(base[w]!) / rate(o[w]!)).toFixed(1)}×`)
    .join(', ')}`);
}
const compaction: string[] = [];
for (const e of engines) {
  const f = results[e]?.compaction;
  if (f === undefined) continue;
  const ms = (x: number | undefined): string => `${(x ?? 0).toFixed(2)} ms`;
  compaction.push(`| ${LABELS[e]} | ${Math.round(f.ms)} ms | ${f.ops.toLocaleString('en')} | ${ms(f.p50)} / ${ms(f.p99)} / ${ms(f.max)} |`);
}
const compactionTable =
  compaction.length === 0
    ? ''
    : `Reads during a full compaction: every key overwritten once, then \`flatten()\` (the merge runs in the engine's worker in time slices) while awaited random gets go on.\n\n| engine | flatten | gets served meanwhile | get latency p50 / p99 / max |\n| --- | ---: | ---: | ---: |\n${compaction.join('\n')}\n\n`;
console.log(`\n${table.join('\n')}\n\n${ratios.join('\n')}\n\n${compactionTable}`);
if (!a['no-write']) {
  const when = new Date().toISOString();
  const browser = execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8' }).trim();
  writeFileSync(join(here, 'results.json'), `${JSON.stringify({ when, browser, userAgent, cpus: cpus().length, config, results }, null, 2)}\n`);
  writeFileSync(
    join(here, 'RESULTS.md'),
    `# Browser benchmark results\n\nRun ${when.slice(0, 10)} with \`npm run bench:browser\` on a ${cpus().length}-core machine (load average ${loadavg()[0]!.toFixed(1)} at the end), headless ${browser}.\n` +
      `${config.n.toLocaleString('en')} keys written in batches of ${config.batch}, ${config.gets.toLocaleString('en')} random gets, a full scan, ${config.puts.toLocaleString('en')} single puts; ` +
      `16-byte keys, 100-byte values, the same for every engine. Every call is awaited before the next (no pipelining).\n\n` +
      `${table.join('\n')}\n\n${ratios.map((r) => `- ${r}`).join('\n')}\n\n` +
      compactionTable +
      'Durability when a write is acknowledged: sett (default) has the write in its WAL, handed to OPFS by the end of the task that wrote it but not flushed (a crash of the tab or browser after that keeps it; a power failure may lose the newest writes); ' +
      "sett with `sync: true` has flushed the WAL (the browser's fsync). IndexedDB (raw and browser-level) uses Chromium's default durability ('relaxed': committed, no fsync); " +
      "'strict' waits for the fsync. See bench/browser/engines.ts.\n",
  );
  console.log('\nwrote bench/browser/results.json and bench/browser/RESULTS.md');
}
