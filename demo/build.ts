/**
 * Builds the demo page into `outDir`: index.html, style.css, main.js (the page) and
 * sett-worker.js (the engine host), all static files to serve from one directory.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleWorker } from '../scripts/build-browser.js';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildDemo(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['browser'],
    outfile: join(outDir, 'main.js'),
    sourcemap: 'linked',
    logLevel: 'error',
  });
  await bundleWorker(join(outDir, 'sett-worker.js'));
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(outDir, f));
}
