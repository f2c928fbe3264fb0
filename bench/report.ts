/**
 * Markdown from results: the throughput table with sett's ratio to each peer, then latency,
 * resources and the read-while-writing details; for --scale, the growth table.
 */
import type { EngineId } from './engines/types.js';
import type { BenchResults, EngineSummary } from './lib/summary.js';
import type { WorkloadResult } from './lib/types.js';
import { HOT_KEYS, OVERWRITES, TXN_WORKERS } from './workloads.js';

export const SHORT: Record<EngineId, string> = {
  sett: 'sett',
  leveldb: 'LevelDB',
  lmdb: 'LMDB',
  sqlite: 'SQLite',
  memory: 'memory-level',
};

export function fmtOps(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e5) return `${Math.round(n / 1e3)} k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

function fmtUs(us: number | undefined): string {
  if (us === undefined) return '—';
  if (us >= 10_000) return `${(us / 1000).toFixed(0)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  return `${us.toFixed(1)} µs`;
}

function fmtX(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(x >= 10 ? 0 : 2)}×`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], rows: string[][], align?: string[]): string {
  const sep = align ?? head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [row(head), row(sep), ...rows.map(row)].join('\n');
}

const WHAT: Record<string, string> = {
  'fillseq-single': 'sequential keys, one awaited put each',
  'fillseq-batch': 'sequential keys, batches of 1000',
  'fillrandom-single': 'random keys, one awaited put each',
  'fillrandom-batch': 'random keys, batches of 1000 (the load)',
  readrandom: 'random gets of present keys',
  readmissing: 'random gets of absent keys',
  readseq: 'full forward scan',
  readreverse: 'full reverse scan',
  seekrandom: 'seek, then read 10',
  overwrite: 'random puts over the loaded keys',
  readwhilewriting: 'random gets, one writer flat out',
  'fillsync-1': 'fsync per put, 1 writer',
  'fillsync-64': 'fsync per put, 64 writers',
  'fillbig-4k': '4 KiB values, one put each',
  'fillbig-64k': '64 KiB values, one put each',
  'txn-uncontended': `transfers between 2 of n/4 accounts, ${TXN_WORKERS} concurrent workers, sync off: committed txns/s`,
  'txn-hot': `the same on ${HOT_KEYS} hot accounts (conflicts retried): committed txns/s`,
  'txn-sync': 'txn-uncontended with every commit durable (fsync)',
  'overwrite3-flatten': `n/4 keys written ${1 + OVERWRITES} times (incompressible values, batches of 1000), then a full compaction: puts/s of the writes`,
};

function get(e: EngineSummary, w: string): WorkloadResult | undefined {
  return e.workloads[w];
}

/** One row of a ratio table: a figure of one workload's result. */
interface Figure {
  label: string;
  workload: string;
  of: (r: WorkloadResult) => number | undefined;
  fmt: (x: number | undefined) => string;
}

/**
 * A figure per engine, then sett ÷ each peer. "n/a": the engine ran but does not do this
 * workload (no transactions, no disk); "—": no figure.
 */
function ratioTable(res: BenchResults, first: string, figures: readonly Figure[]): string {
  const engines = res.engines;
  const sett = engines.find((e) => e.id === 'sett');
  const peers = engines.filter((e) => e.id !== 'sett');
  const head = [first, ...engines.map((e) => SHORT[e.id]), ...(sett === undefined ? [] : peers.map((p) => `sett ÷ ${SHORT[p.id]}`))];
  const value = (e: EngineSummary, f: Figure): number | undefined => {
    const r = get(e, f.workload);
    return r === undefined ? undefined : f.of(r);
  };
  const rows = figures.map((f) => {
    const cells = [f.label, ...engines.map((e) => (get(e, f.workload) === undefined && e.runs > 0 ? 'n/a' : f.fmt(value(e, f))))];
    if (sett !== undefined) {
      const s = value(sett, f);
      for (const p of peers) {
        const v = value(p, f);
        cells.push(s === undefined || v === undefined ? '—' : fmtX(s / v));
      }
    }
    return cells;
  });
  return table(head, rows);
}

/** ops/s per engine and sett ÷ peer; a ratio above 1 means sett is faster. */
export function throughputTable(res: BenchResults): string {
  return ratioTable(res, 'workload', res.workloads.map((w) => ({ label: w, workload: w, of: (r) => r.opsPerSec, fmt: fmtOps })));
}

const FLATTEN = 'overwrite3-flatten';

/** overwrite3-flatten: disk after the full compaction and write amplification of the writes. */
function spaceTable(res: BenchResults): string {
  const f = (label: string, of: Figure['of'], fmt: Figure['fmt'] = fmtX): Figure => ({ label, workload: FLATTEN, of, fmt });
  return ratioTable(res, FLATTEN, [
    f('space amp. after compaction: file sizes ÷ live bytes', (r) => r.extra?.fileSpaceAmp),
    f('files after compaction', (r) => r.extra?.fileBytes, fmtBytes),
    f('space amp. after compaction (allocated blocks)', (r) => r.spaceAmp),
    f('space amp. before compaction (allocated blocks)', (r) => r.extra?.spaceAmpBeforeCompaction),
    f('write amp. of the writes: flush + compaction bytes (own counters)', (r) => r.extra?.tableWriteAmp),
    f('write amp. of the writes: WAL + flush + compaction (sett counters)', (r) => r.writeAmp),
    f('write amp. of the writes: write(2) bytes', (r) => r.ioWriteAmp),
    f('compaction time', (r) => r.extra?.compactMs, (ms) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`)),
  ]);
}

function latencyTable(res: BenchResults): string {
  const head = ['workload (p50 / p99)', ...res.engines.map((e) => SHORT[e.id])];
  const rows: string[][] = [];
  for (const w of res.workloads) {
    const any = res.engines.map((e) => get(e, w)?.latency).find((l) => l !== undefined);
    if (any === undefined) continue;
    rows.push([
      `${w}${any.unit === 'batch' ? ' (per batch)' : ''}`,
      ...res.engines.map((e) => {
        const l = get(e, w)?.latency;
        return l === undefined ? '—' : `${fmtUs(l.p50)} / ${fmtUs(l.p99)}`;
      }),
    ]);
  }
  return table(head, rows);
}

function resourceTable(res: BenchResults): string {
  const head = ['', ...res.engines.map((e) => SHORT[e.id])];
  const cell = (f: (e: EngineSummary) => string): string[] => res.engines.map(f);
  const load = (e: EngineSummary): WorkloadResult | undefined => get(e, 'fillrandom-batch');
  const over = (e: EngineSummary): WorkloadResult | undefined => get(e, 'overwrite');
  const rows: string[][] = [
    ['peak RSS of the process', ...cell((e) => fmtBytes(e.maxRss))],
    ['peak RSS during the load', ...cell((e) => fmtBytes(load(e)?.rssPeak))],
    ['disk after the load', ...cell((e) => fmtBytes(load(e)?.diskBytes))],
    ['space amp. after the load', ...cell((e) => fmtX(load(e)?.spaceAmp))],
    ['disk after overwrite', ...cell((e) => fmtBytes(over(e)?.diskBytes))],
    ['space amp. after overwrite', ...cell((e) => fmtX(over(e)?.spaceAmp))],
    ['write amp. of the load (sett counters)', ...cell((e) => fmtX(load(e)?.writeAmp))],
    ['write amp. of the load (write(2) bytes)', ...cell((e) => fmtX(load(e)?.ioWriteAmp))],
    ['write amp. of overwrite (write(2) bytes)', ...cell((e) => fmtX(over(e)?.ioWriteAmp))],
  ];
  const rww = (e: EngineSummary): WorkloadResult | undefined => get(e, 'readwhilewriting');
  if (res.workloads.includes('readwhilewriting')) {
    rows.push(
      ['readwhilewriting: get p50 / p99 / p99.9', ...cell((e) => {
        const l = rww(e)?.latency;
        return l === undefined ? '—' : `${fmtUs(l.p50)} / ${fmtUs(l.p99)} / ${fmtUs(l.p999)}`;
      })],
      ['readwhilewriting: writes/s alongside', ...cell((e) => fmtOps(rww(e)?.extra?.writesPerSec))],
      ['readwhilewriting: event-loop delay p99', ...cell((e) => {
        const d = rww(e)?.extra?.loopDelayP99Ms;
        return d === undefined ? '—' : `${d.toFixed(1)} ms`;
      })],
    );
  }
  for (const w of res.workloads.filter((x) => x.startsWith('txn-'))) {
    rows.push([`${w}: conflicts retried per committed txn`, ...cell((e) => {
      const x = get(e, w)?.extra?.retriesPerTxn;
      return x === undefined ? '—' : x.toFixed(3);
    })]);
  }
  const big = res.workloads.filter((w) => w.startsWith('fillbig'));
  for (const w of big) rows.push([`${w} MB/s`, ...cell((e) => (get(e, w) === undefined ? '—' : get(e, w)!.mbPerSec.toFixed(0)))]);
  // Rows of workloads that were not run say nothing: leave them out.
  return table(head, rows.filter((r) => r.slice(1).some((c) => c !== '—' && c !== '— / — / —')));
}

function apiTable(res: BenchResults): string {
  const code = (s: string | undefined): string => (s === undefined ? 'n/a' : `\`${s}\``);
  const txn = res.workloads.some((w) => w.startsWith('txn-'));
  const compact = res.workloads.includes(FLATTEN);
  return table(
    ['engine', 'package', 'point read (readrandom)', 'scan', 'batch', ...(txn ? ['transaction (txn-*)'] : []), ...(compact ? ['full compaction'] : [])],
    res.engines.map((e) => [
      SHORT[e.id],
      e.label,
      code(e.apis.get),
      code(e.apis.scan),
      code(e.apis.batch),
      ...(txn ? [code(e.apis.txn)] : []),
      ...(compact ? [code(e.apis.compact)] : []),
    ]),
    ['---', '---', '---', '---', '---', ...(txn ? ['---'] : []), ...(compact ? ['---'] : [])],
  );
}

export function machineLine(res: BenchResults): string {
  const m = res.meta.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}${m.fs === undefined ? '' : `, ${m.fs}`}; Node ${res.meta.node}; sett ${res.meta.sett.version} (${res.meta.sett.commit})`;
}

/** The fill workload of a --scale run: `fillrandom-batch` or (`--fill single`) `fillrandom-single`. */
export function scaleFillOf(res: BenchResults): string {
  return res.workloads.some((w) => w.startsWith('fillrandom-single@')) ? 'fillrandom-single' : 'fillrandom-batch';
}

function scaleTable(res: BenchResults): string {
  const fillName = scaleFillOf(res);
  const checkpoints = [...new Set(res.workloads.map((w) => w.split('@')[1]!))];
  const engines = res.engines;
  const head = [
    'keys',
    ...engines.flatMap((e) => [`${SHORT[e.id]} fill ops/s`, `${SHORT[e.id]} readrandom ops/s`, `${SHORT[e.id]} RSS`, `${SHORT[e.id]} disk (space amp.)`, `${SHORT[e.id]} write amp.`]),
  ];
  const rows = checkpoints.map((c) => [
    c,
    ...engines.flatMap((e) => {
      const f = get(e, `${fillName}@${c}`);
      const r = get(e, `readrandom@${c}`);
      return [fmtOps(f?.opsPerSec), fmtOps(r?.opsPerSec), fmtBytes(r?.extra?.rssNow), `${fmtBytes(f?.diskBytes)} (${fmtX(f?.spaceAmp)})`, fmtX(f?.ioWriteAmp)];
    }),
  ]);
  const lines = [
    table(head, rows),
    '',
    `Fill ops/s: the random fill (${fillName === 'fillrandom-single' ? 'one awaited put at a time' : 'batches of 1,000 puts'}) from the previous checkpoint to this one. RSS: after the reads at the checkpoint. ` +
      'Write amp.: bytes the process passed to write(2) (all threads) ÷ user bytes, cumulative.',
  ];
  const sett = engines.find((e) => e.id === 'sett');
  if (sett !== undefined) {
    const parts = checkpoints.map((c) => {
      const x = get(sett, `${fillName}@${c}`)?.extra;
      return x === undefined ? `${c}: ?` : `${c}: ${x.tables} tables (${x.l0Tables} in L0), ${Math.round((x.stallMs ?? 0) / 1000)} s stalled in ${x.stalls} write stalls`;
    });
    lines.push('', `sett, cumulative: ${parts.join('; ')}.`);
  }
  return lines.join('\n');
}

/** The whole Markdown report of one bench invocation. */
export function markdownReport(res: BenchResults): string {
  const m = res.meta;
  const out: string[] = [];
  out.push(`# sett benchmark — ${m.mode}, ${m.keys.toLocaleString('en-US')} keys`);
  out.push('');
  out.push(`${machineLine(res)}. Command: \`${m.command}\`; ${m.date}; took ${Math.round(m.seconds)} s.`);
  out.push(`Keys 16 bytes, values 100 bytes (half compressible) unless the workload says otherwise. Median of ${m.runs} run(s), each engine in its own process on a fresh directory; memtable / write buffer ${fmtBytes(m.memtableBytes)}, cache ${fmtBytes(m.cacheBytes)}. Load average at start: ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(', ')}.`);
  for (const e of res.engines) if (e.failures.length > 0) out.push(`\n**${e.label}: ${e.failures.length} run(s) failed:** ${e.failures.join('; ')}`);
  out.push('');
  if (m.mode === 'scale') {
    out.push(scaleTable(res));
    return out.join('\n') + '\n';
  }
  const section = (title: string, body: string): void => {
    out.push(`## ${title}`, '', body, '');
  };
  section('Throughput (operations per second; sett ÷ peer above 1 means sett is faster)', throughputTable(res));
  section('Latency', latencyTable(res));
  section('Memory, disk, amplification', resourceTable(res));
  if (res.workloads.includes(FLATTEN)) section(`Space amplification (${FLATTEN}; sett ÷ peer below 1 means sett uses less)`, spaceTable(res));
  section('What was measured', apiTable(res));
  out.push(res.workloads.map((w) => `- \`${w}\`: ${WHAT[w] ?? ''}`).join('\n'));
  return out.join('\n') + '\n';
}
