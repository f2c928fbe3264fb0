/**
 * `npm run test:soak -- --seeds N --minutes M`: the metamorphic test (test/helpers/metamorphic.ts)
 * for many seeds, outside CI. Each seed runs `--runs` generated sequences (default 20) under one
 * option set, the sets taking turns; it stops after N seeds or M minutes, whichever comes
 * first (either may be omitted; with neither it runs 10 minutes). Progress goes to stdout, one
 * line per seed. A failure prints the seed, the replay command and the shrunk op log, and
 * exits with status 1.
 *
 * Options:
 *   --seeds N        seeds to run (default: until the time is up)
 *   --minutes M      time budget (default 10 when --seeds is not given)
 *   --runs R         sequences per seed (default 20)
 *   --config NAME    only this option set (TINY, TINY+compression-none, TINY+sync, TINY+cache-0, TINY+subcompactions, SMALL)
 *   --seed S         the first seed (default: from the clock); seeds then count up from it
 *   --path P         fast-check replay path of a failure (with --seed and --config)
 *   --shrink-seconds S   how long a failure is shrunk (default 300)
 */
import { parseArgs } from 'node:util';
import { initChecksum } from '../src/codec/checksum.js';
import { setScratchPoison } from '../src/sstable/scratch.js';
import { CONFIGS, checkConfig, configNamed, type MetaConfig, MetamorphicFailure, newTally } from '../test/helpers/metamorphic.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    minutes: { type: 'string' },
    runs: { type: 'string' },
    config: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'shrink-seconds': { type: 'string' },
  },
});

function num(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${v}`);
    process.exit(2);
  }
  return n;
}

const seeds = num('seeds', values.seeds, Infinity);
const minutes = num('minutes', values.minutes, values.seeds === undefined ? 10 : Infinity);
const runs = Math.round(num('runs', values.runs, 20));
const configs: readonly MetaConfig[] = values.config === undefined ? CONFIGS : [configNamed(values.config)];
const firstSeed = values.seed === undefined ? Date.now() % 0x7fff_ffff : Number(values.seed);
const shrinkMs = num('shrink-seconds', values['shrink-seconds'], 300) * 1000;
const deadline = minutes === Infinity ? Infinity : Date.now() + minutes * 60_000;

function clock(t0: number): string {
  const s = Math.floor((Date.now() - t0) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

await initChecksum();
// As in the test setup: memory given back to the scratch pool is overwritten, so a use after
// give-back shows as a failure (src/sstable/scratch.ts).
setScratchPoison(true);
const t0 = Date.now();
const total = newTally();
console.log(
  `soak: metamorphic test, ${runs} sequences per seed, option sets ${configs.map((c) => c.name).join(', ')}; ` +
    `${seeds === Infinity ? 'no seed limit' : `${seeds} seeds`}, ${minutes === Infinity ? 'no time limit' : `${minutes} min`}; first seed ${firstSeed}`,
);
let done = 0;
for (let i = 0; i < seeds && Date.now() < deadline; i++) {
  const seed = (firstSeed + i) % 0x8000_0000;
  const config = configs[i % configs.length]!;
  const started = Date.now();
  try {
    const { tally } = await checkConfig(config, { seed, numRuns: runs, shrinkMs, ...(values.path === undefined ? {} : { path: values.path }) });
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += tally[k];
    done++;
    console.log(
      `[${clock(t0)}] seed ${seed} ${config.name}: ok, ${tally.runs} sequences, ${tally.ops} ops, ${tally.crashes} crashes, ${tally.faults} faults, ` +
        `${tally.flushes} flushes, ${tally.compactions} compactions (${tally.expiryCompactions} for expired entries), ${tally.txns} transactions (${tally.txnCommits} committed writes, ${tally.conflicts} conflicts) (${Date.now() - started} ms)`,
    );
  } catch (e) {
    console.error(`\n[${clock(t0)}] seed ${seed} ${config.name}: FAILED`);
    console.error(e instanceof MetamorphicFailure ? e.message : e);
    console.error(`\nrun the seed again: npm run test:soak -- --config ${config.name} --seed ${seed} --runs ${runs} --seeds 1`);
    process.exit(1);
  }
}
console.log(
  `\nsoak: ${done} seeds, ${total.runs} sequences, ${total.ops} operations checked, ${total.crashes} crash points and ${total.reopens} reopens recovered, ` +
    `${total.faults} faults injected, ${total.compactions} compactions (${total.expiryCompactions} for expired entries), ${total.txns} transactions (${total.conflicts} conflicts), ` +
    `${total.ttlPuts} puts with a TTL, ${total.advances} advances of the clock, 0 failures (${clock(t0)})`,
);
