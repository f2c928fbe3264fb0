/**
 * The browser suite, run by `npm test` (scripts/test.mjs) when Chromium is found:
 *
 *  1. Node-side checks: the `browser` export condition bundles for the browser platform with no
 *     Node built-in and no Buffer use; so does the bundled worker host.
 *  2. Builds the test bundle (every test/browser/*.browser.ts), the worker host and the demo
 *     with esbuild into a temporary directory, serves it on 127.0.0.1 and opens it in Debian's
 *     Chromium with a fresh persistent profile (real OPFS on disk).
 *  3. Runs every registered browser test (in the page or in a dedicated worker).
 *  4. Runs the scenarios that need the browser itself driven from here (scenarios.ts):
 *     persistence across a browser restart, SIGKILL during synced writes, two tabs, the OPFS
 *     quota, formats across Node and Chromium, a screenshot of the demo.
 *
 * Writes `.browser-results.json` ({ passed, failed }) for the test runner and prints one line
 * per test. Environment: SETT_BROWSER_FILTER=<substring> runs matching tests only;
 * SETT_SEED=<n> fixes the model test's seed; SETT_BROWSER_KEEP=1 keeps the build and profile.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { browserEntrySource, bundleWorker, checkBrowserGraph, ROOT } from '../../scripts/build-browser.js';
import { buildDemo } from '../../demo/build.js';
import { launch } from './harness/chromium.js';
import { serveStatic } from './harness/server.js';
import type { RunResult, SettTests } from './lib/t.js';
import { scenarios, type ScenarioEnv } from './scenarios.js';

interface Outcome {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

const started = Date.now();
const filter = process.env.SETT_BROWSER_FILTER;
const seed = Number(process.env.SETT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const keep = process.env.SETT_BROWSER_KEEP === '1';
const outcomes: Outcome[] = [];
const wanted = (name: string): boolean => filter === undefined || name.includes(filter);

function record(o: Outcome): void {
  outcomes.push(o);
  const mark = o.ok ? '✓' : '✗';
  console.log(`  ${mark} ${o.name} (${Math.round(o.ms)} ms)`);
  if (!o.ok) console.log(`      ${(o.error ?? '').split('\n').join('\n      ')}`);
}

async function timed(name: string, fn: () => Promise<void>, timeoutMs = 90_000, always = false): Promise<void> {
  if (!always && !wanted(name)) return;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    record({ name, ok: true, ms: performance.now() - t0 });
  } catch (e) {
    record({ name, ok: false, ms: performance.now() - t0, error: e instanceof Error ? `${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e) });
  } finally {
    clearTimeout(timer);
  }
}

async function buildAll(outDir: string): Promise<void> {
  const dir = join(ROOT, 'test/browser');
  const files = readdirSync(dir).filter((f) => f.endsWith('.browser.ts')).sort();
  const entry = `${files.map((f) => `import './${f}';`).join('\n')}\nimport { startRuntime } from './lib/t.ts';\nstartRuntime();\n`;
  await build({
    stdin: { contents: entry, resolveDir: dir, sourcefile: 'tests-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['browser'],
    outfile: join(outDir, 'tests.js'),
    sourcemap: 'inline',
    // package.json says sideEffects: false, which would drop the test files' bare imports.
    ignoreAnnotations: true,
    logLevel: 'error',
  });
  await bundleWorker(join(outDir, 'sett-worker.js'));
  writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>sett browser tests</title><script type="module" src="./tests.js"></script><body>sett browser tests</body>\n');
  await buildDemo(join(outDir, 'demo'));
}

async function openTestPage(ctx: BrowserContext, url: string, tab?: Page, hash?: string): Promise<Page> {
  const page = tab ?? ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.log(`      [page error] ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('favicon')) console.log(`      [console] ${m.text()}`);
  });
  await page.goto(`${url}/index.html?seed=${seed}${hash === undefined ? '' : `#${hash}`}`);
  await page.waitForFunction(() => (globalThis as unknown as { settTests?: unknown }).settTests !== undefined);
  return page;
}

async function main(): Promise<void> {
  console.log(`\nbrowser tests (Chromium, OPFS; model seed ${seed}: rerun with SETT_SEED=${seed})`);
  await timed('package: the browser export bundles for browsers with no Node built-ins or Buffer', async () => {
    const entry = browserEntrySource();
    const r = await checkBrowserGraph(entry);
    if (!r.ok) throw new Error(r.problems.join('\n'));
    if (r.modules < 10) throw new Error(`suspiciously small graph: ${r.modules} modules`);
  });
  await timed('package: the bundled worker host has no Node built-ins or Buffer', async () => {
    const r = await checkBrowserGraph(join(ROOT, 'src/host/worker-entry.ts'));
    if (!r.ok) throw new Error(r.problems.join('\n'));
  });
  await timed('package: the graph check catches a Node-only module', async () => {
    const r = await checkBrowserGraph(join(ROOT, 'src/index.ts'));
    if (r.ok || !r.problems.some((p) => p.includes('node:fs'))) throw new Error(`the Node entry passed the check: ${JSON.stringify(r)}`);
  });

  const outDir = mkdtempSync(join(tmpdir(), 'sett-browser-build-'));
  const profilesDir = mkdtempSync(join(tmpdir(), 'sett-browser-profiles-'));
  let buildOk = true;
  await timed('build: test bundle, worker host and demo', async () => {
    try {
      await buildAll(outDir);
    } catch (e) {
      buildOk = false;
      throw e;
    }
  }, 60_000, true);
  if (!buildOk) return finish(outDir, profilesDir);
  const server = await serveStatic(outDir);
  let profileCount = 0;
  const env: ScenarioEnv = {
    url: server.url,
    seed,
    newProfile: () => {
      const p = resolve(profilesDir, `p${++profileCount}`);
      mkdirSync(p);
      return p;
    },
    launch,
    openTestPage,
  };
  try {
    const ctx = await launch(env.newProfile());
    try {
      const page = await openTestPage(ctx, server.url);
      const list = await page.evaluate(() => (globalThis as unknown as { settTests: SettTests }).settTests.list());
      for (const t of list) {
        await timed(`${t.where}: ${t.name}`, async () => {
          const r: RunResult = await page.evaluate((name) => (globalThis as unknown as { settTests: SettTests }).settTests.run(name), t.name);
          if (!r.ok) throw new Error(r.error);
        });
      }
    } finally {
      await ctx.close().catch(() => undefined);
    }
    for (const s of scenarios) await timed(`scenario: ${s.name}`, () => s.run(env), s.timeoutMs ?? 90_000);
  } finally {
    await server.close();
  }
  finish(outDir, profilesDir);
}

function finish(outDir: string, profilesDir: string): void {
  if (!keep) {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  } else {
    console.log(`  kept: build ${outDir}, profiles ${profilesDir}`);
  }
  const passed = outcomes.filter((o) => o.ok).length;
  const failed = outcomes.length - passed;
  writeFileSync(join(ROOT, '.browser-results.json'), `${JSON.stringify({ passed, failed, seconds: (Date.now() - started) / 1000 })}\n`);
  console.log(`browser: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s${failed > 0 ? ` (seed ${seed})` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
}

await main().catch((e: unknown) => {
  console.error(e);
  outcomes.push({ name: 'browser suite', ok: false, ms: 0, error: String(e) });
  finish(mkdtempSync(join(tmpdir(), 'x-')), mkdtempSync(join(tmpdir(), 'y-')));
});
