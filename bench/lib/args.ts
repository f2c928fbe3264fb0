/** Command line of `npm run bench` (see bench/README.md). */
import { parseArgs } from 'node:util';
import { ENGINE_IDS, type EngineId } from '../engines/types.js';
import { WORKLOADS } from '../workloads.js';
import type { ScaleFill } from './types.js';

export type Mode = 'quick' | 'full' | 'scale';

export interface BenchArgs {
  mode: Mode;
  keys: number;
  engines: EngineId[];
  workloads: string[];
  runs: number;
  memtableBytes: number;
  cacheBytes: number;
  /** --scale: key counts at which to measure. */
  checkpoints: number[];
  /** --scale: how the fill writes (--fill): 1000-put batches (default) or single awaited puts. */
  scaleFill: ScaleFill;
  outDir: string;
  /** Base name of the result files; quick/full/scale unless engines or workloads were narrowed. */
  name: string;
  readme: boolean;
  /** The command as typed, for the record. */
  command: string;
}

export const USAGE = `npm run bench -- [options]

  (no option)          quick run: 200,000 keys, every engine and workload, median of 3 runs
  --full               1,000,000 keys
  --scale              sett and LevelDB, one database grown to 10,000,000 keys, measured at 1 M, 5 M, 9 M, 10 M
  --fill batch|single  --scale: write in batches of 1,000 puts (default) or one awaited put at a
                       time (db_bench's fillrandom); results go to scale.* or scale-single.*
  --keys N             number of keys (e.g. 20000 or 20k, 1M)
  --engines LIST       comma-separated: ${ENGINE_IDS.join(', ')}
  --workloads LIST     comma-separated names or groups (fillseq, fillrandom, fillsync, fillbig, read, txn):
                       ${WORKLOADS.join(', ')}
  --runs N             runs per engine (median reported; default 3)
  --memtable BYTES     memtable / write buffer for sett and LevelDB (default 4M)
  --cache BYTES        block / page cache for sett, LevelDB and SQLite (default 64M)
  --out DIR            where results go (default bench/results)
  --name NAME          base name of the result files
  --no-readme          do not rewrite results/README-table.md
  -h, --help`;

const ENGINE_ALIASES: Record<string, EngineId> = {
  sett: 'sett',
  leveldb: 'leveldb',
  level: 'leveldb',
  'classic-level': 'leveldb',
  lmdb: 'lmdb',
  sqlite: 'sqlite',
  'better-sqlite3': 'sqlite',
  memory: 'memory',
  'memory-level': 'memory',
};

const GROUPS: Record<string, string[]> = {
  fillseq: ['fillseq-single', 'fillseq-batch'],
  fillrandom: ['fillrandom-single', 'fillrandom-batch'],
  fillsync: ['fillsync-1', 'fillsync-64'],
  fillbig: ['fillbig-4k', 'fillbig-64k'],
  read: ['readrandom', 'readmissing', 'readseq', 'readreverse', 'seekrandom'],
  txn: ['txn-uncontended', 'txn-hot', 'txn-sync'],
  all: [...WORKLOADS],
};

/** "20000", "20k", "1M", "64MiB", "4M" → a number. */
export function parseSize(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(i?[bB])?$/.exec(s.trim().replace(/_/g, ''));
  if (m === null) throw new Error(`${what}: not a number: ${s}`);
  const unit = m[2]!.toLowerCase();
  const binary = m[3] !== undefined || what !== 'keys';
  const k = binary ? 1024 : 1000;
  const mult = unit === 'k' ? k : unit === 'm' ? k * k : unit === 'g' ? k * k * k : 1;
  return Math.round(Number(m[1]) * mult);
}

function list(s: string | undefined): string[] | undefined {
  return s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

export function parseBenchArgs(argv: string[]): BenchArgs | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean' },
      scale: { type: 'boolean' },
      fill: { type: 'string' },
      keys: { type: 'string' },
      engines: { type: 'string' },
      workloads: { type: 'string' },
      runs: { type: 'string' },
      memtable: { type: 'string' },
      cache: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      'no-readme': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  if (values.full === true && values.scale === true) throw new Error('give --full or --scale, not both');
  const mode: Mode = values.scale === true ? 'scale' : values.full === true ? 'full' : 'quick';
  const defaultKeys = mode === 'scale' ? 10_000_000 : mode === 'full' ? 1_000_000 : 200_000;
  const keys = values.keys === undefined ? defaultKeys : parseSize(values.keys, 'keys');
  if (keys < 1000) throw new Error('--keys must be at least 1000');

  const engineNames = list(values.engines) ?? (mode === 'scale' ? ['sett', 'leveldb'] : [...ENGINE_IDS]);
  const engines: EngineId[] = [];
  for (const name of engineNames) {
    const id = ENGINE_ALIASES[name.toLowerCase()];
    if (id === undefined) throw new Error(`unknown engine ${name}; known: ${ENGINE_IDS.join(', ')}`);
    if (!engines.includes(id)) engines.push(id);
  }
  engines.sort((a, b) => ENGINE_IDS.indexOf(a) - ENGINE_IDS.indexOf(b));

  const wanted = new Set<string>();
  for (const name of list(values.workloads) ?? ['all']) {
    const group = GROUPS[name];
    if (group !== undefined) for (const w of group) wanted.add(w);
    else if ((WORKLOADS as readonly string[]).includes(name)) wanted.add(name);
    else throw new Error(`unknown workload ${name}; known: ${WORKLOADS.join(', ')} (groups: ${Object.keys(GROUPS).join(', ')})`);
  }
  const workloads = WORKLOADS.filter((w) => wanted.has(w));

  // Scale too: its last million is one short window, and a single run swings with whether a
  // large merge lands inside it (0.33-0.84x of the first million over ten runs on 2026-11-26).
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  // 1/10, 1/2, 9/10 and all of the keys: the last segment is the last tenth, so its fill rate
  // compares directly with the first tenth's (issue #5: the last million against the first).
  const checkpoints = mode === 'scale' ? [...new Set([Math.round(keys / 10), Math.round(keys / 2), Math.round((keys * 9) / 10), keys])] : [];
  const scaleFill = (values.fill ?? 'batch') as ScaleFill;
  if (scaleFill !== 'batch' && scaleFill !== 'single') throw new Error(`--fill must be batch or single, not ${values.fill}`);
  if (values.fill !== undefined && mode !== 'scale') throw new Error('--fill goes with --scale');
  const narrowed = values.engines !== undefined || values.workloads !== undefined || values.keys !== undefined;
  return {
    mode,
    keys,
    engines,
    workloads,
    runs,
    memtableBytes: values.memtable === undefined ? 4 * 1024 * 1024 : parseSize(values.memtable, 'memtable'),
    cacheBytes: values.cache === undefined ? 64 * 1024 * 1024 : parseSize(values.cache, 'cache'),
    checkpoints,
    scaleFill,
    outDir: values.out ?? 'bench/results',
    name: values.name ?? `${mode}${scaleFill === 'single' ? '-single' : ''}${narrowed ? '-custom' : ''}`,
    readme: values['no-readme'] !== true,
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
