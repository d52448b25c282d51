// The report of `make bench`, as pure functions of what the benches wrote: every figure beside
// the baseline measured in the same run and their ratio, the plots' data (as ratios too), and the
// markdown. generate.ts reads the files, draws the plots and writes bench/REPORT.md.
import type { BenchFigures, Figure } from './figures';

/** What bench/report/run-all.sh recorded about one bench target. */
export interface BenchStatus {
  readonly bench: string;
  readonly target: string;
  readonly exit: number;
  readonly seconds: number;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** A row of bench/out/solver/results.json (bench/solver/bench.ts). */
export interface SolverRow {
  readonly problem: string;
  readonly n: number;
  readonly solver: string;
  readonly seconds: number | null;
  readonly iterations: number | string;
  readonly residual: number | null;
  readonly note: string;
  /** A warm re-solve's row: the cold solve's median in the same runs, its baseline. */
  readonly cold?: number | null;
  /** A warm re-solve's CPU time and its cold solve's (medians): preemption on a shared machine inflates wall time only. */
  readonly cpu?: number | null;
  readonly coldCpu?: number | null;
}

export interface BenchInput {
  readonly name: string;
  readonly target: string;
  readonly status?: BenchStatus;
  readonly figures?: BenchFigures;
  /** How this bench's run differed from its default (bench/out/<name>/note.md), e.g. a reduced size. */
  readonly note?: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
  readonly node: string;
  readonly kafka: string;
  readonly os: string;
}

export interface Plot {
  readonly file: string;
  /** The bench whose section shows it (bench/out/<bench>). */
  readonly bench: string;
  readonly title: string;
  readonly caption: string;
  /** hbars: one horizontal bar per label, its ratio written beside it. */
  readonly kind: 'lines' | 'cdf' | 'bars' | 'hbars';
  readonly xlabel: string;
  readonly ylabel: string;
  readonly logx?: boolean;
  readonly logy?: boolean;
  /** One line (or bar group) per series: points [x, y], or for bars [label, y]. */
  readonly panels: ReadonlyArray<{ readonly title: string; readonly series: ReadonlyArray<{ readonly label: string; readonly points: ReadonlyArray<readonly [number | string, number]> }> }>;
  /** Draw y = 1 (the baseline). */
  readonly baselineLine?: boolean;
  /** A target's ratio, drawn as a second line (e.g. 0.35: warm re-solve at most 35% of cold). */
  readonly targetLine?: number;
}

/** value / baseline, or null when either is missing or the baseline is 0. */
export function ratioOf(f: Figure): number | null {
  const b = f.baseline?.value;
  if (f.value === null || b === null || b === undefined || b === 0) return null;
  return f.value / b;
}

const isScipy = (solver: string) => solver.startsWith('scipy');
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** The best (fastest) SciPy time per problem and n: the baseline of every solver row there. */
export function scipyBest(rows: readonly SolverRow[]): Map<string, number> {
  const best = new Map<string, number>();
  for (const r of rows) {
    if (!isScipy(r.solver) || !finite(r.seconds)) continue;
    const k = `${r.problem}\u0000${r.n}`;
    if (!best.has(k) || best.get(k)! > r.seconds) best.set(k, r.seconds);
  }
  return best;
}

/** SpMV over the streaming-read floor of the same run, from the row's note ("... ratio 1.67"). */
export function spmvRatio(r: SolverRow): number | null {
  const m = /ratio (\d+(?:\.\d+)?)/.exec(r.note);
  return m ? Number(m[1]) : null;
}

export const WARM_SECTION = 'warm re-solve after a 0.1% update of b';

/** bench-solver's rows as figures: each WASM solver beside the best SciPy of its problem and size. */
export function solverFigures(rows: readonly SolverRow[]): Figure[] {
  const best = scipyBest(rows);
  const out: Figure[] = [];
  for (const r of rows) {
    if (r.problem === 'spmv') {
      const ratio = spmvRatio(r);
      if (finite(r.seconds) && ratio !== null) out.push({ section: 'SpMV vs streaming-read floor', name: `spmv n=${r.n}`, value: r.seconds * 1000, unit: 'ms', better: 'lower', baseline: { name: 'streaming read of the same bytes', value: (r.seconds / ratio) * 1000 } });
      continue;
    }
    if (r.problem.startsWith('warm restart') && finite(r.cold)) {
      const ratio = finite(r.seconds) ? r.seconds / r.cold : null;
      out.push({
        section: WARM_SECTION, name: `${r.solver}, ${r.problem.replace(/^warm restart:?\s*/, '')}, n=${r.n}: warm re-solve (${r.iterations} it)`, value: finite(r.seconds) ? r.seconds * 1000 : null, unit: 'ms', better: 'lower',
        baseline: { name: 'cold solve, setup included (same runs)', value: r.cold * 1000 }, target: '<= 35% of cold', ...(ratio === null ? {} : { met: ratio <= 0.35 }),
      });
      if (finite(r.cpu) && finite(r.coldCpu)) {
        out.push({
          section: WARM_SECTION, name: `${r.solver}, ${r.problem.replace(/^warm restart:?\s*/, '')}, n=${r.n}: warm re-solve, CPU time`, value: r.cpu * 1000, unit: 'ms', better: 'lower',
          baseline: { name: 'cold solve, CPU time (same runs)', value: r.coldCpu * 1000 },
        });
      }
      continue;
    }
    const b = best.get(`${r.problem}\u0000${r.n}`);
    if (b === undefined || isScipy(r.solver)) continue;
    out.push({ section: `${r.problem}, n=${r.n}`, name: `${r.solver} time to tolerance`, value: finite(r.seconds) ? r.seconds * 1000 : null, unit: 'ms', better: 'lower', baseline: { name: 'fastest SciPy', value: b * 1000 } });
  }
  return out;
}

/** Time to tolerance over the fastest SciPy of the same run, vs n, one panel per problem. */
export function timeToTolerancePlot(rows: readonly SolverRow[]): Plot | undefined {
  const best = scipyBest(rows);
  const problems = [...new Set(rows.filter((r) => best.has(`${r.problem}\u0000${r.n}`)).map((r) => r.problem))];
  if (problems.length === 0) return undefined;
  const panels = problems.map((problem) => {
    const bySolver = new Map<string, Array<readonly [number, number]>>();
    for (const r of rows) {
      const b = best.get(`${r.problem}\u0000${r.n}`);
      if (r.problem !== problem || b === undefined || !finite(r.seconds)) continue;
      const pts = bySolver.get(r.solver) ?? [];
      pts.push([r.n, r.seconds / b]);
      bySolver.set(r.solver, pts);
    }
    return { title: problem, series: [...bySolver].map(([label, points]) => ({ label, points: points.sort((a, b) => a[0] - b[0]) })) };
  });
  return {
    file: 'solver-time-to-tolerance.svg', bench: 'solver', title: 'Time to tolerance (1e-8) vs n, over the fastest SciPy solver of the same run', kind: 'lines',
    xlabel: 'unknowns n', ylabel: 'time / fastest SciPy (same run)', logx: true, logy: true, baselineLine: true, panels,
    caption: 'Each method\'s median time to a true relative residual of 1e-8 (setup included) divided by the fastest of SciPy\'s CG/BiCGSTAB on the same system in the same run; below 1 is faster than SciPy.',
  };
}

export function spmvPlot(rows: readonly SolverRow[]): Plot | undefined {
  const points = rows.filter((r) => r.problem === 'spmv').map((r) => [r.n, spmvRatio(r)] as const).filter((p): p is readonly [number, number] => p[1] !== null).sort((a, b) => a[0] - b[0]);
  if (points.length === 0) return undefined;
  return {
    file: 'spmv-vs-bandwidth-floor.svg', bench: 'solver', title: 'SpMV over the memory-bandwidth floor of the same run', kind: 'lines',
    xlabel: 'unknowns n (2D Poisson)', ylabel: 'SpMV time / streaming read of its bytes', logx: true, baselineLine: true,
    panels: [{ title: 'WASM SpMV', series: [{ label: 'wasm spmv / floor', points }] }],
    caption: 'The floor is the fastest of 1-32 streams reading the same bytes side by side in the same WASM run; 1 would be SpMV at memory bandwidth.',
  };
}

interface LatencySeries { readonly label: string; readonly raw: number[]; readonly relay: number[]; readonly service: number[] }

/** CDFs of the service, the relay and the raw broker, x as a multiple of the relay's median. */
export function latencyPlot(f: BenchFigures | undefined): Plot | undefined {
  const q = (f?.series?.latencyQuantiles ?? {}) as Record<string, LatencySeries>;
  const groups = Object.entries(q);
  if (groups.length === 0) return undefined;
  const panels = groups.map(([, s]) => {
    const relay50 = s.relay[50]!;
    const cdf = (xs: number[]) => xs.map((ms, k) => [ms / relay50, k / 100] as const);
    return {
      title: `${s.label} (relay p50 ${relay50.toFixed(1)} ms)`,
      series: [
        { label: `service (p50 ${s.service[50]!.toFixed(1)} ms)`, points: cdf(s.service) },
        { label: `transactional relay (p50 ${relay50.toFixed(1)} ms)`, points: cdf(s.relay) },
        { label: `raw broker (p50 ${s.raw[50]!.toFixed(1)} ms)`, points: cdf(s.raw) },
      ],
    };
  });
  return {
    file: 'latency-cdf.svg', bench: 'solver-service', title: 'Update -> IterationCompleted latency CDF: service vs transactional relay vs raw broker', kind: 'cdf',
    xlabel: 'latency / relay median (same run)', ylabel: 'fraction of updates', logx: true, panels,
    caption: 'One run of bench-solver-service (the run with the median service p50), each path fed the same updates at the same rate.',
  };
}

export function heartbeatsPlot(f: BenchFigures | undefined): Plot | undefined {
  const engines = (f?.series?.engines ?? {}) as Record<string, { raw: number; impedance: number }>;
  const points = Object.entries(engines).filter(([, e]) => e.raw > 0).map(([engine, e]) => [engine, e.impedance / e.raw] as const);
  if (points.length === 0) return undefined;
  return {
    file: 'heartbeats-vs-raw.svg', bench: 'impedance', title: 'Impedance heartbeats/s over raw consume of the same records, per engine', kind: 'bars',
    xlabel: 'Kafka client engine', ylabel: 'heartbeats/s / raw consume/s', baselineLine: true,
    panels: [{ title: 'impedance service', series: [{ label: 'impedance / raw', points }] }],
    caption: 'Medians of the runs of bench-impedance: the service (decode, fold, Redis registry, transactions) against a plain consumer reading the same topic with the same engine.',
  };
}

/**
 * Any bench's figures that have a same-run baseline, as one bar each (value / baseline): the plot
 * of a bench without one of its own. `only` picks some of its figures (e.g. one section).
 */
export function ratiosPlot(f: BenchFigures | undefined, only: (x: Figure) => boolean = () => true, file = `${f?.bench}-ratios.svg`, title = `${f?.bench}: each figure over its baseline of the same run`, targetLine?: number): Plot | undefined {
  if (!f) return undefined;
  const figs = f.figures.filter(only).map((x) => [x, ratioOf(x)] as const).filter((p): p is readonly [Figure, number] => p[1] !== null && Number.isFinite(p[1]));
  if (figs.length === 0) return undefined;
  const oneSection = new Set(figs.map(([x]) => x.section)).size === 1;
  const label = (x: Figure) => `${oneSection ? '' : `${x.section}: `}${x.name} (${x.better} is better) / ${x.baseline!.name}`;
  return {
    file, bench: f.bench, title, kind: 'hbars',
    xlabel: 'median / baseline median (same run)', ylabel: '', baselineLine: true, ...(targetLine === undefined ? {} : { targetLine }),
    panels: [{ title: `${f.bench}, ${f.runs} run(s)`, series: [{ label: 'value / baseline', points: figs.map(([x, r]) => [label(x), r] as const) }] }],
    caption: 'One bar per figure of the table above that has a baseline: its median over the baseline\'s median in the same run (the line is 1, the baseline; whether above 1 is better says the figure\'s "higher"/"lower").',
  };
}

const fmtNum = (x: number | null | undefined): string => {
  if (!finite(x)) return '–';
  const a = Math.abs(x);
  const d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 4;
  return x.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: d });
};
const loadText = (l: readonly number[] | undefined) => (l && l.length ? l.map((x) => x.toFixed(2)).join(' ') : '?');
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function statusOf(b: BenchInput): string {
  if (b.status && b.status.exit !== 0) return `failed (exit ${b.status.exit})`;
  if (!b.figures) return b.status ? 'ran, wrote no figures.json' : 'not run';
  return 'ran';
}

export interface ReportInput {
  readonly generatedAt: string;
  readonly machine: Machine;
  readonly benches: readonly BenchInput[];
  readonly plots: readonly Plot[];
  /** Why plots are missing, when they are. */
  readonly plotNote?: string;
  /** How this run differed from a plain `make bench` (bench/out/notes.md), verbatim. */
  readonly notes?: string;
}

export function renderReport(r: ReportInput): string {
  const m = r.machine;
  const L: string[] = [];
  L.push('# Benchmark report', '');
  L.push(`Generated by bench/report/generate.ts (the last step of \`make bench\`, or \`make bench-report\` alone) at ${r.generatedAt}. Every figure is a median over the bench's runs beside a baseline measured in the same run, with their ratio (value / baseline); the plots show ratios too. Absolute numbers depend on the machine and its load at the time:`, '');
  L.push(`- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB.toFixed(1)} GiB memory, ${m.os}`);
  L.push(`- load average when the report was generated: ${loadText(m.loadAverage)} (1/5/15 min); each bench's own, before and after, is in the table below`);
  L.push(`- Node.js ${m.node}, Kafka ${m.kafka}`, '');
  if (r.notes?.trim()) L.push('**Notes on this run** (bench/out/notes.md):', '', r.notes.trim(), '');
  L.push('| bench | status | runs | load before | load after | time |', '|---|---|---|---|---|---|');
  for (const b of r.benches) {
    const f = b.figures;
    const time = b.status ? `${Math.round(b.status.seconds)} s` : '–';
    L.push(`| \`${b.target}\` | ${statusOf(b)} | ${f?.runs ?? '–'} | ${loadText(f?.load.before ?? b.status?.loadBefore)} | ${loadText(f?.load.after ?? b.status?.loadAfter)} | ${time} |`);
  }
  if (r.plotNote) L.push('', `_${r.plotNote}_`);
  L.push('');
  const placed = new Set(r.benches.map((b) => b.name));
  const loose = r.plots.filter((p) => !placed.has(p.bench));
  const plot = (p: Plot) => L.push(`### ${p.title}`, '', `![${p.title}](plots/${p.file})`, '', p.caption, '');
  if (loose.length > 0) { L.push('## Plots', ''); loose.forEach(plot); }
  for (const b of r.benches) {
    L.push(`## \`${b.target}\``, '');
    if (b.note?.trim()) L.push(`**This run:** ${b.note.trim()}`, '');
    if (!b.figures) { L.push(`Not in this report: ${statusOf(b)}.`, ''); continue; }
    const f = b.figures;
    L.push(`Command: \`${f.command ?? b.target}\`; ${f.runs} run(s), medians; load average at start ${loadText(f.load.before)} (1/5/15 min)${f.startedAt ? `, started ${f.startedAt}` : ''}.`, '');
    L.push('| part | figure | median | baseline (same run) | baseline median | ratio | target |', '|---|---|---|---|---|---|---|');
    for (const x of f.figures) {
      const ratio = ratioOf(x);
      const target = x.target ? `${x.target}: ${x.met === undefined ? '?' : x.met ? 'met' : 'MISSED'}` : '';
      const unit = x.unit === '/s' ? '/s' : ` ${x.unit}`;
      L.push(`| ${cell(x.section)} | ${cell(x.name)} (${x.better} is better) | ${fmtNum(x.value)}${unit} | ${cell(x.baseline?.name ?? '–')} | ${x.baseline ? `${fmtNum(x.baseline.value)}${unit}` : '–'} | ${ratio === null ? '–' : `${ratio !== 0 && Math.abs(ratio) < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}x`} | ${cell(target)} |`);
    }
    L.push('');
    r.plots.filter((p) => p.bench === b.name).forEach(plot);
  }
  return `${L.join('\n')}\n`;
}
