/**
 * `npm run bench`: runs every selected engine in its own child process (bench/worker.ts), one
 * at a time, on a fresh temporary directory, for each of `--runs` runs (engine order rotates
 * between runs), then writes results/<name>.json (raw and median figures), <name>.md (tables),
 * <name>.svg (chart) and README-table.md, and prints the tables. See bench/README.md.
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineId } from './engines/types.js';
import { settVersion } from './engines/version.js';
import { type BenchArgs, parseBenchArgs, USAGE } from './lib/args.js';
import { type BenchMeta, type BenchResults, summarize } from './lib/summary.js';
import type { WorkerReply, WorkerRequest, WorkloadResult } from './lib/types.js';
import { writeReadmeTable } from './readme-table.js';
import { fmtOps, markdownReport } from './report.js';
import { resultsChart, scaleChart } from './svg.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH = join(ROOT, 'bench');

const PEER_PACKAGES: Partial<Record<EngineId, string>> = {
  leveldb: 'classic-level',
  lmdb: 'lmdb',
  sqlite: 'better-sqlite3',
  memory: 'memory-level',
};

/** Installs bench/package.json's peers on first use (`npm ci --prefix bench`) and checks them. */
function ensurePeers(engines: readonly EngineId[]): void {
  const needed = engines.map((e) => PEER_PACKAGES[e]).filter((p): p is string => p !== undefined);
  if (needed.length === 0) return;
  const missing = (): string[] => needed.filter((p) => !existsSync(join(BENCH, 'node_modules', p, 'package.json')));
  if (missing().length > 0) {
    console.log(`Installing the peer engines for the benchmark (npm ci --prefix bench; better-sqlite3 compiles, which takes a few minutes once)…`);
    const r = spawnSync('npm', ['ci', '--prefix', BENCH, '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) throw new Error('npm ci --prefix bench failed; see the output above');
  }
  const still = missing();
  if (still.length > 0) throw new Error(`peer packages missing after install: ${still.join(', ')}`);
  if (needed.includes('better-sqlite3') && !existsSync(join(BENCH, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))) {
    throw new Error(
      'better-sqlite3 has no compiled binding: its install script did not run. bench/package.json allows it (allowScripts); ' +
        'rerun `npm rebuild better-sqlite3 --prefix bench` (needs python3, make and g++).',
    );
  }
}

const FS_TYPES: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };

function machine(tmp: string): BenchMeta['machine'] {
  let fs: string | undefined;
  try {
    const t = statfsSync(tmp).type;
    fs = `${FS_TYPES[t] ?? `fs 0x${t.toString(16)}`} temp dir`;
  } catch {
    fs = undefined;
  }
  const m: BenchMeta['machine'] = {
    cpu: (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
  };
  if (fs !== undefined) m.fs = fs;
  return m;
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim().length > 0;
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

function progressLine(run: number, runs: number, engine: EngineId, r: WorkloadResult): string {
  const lat = r.latency === undefined ? '' : `  p50 ${r.latency.p50} µs  p99 ${r.latency.p99} µs${r.latency.unit === 'batch' ? ' per batch' : ''}`;
  return `  [${run}/${runs}] ${engine.padEnd(8)} ${r.workload.padEnd(24)} ${fmtOps(r.opsPerSec).padStart(8)} ops/s ${r.mbPerSec.toFixed(1).padStart(7)} MB/s${lat}`;
}

/** Runs one engine for one run in a child process; resolves with its reply. */
function runWorker(req: WorkerRequest, runs: number): Promise<WorkerReply> {
  return new Promise((resolvePromise, reject) => {
    const child = fork(join(BENCH, 'worker.ts'), [JSON.stringify(req)], {
      cwd: ROOT,
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let reply: WorkerReply | undefined;
    child.on('message', (msg: { type: string; result?: WorkloadResult; reply?: WorkerReply }) => {
      if (msg.type === 'progress' && msg.result !== undefined) console.log(progressLine(req.run, runs, req.engine, msg.result));
      if (msg.type === 'done') reply = msg.reply;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (reply !== undefined) resolvePromise(reply);
      else reject(new Error(`${req.engine} run ${req.run} exited with ${signal ?? `code ${code}`}`));
    });
  });
}

async function main(args: BenchArgs): Promise<void> {
  const started = performance.now();
  const commit = gitCommit(); // before the runs: the code measured, even if HEAD moves meanwhile
  ensurePeers(args.engines);
  const tmpRoot = mkdtempSync(join(os.tmpdir(), 'sett-bench-'));
  const cleanup = (): void => rmSync(tmpRoot, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const what = args.mode === 'scale' ? `${args.scaleFill === 'single' ? 'single puts' : 'batches of 1,000'}, checkpoints ${args.checkpoints.join(', ')}` : `${args.workloads.length} workloads`;
  console.log(`sett bench (${args.mode}): ${args.keys.toLocaleString('en-US')} keys, ${args.engines.join(', ')}; ${what}; ${args.runs} run(s). Load average ${load.join(' ')}.`);

  const replies: WorkerReply[] = [];
  const failures = new Map<EngineId, string[]>();
  try {
    for (let run = 1; run <= args.runs; run++) {
      const order = args.engines.map((_, i) => args.engines[(i + run - 1) % args.engines.length]!);
      for (const engine of order) {
        const req: WorkerRequest = {
          engine,
          run,
          keys: args.keys,
          workloads: args.workloads,
          memtableBytes: args.memtableBytes,
          cacheBytes: args.cacheBytes,
          tmpRoot,
        };
        if (args.mode === 'scale') {
          req.checkpoints = args.checkpoints;
          req.scaleFill = args.scaleFill;
        }
        try {
          const reply = await runWorker(req, args.runs);
          replies.push(reply);
          console.log(`  [${run}/${args.runs}] ${engine.padEnd(8)} done in ${reply.seconds} s, peak RSS ${Math.round(reply.maxRss / 1024 / 1024)} MiB`);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          console.error(`  [${run}/${args.runs}] ${engine} FAILED: ${msg}`);
          failures.set(engine, [...(failures.get(engine) ?? []), msg]);
        }
      }
    }
  } finally {
    cleanup();
  }

  const workloads =
    args.mode === 'scale'
      ? [...new Set(replies.flatMap((r) => r.results.map((x) => x.workload)))]
      : args.workloads.filter((w) => replies.some((r) => r.results.some((x) => x.workload === w)));
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      command: args.command,
      mode: args.mode,
      keys: args.keys,
      runs: args.runs,
      memtableBytes: args.memtableBytes,
      cacheBytes: args.cacheBytes,
      machine: machine(os.tmpdir()),
      node: process.version,
      sett: { version: settVersion(), commit },
      loadAverageAtStart: load,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    },
    engines: summarize(replies, failures, args.engines),
    workloads,
    raw: replies,
  };
  const outDir = resolve(ROOT, args.outDir);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, args.name);
  const md = markdownReport(results);
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 1) + '\n');
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.svg`, args.mode === 'scale' ? scaleChart(results) : resultsChart(results));
  const readme = args.readme ? writeReadmeTable(outDir, relative(ROOT, outDir) || '.') : undefined;
  console.log('');
  console.log(md);
  console.log(`Wrote ${base}.json, ${base}.md, ${base}.svg${readme === undefined ? '' : `, ${readme}`} (${results.meta.seconds} s).`);
  if (failures.size > 0) process.exitCode = 1;
}

let parsed: BenchArgs | undefined;
try {
  parsed = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed === undefined) console.log(USAGE);
else {
  main(parsed).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
