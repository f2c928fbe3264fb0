/**
 * A hand-rolled grouped bar chart (engines × workloads) as standalone SVG. Throughput differs by
 * orders of magnitude between workloads, so each group is scaled to its fastest engine (100%)
 * and every bar is labelled with its absolute ops/s.
 */
import type { EngineId } from './engines/types.js';
import { fmtOps, scaleFillOf, SHORT } from './report.js';
import type { BenchResults } from './lib/summary.js';

export const COLORS: Record<EngineId, string> = {
  sett: '#d9480f',
  leveldb: '#1971c2',
  lmdb: '#2f9e44',
  sqlite: '#7048e8',
  memory: '#868e96',
};

export interface Series {
  name: string;
  color: string;
  values: (number | undefined)[];
}

export interface ChartSpec {
  title: string;
  subtitle: string;
  groups: string[];
  series: Series[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function barChart(spec: ChartSpec): string {
  const bar = 14;
  const gap = 2;
  const groupGap = 18;
  const left = 56;
  const top = 112;
  const plotH = 260;
  const bottom = 110;
  const nS = spec.series.length;
  const groupW = nS * (bar + gap) - gap;
  const width = Math.max(640, left + spec.groups.length * (groupW + groupGap) + 20);
  const height = top + plotH + bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${esc(spec.title)}</text>`);
  out.push(`<text x="${left}" y="42" font-size="11" fill="#555">${esc(spec.subtitle)}</text>`);
  // Legend.
  let lx = left;
  for (const s of spec.series) {
    out.push(`<rect x="${lx}" y="52" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 14}" y="61" font-size="11">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 6.5;
  }
  // Axis and grid.
  for (let p = 0; p <= 100; p += 25) {
    const y = top + plotH - (p / 100) * plotH;
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="${p === 0 ? '#333' : '#e5e5e5'}"/>`);
    out.push(`<text x="${left - 6}" y="${y + 4}" font-size="10" text-anchor="end" fill="#555">${p}%</text>`);
  }
  out.push(`<text transform="translate(14 ${top + plotH / 2}) rotate(-90)" font-size="10" text-anchor="middle" fill="#555">of the fastest engine</text>`);
  spec.groups.forEach((g, gi) => {
    const x0 = left + 10 + gi * (groupW + groupGap);
    const vals = spec.series.map((s) => s.values[gi]);
    const max = Math.max(0, ...vals.filter((v): v is number => v !== undefined));
    spec.series.forEach((s, si) => {
      const v = s.values[gi];
      const x = x0 + si * (bar + gap);
      if (v === undefined || max === 0) {
        out.push(`<text x="${x + bar / 2}" y="${top + plotH - 4}" font-size="9" text-anchor="middle" fill="#aaa">–</text>`);
        return;
      }
      const h = Math.max(1, (v / max) * plotH);
      const y = top + plotH - h;
      out.push(`<rect x="${x}" y="${y.toFixed(1)}" width="${bar}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${s.name} ${g}: ${fmtOps(v)} ops/s`)}</title></rect>`);
      const ty = y - 3;
      out.push(`<text transform="translate(${x + bar / 2 + 3} ${ty.toFixed(1)}) rotate(-90)" font-size="9" fill="#333">${esc(fmtOps(v))}</text>`);
    });
    const cx = x0 + groupW / 2;
    out.push(`<text transform="translate(${cx} ${top + plotH + 12}) rotate(35)" font-size="11" text-anchor="start">${esc(g)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The chart of one bench invocation. */
export function resultsChart(res: BenchResults): string {
  const m = res.meta;
  const series = res.engines.map((e) => ({
    name: SHORT[e.id],
    color: COLORS[e.id],
    values: res.workloads.map((w) => e.workloads[w]?.opsPerSec),
  }));
  return barChart({
    title: `sett vs peers — ${m.mode}, ${m.keys.toLocaleString('en-US')} keys (ops/s, median of ${m.runs})`,
    subtitle: `${m.machine.cpu}, ${m.machine.cores} cores; Node ${m.node}; ${m.date.slice(0, 10)}; bars scaled per workload to the fastest engine`,
    groups: res.workloads,
    series,
  });
}

/** --scale: fill and read throughput at each checkpoint, per engine. */
export function scaleChart(res: BenchResults): string {
  const m = res.meta;
  const checkpoints = [...new Set(res.workloads.map((w) => w.split('@')[1]!))];
  const fillName = scaleFillOf(res);
  const groups = checkpoints.flatMap((c) => [`${fillName}@${c}`, `readrandom@${c}`]);
  return barChart({
    title: `sett vs LevelDB as data grows — up to ${m.keys.toLocaleString('en-US')} keys (ops/s)`,
    subtitle: `${m.machine.cpu}, ${m.machine.cores} cores; Node ${m.node}; ${m.date.slice(0, 10)}; bars scaled per group to the fastest engine`,
    groups,
    series: res.engines.map((e) => ({ name: SHORT[e.id], color: COLORS[e.id], values: groups.map((g) => e.workloads[g]?.opsPerSec) })),
  });
}
