/**
 * `npm run build:browser`: bundles the engine host into dist/sett-worker.js (one file, no
 * imports, ESM; serve it next to your page and start it with `{ type: 'module' }`, or let
 * `openInWorker()` find it next to sett's browser entry).
 *
 * Also the browser-graph check used by the browser test suite: it bundles what the `browser`
 * export condition resolves to, for the browser platform, and lists every reason the graph is
 * not browser-clean: a `node:` (or bare Node built-in) import, src/fs/node.ts pulled in, or a
 * module that uses `Buffer`.
 *
 *   npm run build:browser [-- --outdir DIR] [--minify]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Modules allowed to mention `Buffer`, with the reason. snappyjs checks `isNode()` (typeof
 * process.versions.node) before every use of Buffer; in a browser those branches never run.
 */
export const BUFFER_ALLOWED: Readonly<Record<string, string>> = {
  'node_modules/snappyjs/index.js': 'every Buffer use sits behind an isNode() check',
};

const common: BuildOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  conditions: ['browser'],
  logLevel: 'silent',
  legalComments: 'none',
};

/** Bundles the worker host to `outfile`. */
export async function bundleWorker(outfile: string, minify = false): Promise<void> {
  await build({ ...common, entryPoints: [join(ROOT, 'src/host/worker-entry.ts')], outfile, minify, sourcemap: 'linked' });
}

/** The source file behind the package's `browser` export (dist/X.js is built from src/X.ts). */
export function browserEntrySource(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  const target = pkg.exports['.']?.browser;
  if (target === undefined) throw new Error('package.json exports["."] has no "browser" condition');
  const m = /^\.\/dist\/(.+)\.js$/.exec(target);
  if (m === null) throw new Error(`browser export ${target} is not a dist/*.js file`);
  return join(ROOT, 'src', `${m[1]!}.ts`);
}

const BUFFER_USE = /(?<![A-Za-z0-9_$.])Buffer(?![A-Za-z0-9_$])/;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

export interface GraphReport {
  ok: boolean;
  problems: string[];
  modules: number;
  bytes: number;
  nodeModules: string[];
}

/** Bundles `entry` for the browser platform and reports anything Node-only in its graph. */
export async function checkBrowserGraph(entry: string): Promise<GraphReport> {
  const problems: string[] = [];
  let meta: Metafile | undefined;
  let text = '';
  try {
    const r = await build({ ...common, entryPoints: [entry], write: false, metafile: true, outfile: 'check.js' });
    meta = r.metafile;
    text = r.outputFiles[0]?.text ?? '';
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string } | null }[] }).errors ?? [];
    for (const err of errors) problems.push(`${err.location?.file ?? '?'}: ${err.text}`);
    if (errors.length === 0) problems.push(String(e));
    return { ok: false, problems, modules: 0, bytes: 0, nodeModules: [] };
  }
  const inputs = Object.keys(meta.inputs);
  for (const input of inputs) {
    if (input.startsWith('node:') || input.includes('(disabled)')) problems.push(`Node built-in in the graph: ${input}`);
    if (input.replace(/\\/g, '/').endsWith('src/fs/node.ts')) problems.push('src/fs/node.ts (node:fs) is in the browser graph');
    const path = join(ROOT, input);
    if (!existsSync(path)) continue;
    const rel = relative(ROOT, path).replace(/\\/g, '/');
    if (BUFFER_ALLOWED[rel] !== undefined) continue;
    const src = stripComments(readFileSync(path, 'utf8'));
    if (BUFFER_USE.test(src)) problems.push(`${rel} uses Buffer (not in browsers)`);
  }
  if (/\bfrom\s*["']node:|require\(["']node:|import\(["']node:/.test(text)) problems.push('the bundle imports a node: module');
  return {
    ok: problems.length === 0,
    problems,
    modules: inputs.length,
    bytes: text.length,
    nodeModules: [...new Set(inputs.filter((i) => i.includes('node_modules/')).map((i) => i.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')))],
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--outdir');
  const outdir = i >= 0 && args[i + 1] !== undefined ? resolve(args[i + 1]!) : join(ROOT, 'dist');
  const report = await checkBrowserGraph(browserEntrySource());
  if (!report.ok) {
    console.error(`the browser graph is not browser-clean:\n  ${report.problems.join('\n  ')}`);
    process.exit(1);
  }
  const out = join(outdir, 'sett-worker.js');
  await bundleWorker(out, args.includes('--minify'));
  console.log(`${relative(process.cwd(), out)}: ${(readFileSync(out).length / 1024).toFixed(0)} KiB (browser graph: ${report.modules} modules, clean)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
